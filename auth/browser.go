package auth

import (
	"context"
	"strings"
)

// BrowserSignIn is a first factor typed into the sign-in page: an account
// named by email or phone, and its password or a code sent to it.
type BrowserSignIn struct {
	Email, Phone   string
	Password, Code string
	// RedirectTo is where the browser goes afterwards; kept only when its
	// origin is allowed, else "/".
	RedirectTo string
}

// identity answers the normalised address of in, its field error, and
// whether it is a phone. A phone counts only when no email is given.
func (s *Service) identity(in BrowserSignIn) (addr string, ferr *Error, byPhone bool) {
	if in.Phone != "" && in.Email == "" {
		n, ferr := s.phoneField("phone", in.Phone, false)
		return n.E164, ferr, true
	}
	addr, ferr = emailField("email", in.Email)
	return addr, ferr, false
}

// target answers where a browser goes after signing in.
func (s *Service) target(redirectTo string) string {
	if t := s.allowedRedirect(redirectTo); t != "" {
		return t
	}
	return "/"
}

// PasswordBrowser is PasswordGrant for the sign-in page: a cookie session,
// or the second-factor step, instead of tokens. The same throttling and
// the same answers for unknown accounts and wrong passwords apply.
func (s *Service) PasswordBrowser(ctx context.Context, in BrowserSignIn, c Client) (*LinkResult, error) {
	addr, ferr, byPhone := s.identity(in)
	find := s.store.UserByEmail
	if byPhone {
		find = s.store.UserByPhone
	}
	u, err := s.passwordUser(ctx, addr, ferr, in.Password, c, find)
	if err != nil {
		return nil, err
	}
	r, err := s.browserSignIn(ctx, u, c, []string{MethodPassword}, s.target(in.RedirectTo))
	s.observe("password", err)
	return r, err
}

// CodeBrowser signs a browser in with a code sent by email or SMS
// (RequestCode): a cookie session, or the second-factor step.
func (s *Service) CodeBrowser(ctx context.Context, in BrowserSignIn, c Client) (*LinkResult, error) {
	addr, ferr, byPhone := s.identity(in)
	code := strings.TrimSpace(in.Code)
	if ferr == nil {
		ferr = codeField(code, s.cfg.OTPLength)
	}
	if ferr != nil {
		return nil, ferr
	}
	method, amr := "otp", MethodOTP
	if byPhone {
		method, amr = "sms", MethodSMS
	}
	r, err := func() (*LinkResult, error) {
		ch, err := s.checkCode(ctx, PurposeSignIn, addr, code)
		if err != nil {
			return nil, err
		}
		u, err := s.challengeUser(ctx, ch)
		if err != nil {
			return nil, err
		}
		return s.browserSignIn(ctx, u, c, []string{amr}, s.target(in.RedirectTo))
	}()
	s.observe(method, err)
	return r, err
}

// RecoverBrowser is RecoverVerify for the recovery page: a new password
// set with the emailed code (or the link's token), every other session
// ended, and a cookie session (or the second-factor step) instead of
// tokens.
func (s *Service) RecoverBrowser(ctx context.Context, in RecoverInput, c Client) (*LinkResult, error) {
	const method = "recovery"
	ch, err := s.recoveryChallenge(ctx, in)
	if err != nil {
		return nil, err
	}
	r, err := func() (*LinkResult, error) {
		u, err := s.setRecoveredPassword(ctx, ch, in.NewPassword)
		if err != nil {
			return nil, err
		}
		amr := MethodOTP
		if in.Token != "" {
			amr = MethodLink
		}
		return s.browserSignIn(ctx, u, c, []string{amr}, "/")
	}()
	s.observe(method, err)
	return r, err
}
