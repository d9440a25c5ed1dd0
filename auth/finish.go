package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// Proof is what a sign-in step proved: which account, by which methods.
// Only the flows make one (SignInPassword, SignInCode, SignInLink,
// ResetPassword, SecondFactor, SignInPasskey, SignInProvider), and Finish turns it into a session, so no
// caller can claim a method nobody checked.
type Proof struct {
	user    *User
	methods []string
	// flow names the step for metrics ("password", "otp", …); Finish
	// counts its outcome there, as the step has counted its failures.
	flow string
	// redirectTo is where a browser goes afterwards, as the sign-in asked
	// at its start (a link's request, an MFA token); checked again when
	// used.
	redirectTo string
	// second is set on a proof that already holds both factors (from
	// SecondFactor), bound to the channel its MFA token was made for.
	second  bool
	channel Channel
	// passkey is the ID of the passkey a passkey sign-in used, which must
	// still be the account's when the session is made (stillHeld).
	passkey []byte
	// identity is the ID of the linked identity a provider sign-in used,
	// which must still be the account's when the session is made.
	identity string
	// session is the session a step-up raises (StepUp), set with second;
	// "" for a sign-in, which starts a new session.
	session string
	// finished is set by the Finish that uses the proof: one proof, one
	// session, as each step's code, link or token is used once.
	finished atomic.Bool
}

// User returns a copy of the account the proof is for: changing it
// changes nothing Finish does.
func (p *Proof) User() *User {
	u := *p.user
	return &u
}

// Methods returns a copy of the authentication methods proven (the
// session's amr).
func (p *Proof) Methods() []string { return slices.Clone(p.methods) }

// Channel says how Finish delivers a sign-in: Tokens for API clients, or
// Cookie for a browser. It is part of an MFA token too, so a second factor
// ends in the channel the first one started, never the other.
type Channel struct {
	cookie     bool
	redirectTo string
}

// Tokens is the channel of API clients: an access and a refresh token. It
// is the zero Channel.
var Tokens = Channel{}

// Cookie returns the channel of a browser: a cookie session, after which
// the browser goes to redirectTo when its origin is allowed, else "/". A
// target the sign-in carried from its start (a magic link's, an MFA
// token's) takes precedence.
func Cookie(redirectTo string) Channel { return Channel{cookie: true, redirectTo: redirectTo} }

// Grant is what Finish and RefreshGrant return: tokens (the Tokens
// channel), a cookie session (Cookie), or the second factor still needed.
type Grant struct {
	// AccessToken, ExpiresIn and RefreshToken are set on the Tokens
	// channel.
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	// Cookie is the cookie's value on the Cookie channel (stored only as a
	// hash), and RedirectTo where the browser goes next.
	Cookie     string
	RedirectTo string
	User       *User
	Session    *Session
	// MFA is set, and nothing else but User (and RedirectTo on the Cookie
	// channel), when the account has a second factor on: the sign-in
	// continues with SecondFactor.
	MFA *MFARequired
}

var (
	errNoProof       = &Error{Kind: KindInvalidRequest, Message: "There is nothing to finish: sign in first."}
	errProofFinished = &Error{Kind: KindInvalidRequest, Message: "This sign-in was finished already; sign in again."}
)

// Finish ends a sign-in that p proved: a session delivered on ch, or,
// when the account has a second factor on and p holds only the first, an
// MFA token to continue with (bound to ch and its redirect target). A
// proof finishes once.
func (s *Service) Finish(ctx context.Context, p *Proof, c Client, ch Channel) (_ *Grant, err error) {
	ctx, end := tracing.Start(ctx, "auth.Finish")
	defer func() { end(err) }()
	if p == nil || p.user == nil || len(p.methods) == 0 {
		return nil, errNoProof
	}
	if !p.finished.CompareAndSwap(false, true) {
		return nil, errProofFinished
	}
	g, err := s.finish(ctx, p, c, ch)
	s.observe(p.flow, err)
	return g, err
}

func (s *Service) finish(ctx context.Context, p *Proof, c Client, ch Channel) (*Grant, error) {
	u := p.user
	var target string
	if ch.cookie {
		target = s.target(p.redirectTo, ch.redirectTo)
	}
	if p.second {
		// SecondFactor checked the channel before it used the token; this
		// is the same rule, for a proof carried across.
		if p.channel.cookie != ch.cookie {
			return nil, errMFAToken
		}
		if p.session != "" {
			return s.raise(ctx, p, c, ch, target)
		}
	} else {
		m, err := s.requireMFA(ctx, u, p.methods, ch.cookie, target)
		if err != nil {
			return nil, err
		}
		if m != nil {
			return &Grant{User: u, MFA: m, RedirectTo: target}, nil
		}
	}
	var g *Grant
	if ch.cookie {
		cookie, sess, err := s.browserSession(ctx, u, c, p.methods)
		if err != nil {
			return nil, err
		}
		g = &Grant{Cookie: cookie, Session: sess, User: u, RedirectTo: target}
	} else {
		var err error
		if g, err = s.startSession(ctx, u, c, p.methods); err != nil {
			return nil, err
		}
	}
	if err := s.stillHeld(ctx, p, g.Session); err != nil {
		return nil, err
	}
	return g, nil
}

// target returns where a browser goes after signing in: the first allowed
// of the given targets, else "/".
func (s *Service) target(targets ...string) string {
	for _, t := range targets {
		if t = s.allowedRedirect(t); t != "" {
			return t
		}
	}
	return "/"
}

