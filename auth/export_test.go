package auth

import "context"

// BrowserSession lets this package's tests start a cookie session without
// a sign-in, to test what follows one (the principal, the cache, a
// disabled account). Outside tests only Finish starts one.
func (s *Service) BrowserSession(ctx context.Context, u *User, c Client, amr []string) (cookie string, sess *Session, err error) {
	return s.browserSession(ctx, u, c, amr)
}
