package auth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// MethodLink is the AMR value of a magic-link sign-in.
const MethodLink = "link"

var (
	errInvalidLink = &Error{Kind: KindInvalidCode, Message: "The link is not valid or was used already."}
	errLinkExpired = &Error{Kind: KindCodeExpired, Message: "The link has expired; ask for a new one."}
)

// SignInLink proves the mailbox a sign-in link (RequestCode with Link) went
// to and uses the link up; Finish then ends the sign-in, in a browser
// (where the link was opened) or for an API or mobile client. An unknown
// address gets an account when passwordless sign-up is on. The browser
// then goes where the request asked, when that is allowed.
func (s *Service) SignInLink(ctx context.Context, token string) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignInLink")
	defer func() { end(err) }()
	const flow = "magic_link"
	if token == "" {
		return nil, fieldError("token", "is required")
	}
	p, err := func() (*Proof, error) {
		ch, err := s.checkLink(ctx, PurposeSignIn, token)
		if err != nil {
			return nil, err
		}
		u, err := s.challengeUser(ctx, ch)
		if err != nil {
			return nil, err
		}
		return &Proof{user: u, methods: []string{MethodLink}, flow: flow, redirectTo: ch.RedirectTo}, nil
	}()
	if err != nil {
		s.observe(flow, err)
	}
	return p, err
}

// checkLink finds the live challenge of a link token and consumes it.
func (s *Service) checkLink(ctx context.Context, purpose, token string) (_ *Challenge, err error) {
	defer func() { s.obs.CodeVerified("link", resultOf(err)) }()
	// Without email no link was ever sent, so none can be valid; and a
	// token no link can have is refused before anything is counted.
	if s.challenges == nil || token == "" || len(token) > 128 {
		return nil, errInvalidLink
	}
	// A link carries 256 random bits, so guessing one is hopeless; a
	// client that keeps trying unknown links counts against the same
	// per-client limit as wrong codes all the same, so a flood of them is
	// cut short. A right link is not counted.
	g := guard{client: ClientFrom(ctx)}
	giveBack, err := s.take(ctx, g)
	if err != nil {
		return nil, err
	}
	ch, err := s.linkByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if ch == nil || ch.Purpose != purpose || ch.ConsumedAt != nil {
		return nil, errInvalidLink
	}
	if !s.now().Before(ch.LinkExpiresAt) {
		return nil, errLinkExpired
	}
	if err := s.consume(ctx, ch, errInvalidLink); err != nil {
		return nil, err
	}
	giveBack(ctx)
	return ch, nil
}

// linkByToken returns the challenge whose link is token, used or expired
// ones included, or nil (and no error) when no link has that token.
func (s *Service) linkByToken(ctx context.Context, token string) (*Challenge, error) {
	if s.challenges == nil || token == "" || len(token) > 128 {
		return nil, nil
	}
	ch, err := s.challenges.ChallengeByLinkHash(ctx, opaque.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, storeErr("find challenge", err)
	}
	return ch, nil
}