// requireMFA returns nil when u has no second factor on, else a fresh MFA
// token bound to u, the first factor and the channel that finishes it.
func (s *Service) requireMFA(ctx context.Context, u *User, amr []string, browser bool, redirectTo string) (*MFARequired, error) {
	if s.factors == nil || u.NoFactors || slices.Contains(amr, MethodWebAuthn) {
		// A passkey that verified its user proved two factors at once and
		// needs no second. Two first factors do not skip the second step
		// (a password and an emailed link are not the authenticator app
		// the user turned on).
		return nil, nil
	}
	kinds, err := s.factorsFor(ctx, u.ID, amr)
	if err != nil || len(kinds) == 0 {
		return nil, err
	}
	return s.newMFAToken(ctx, u, amr, browser, redirectTo, "", kinds)
}

// newMFAToken stores a fresh MFA token for u after the first factor amr,
// finished on the browser's channel or the API's, raising session (a
// step-up's) or starting a new one (""), and returns it with kinds, the
// factors that can finish it.
func (s *Service) newMFAToken(ctx context.Context, u *User, amr []string, browser bool, redirectTo, session string, kinds []string) (*MFARequired, error) {
	plain, hash, err := opaque.New()
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &MFAToken{
		ID: newID(), UserID: u.ID, Hash: hash, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(mfaTokenTTL),
		Browser: browser, RedirectTo: redirectTo, SessionID: session,
	}
	if err := s.mfaTokens.CreateMFAToken(ctx, t); err != nil {
		return nil, storeErr("create mfa token", err)
	}
	return &MFARequired{Token: plain, Factors: kinds}, nil
}

// aalOf returns the assurance level of a sign-in proven by amr: aal2 for
// two methods (a first and a second factor), or for a passkey alone (the
// flows accept only one whose authenticator verified the user: something
// held and a PIN or biometric); aal1 otherwise.
func aalOf(amr []string) string {
	if len(amr) > 1 || slices.Contains(amr, MethodWebAuthn) {
		return AAL2
	}
	return AAL1
}

// newSession returns a session for u that starts now, at aalOf(amr).
func (s *Service) newSession(u *User, c Client, amr []string) *Session {
	now := s.now()
	aal := aalOf(amr)
	sess := &Session{
		ID: newID(), UserID: u.ID, IP: truncate(c.IP, 64), UserAgent: truncate(c.UserAgent, 512),
		AAL: aal, AMR: amr, CreatedAt: now, LastSeenAt: now,
		AbsoluteExpiresAt: now.Add(s.cfg.RefreshTokenTTL),
	}
	sess.ExpiresAt = minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	return sess
}

// browserSession starts a cookie session for u with methods amr, which
// the caller vouches for, and returns the cookie value (stored only as a
// hash). Only Finish uses it, for the Cookie channel: exported, it would
// let any caller start a session that nothing proved.
func (s *Service) browserSession(ctx context.Context, u *User, c Client, amr []string) (cookie string, sess *Session, err error) {
	if u.Disabled() {
		return "", nil, errDisabled
	}
	plain, hash, err := opaque.New()
	if err != nil {
		return "", nil, err
	}
	sess = s.newSession(u, c, amr)
	sess.CookieHash = hash
	if err := s.store.CreateSession(ctx, sess, nil); err != nil {
		return "", nil, storeErr("create session", err)
	}
	return plain, sess, nil
}

// startSession creates a token session (with a refresh token) for u and
// returns its tokens.
func (s *Service) startSession(ctx context.Context, u *User, c Client, amr []string) (*Grant, error) {
	sess := s.newSession(u, c, amr)
	now := sess.CreatedAt
	plain, hash, err := opaque.New()
	if err != nil {
		return nil, err
	}
	rt := &RefreshToken{ID: newID(), SessionID: sess.ID, Hash: hash, CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		return nil, storeErr("create session", err)
	}
	return s.grant(ctx, u, sess, plain)
}

func (s *Service) grant(ctx context.Context, u *User, sess *Session, refresh string) (*Grant, error) {
	now := s.now()
	at, err := s.signer.Sign(ctx, AccessClaims{
		Subject: u.ID, SessionID: sess.ID, Email: u.Email, AAL: sess.AAL, AMR: sess.AMR,
		EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified, Roles: u.Roles,
		ID: newID(), IssuedAt: now, Expiry: now.Add(s.cfg.AccessTokenTTL),
	})
	if err != nil {
		return nil, err
	}
	return &Grant{AccessToken: at, ExpiresIn: s.cfg.AccessTokenTTL, RefreshToken: refresh, User: u, Session: sess}, nil
}

// observe counts a sign-in attempt's outcome.
func (s *Service) observe(method string, err error) {
	s.obs.SignIn(method, resultOf(err))
}

// observeSignUp counts an attempt to create an account.
func (s *Service) observeSignUp(method string, err error) {
	s.obs.SignUp(method, resultOf(err))
}

// resultOf sorts an attempt's outcome into the Observer's results: a
// refusal by a limit, a fault of ours (or the store's), or the client's.
func resultOf(err error) string {
	switch k := KindOf(err); {
	case err == nil:
		return ResultSuccess
	case errors.Is(err, context.Canceled):
		return ResultAbandoned
	case k == KindRateLimited || k == KindTooManyAttempts:
		return ResultThrottled
	case k == KindUnavailable || k == "":
		return ResultError
	default:
		return ResultFailure
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// truncate bounds a client-supplied string to n bytes of valid UTF-8
// without NUL, so a hostile header can neither bloat a row nor be refused by
// PostgreSQL (whose text holds no NUL).
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
