package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// A step-up raises a live session to aal2 after a second factor, for an
// app behind the proxy whose access rule asks aal2 of a session signed in
// with one factor: the user proves the second factor and goes on with the
// same session, instead of signing out and in again. It reuses the second
// step of a sign-in (an MFA token, SecondFactor, Finish) with one
// difference: the token names the session, and Finish raises it rather
// than starting a new one.

var (
	errNoSecondFactor = &Error{
		Kind:    KindForbidden,
		Message: "This needs a second factor, and the account has none it could use here. Set one up (an authenticator app or a passkey) on the account page, then try again.",
		Cause:   ErrNoSecondFactor,
	}
	errStepUpChannel = &Error{Kind: KindInvalidRequest, Message: "A browser session steps up on the step-up page (/step-up); an API client with its access token (POST /v1/mfa/step-up)."}
	errStepUpEnded   = &Error{Kind: KindTokenRevoked, Message: "The session has ended; sign in again."}
)

// StepUp starts raising the session p is signed in with to aal2. It returns
// an MFA token and the factors that can finish it, as Finish does after a
// first factor; SecondFactor and Finish with it then raise that same
// session (its ID stays) and hand out its credentials anew: a new cookie
// on the Cookie channel, new access and refresh tokens on Tokens. The
// token is bound to ch, which must be the session's own kind (a cookie
// session steps up in the browser, a token session through the API), and
// to ch's redirect target. A session at aal2 may step up again (a fresh
// proof of the second factor).
//
// An account with no second factor usable after the session's first
// factor gets an error matching ErrNoSecondFactor: it sets one up first.
func (s *Service) StepUp(ctx context.Context, p *Principal, c Client, ch Channel) (_ *MFARequired, err error) {
	ctx, end := tracing.Start(ctx, "auth.StepUp")
	defer func() { end(err) }()
	if p == nil {
		return nil, errUnauthorized
	}
	if s.factors == nil {
		return nil, errFactorsOff
	}
	if (p.Session.CookieHash != nil) != ch.cookie {
		return nil, errStepUpChannel
	}
	// The factors that may follow the session's first factor: after an
	// emailed code or link, another email code proves nothing more.
	kinds, err := s.factorsFor(ctx, p.User.ID, firstFactors(p.Session.AMR))
	if err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		return nil, errNoSecondFactor
	}
	var target string
	if ch.cookie {
		target = s.target(ch.redirectTo)
	}
	return s.newMFAToken(ctx, &p.User, firstFactors(p.Session.AMR), ch.cookie, target, p.Session.ID, kinds)
}

// firstFactors returns amr without the second factors a session at aal2
// already proved: a fresh step-up proves one again, and the session's
// methods must not then list two second factors. A passkey is a second
// factor only after another method; first, it is the sign-in itself, and
// stays (without it a passkey session stepped up again would drop to one
// factor).
func firstFactors(amr []string) []string {
	var first []string
	for i, m := range amr {
		switch {
		case m == MethodTOTP || m == MethodEmailCode || m == MethodBackupCode:
		case m == MethodWebAuthn && i > 0:
		default:
			first = append(first, m)
		}
	}
	return first
}

// raise ends a step-up that p proved: the session p's MFA token named
// goes to aal2 with p's methods, and its credentials are handed out anew on
// ch. The session must still be live and the user's; a session that ended
// meanwhile stays ended.
func (s *Service) raise(ctx context.Context, p *Proof, c Client, ch Channel, target string) (*Grant, error) {
	u := p.user
	if u.Disabled() {
		return nil, errDisabled
	}
	sess, err := s.store.SessionByID(ctx, p.session)
	if errors.Is(err, ErrNotFound) {
		return nil, errStepUpEnded
	} else if err != nil {
		return nil, storeErr("find session", err)
	}
	now := s.now()
	if sess.UserID != u.ID || !sess.Live(now) {
		return nil, errStepUpEnded
	}
	amr := slices.Compact(slices.Clone(p.methods))
	aal := aalOf(amr)
	// New credentials, so that whatever was handed out at aal1 does not
	// become aal2: a cookie or refresh token taken before the step-up
	// stays at most what it was (the cookie finds nothing, the refresh
	// token is retired), and access tokens keep the aal they were signed
	// with (BearerPrincipal).
	plain, hash, err := opaque.New()
	if err != nil {
		return nil, err
	}
	var cookieHash []byte
	var next *RefreshToken
	if ch.cookie {
		cookieHash = hash
	} else {
		next = &RefreshToken{ID: newID(), SessionID: sess.ID, Hash: hash, CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}
	}
	raised, err := s.store.RaiseSession(ctx, sess.ID, aal, amr, cookieHash, next, now)
	if err != nil {
		return nil, storeErr("raise session", err)
	}
	if !raised {
		return nil, errStepUpEnded
	}
	// Every node's view of the session is stale: its AAL, and on this
	// node the old cookie's entry.
	s.forget(ctx, sess.ID)
	sess.AAL, sess.AMR = aal, amr
	s.audit(ctx, u.ID, "step_up", c, "session raised to "+aal+" with "+strings.Join(amr[len(amr)-1:], ""))
	if ch.cookie {
		sess.CookieHash = cookieHash
		return &Grant{Cookie: plain, Session: sess, User: u, RedirectTo: target}, nil
	}
	return s.grant(ctx, u, sess, plain)
}
