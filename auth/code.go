package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

var (
	errInvalidCode = &Error{Kind: KindInvalidCode, Message: "The code is not correct."}
	errCodeExpired = &Error{Kind: KindCodeExpired, Message: "The code has expired; ask for a new one."}
	// errTooManyAttempts carries Retry-After (every 429 does): the soonest a
	// new code can be sent to the address.
	errTooManyAttempts = &Error{Kind: KindTooManyAttempts, Message: "Too many wrong codes; ask for a new one.", RetryAfter: time.Minute}
	errNoMail          = &Error{Kind: KindUnavailable, Message: "Sign-in by email is not configured on this server."}
)

// CodeRequest asks for a one-time code, or a magic link carrying one, by
// email, or for a code by SMS.
type CodeRequest struct {
	Email string
	// Phone asks for a code by SMS instead (Email must then be empty).
	Phone string
	// Link sends a magic link (with the code too, for another device).
	Link bool
	// RedirectTo is where the browser goes after the link; kept only when
	// its origin is allowed.
	RedirectTo string
}

// RequestCode sends a sign-in code or link. The answer is the same for
// known and unknown addresses, and so is the work done, so neither the
// answer nor its timing tells whether an account exists: an unknown
// address gets an account when the code is used (unless passwordless
// sign-up is off, when it gets no message at all).
func (s *Service) RequestCode(ctx context.Context, in CodeRequest) (err error) {
	ctx, end := tracing.Start(ctx, "auth.RequestCode")
	defer func() { end(err) }()
	if in.Phone != "" {
		return s.requestSMSCode(ctx, in)
	}
	email, ferr := emailField("email", in.Email)
	if ferr != nil {
		return ferr
	}
	kind := KindSignInCode
	if in.Link {
		kind = KindMagicLink
	}
	return s.sendChallenge(ctx, PurposeSignIn, kind, email, in.RedirectTo, true)
}

func (s *Service) sendChallenge(ctx context.Context, purpose, kind, email, redirectTo string, signUp bool) error {
	if !s.mailOn() {
		return errNoMail
	}
	if err := s.allowMessage(ctx, sendLimit{s.sendLimit, "mail:" + email, errSentRecently}); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeErr("find user", err)
	}
	return s.issue(ctx, outgoing{
		purpose: purpose, kind: kind, address: email, to: email, user: u, signUp: signUp,
		redirectTo: redirectTo, link: kind != KindSignInCode,
	})
}

var errSentRecently = &Error{Kind: KindRateLimited, Message: "A message was sent to this address recently; wait before asking again."}

// mailOn reports whether email delivery is configured.
func (s *Service) mailOn() bool {
	return s.challenges != nil && s.outbox != nil && *s.cfg.Email
}

// allowSend records one send under key with limiter (nil: no limit) and
// returns refused, with the wait, when a limit is reached.
func (s *Service) allowSend(ctx context.Context, limiter SendLimiter, key string, refused *Error) error {
	if limiter == nil {
		return nil
	}
	wait, err := limiter.Allow(ctx, key)
	if err != nil {
		return storeErr("send limit", err)
	}
	if wait > 0 {
		return retryAfter(refused, wait)
	}
	return nil
}

// outgoing is one challenge to issue and the message that carries it.
type outgoing struct {
	purpose, kind string
	// address keys the challenge; to is where the message goes (the same
	// but for PurposePhone); target is what completing it sets.
	address, to, target string
	// user owns the address (nil: no account has it yet).
	user *User
	// signUp lets a message go to an address with no account.
	signUp bool
	// first marks the sign-up's own code (Challenge.SignUp).
	first      bool
	redirectTo string
	link       bool
	host       string
}

// issue stores a new challenge for o (replacing any live one) with its
// message in one transaction, and wakes the delivery worker.
func (s *Service) issue(ctx context.Context, o outgoing) error {
	send := true
	switch {
	case o.user == nil:
		send = o.signUp && *s.cfg.PasswordlessSignup
	case o.user.Disabled():
		send = false
	}
	now := s.now()
	ch := &Challenge{
		ID: newID(), Purpose: o.purpose, Address: o.address, Target: o.target, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.OTPTTL), RedirectTo: s.allowedRedirect(o.redirectTo), SignUp: o.first,
	}
	if o.user != nil {
		ch.UserID = o.user.ID
	}
	code, err := newCode(s.cfg.OTPLength)
	if err != nil {
		return err
	}
	ch.CodeHash = s.codeHash(ch.ID, code)
	data := MessageData{Code: code, ExpiresIn: s.cfg.OTPTTL, Host: o.host}
	if o.link {
		plain, hash, err := opaque.New()
		if err != nil {
			return err
		}
		ch.LinkHash = hash
		ch.LinkExpiresAt = now.Add(s.cfg.MagicLinkTTL)
		data.Link = s.cfg.LinkURL(plain)
		data.LinkTTL = s.cfg.MagicLinkTTL
	}
	// Compose and store a message even when nothing will be sent (it is
	// stored suppressed), so both paths cost the same.
	msg, err := s.outbox.Compose(ctx, o.kind, o.to, data)
	if err != nil {
		return fmt.Errorf("auth: compose message: %w", err)
	}
	if !send {
		msg.Status = MessageSuppressed
		if _, err := rand.Read(msg.Payload); err != nil {
			return fmt.Errorf("auth: random payload: %w", err)
		}
	}
	if err := s.putChallenge(ctx, ch, msg); err != nil {
		return storeErr("store challenge", err)
	}
	if send {
		s.obs.CodeSent(msg.Channel, o.kind)
		s.outbox.Wake()
	}
	return nil
}

// newCode returns n decimal digits, uniform, from crypto/rand.
func newCode(n int) (string, error) {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("auth: random code: %w", err)
	}
	return fmt.Sprintf("%0*d", n, v), nil
}

func (s *Service) codeHash(challengeID, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// checkCode verifies code against the live challenge of purpose for email
// and consumes it. Wrong codes count (tryCode), against the challenge and
// against g; at the limit the challenge is dead. A try with no live
// challenge to compare with counts against g too (failed).
func (s *Service) checkCode(ctx context.Context, purpose, email, code string, g guard) (_ *Challenge, err error) {
	defer func() { s.obs.CodeVerified("code", resultOf(err)) }()
	if s.challenges == nil {
		return nil, errInvalidCode // without email no code was ever sent
	}
	ch, err := s.challenges.ChallengeByAddress(ctx, purpose, email)
	if errors.Is(err, ErrNotFound) {
		return nil, s.failed(ctx, g, errInvalidCode)
	} else if err != nil {
		return nil, storeErr("find challenge", err)
	}
	now := s.now()
	switch {
	case ch.ConsumedAt != nil:
		return nil, s.failed(ctx, g, errInvalidCode)
	case s.spent(ch.Attempts):
		return nil, s.failed(ctx, g, errTooManyAttempts)
	case !now.Before(ch.ExpiresAt):
		return nil, s.failed(ctx, g, errCodeExpired)
	}
	err = s.tryCode(ctx, attempt{
		count: func(ctx context.Context) (int, error) { return s.challenges.FailChallenge(ctx, ch.ID) },
		match: func(context.Context) (bool, error) { return hmac.Equal(s.codeHash(ch.ID, code), ch.CodeHash), nil },
		// gone: a new request replaced the challenge a moment ago.
		gone: errInvalidCode, tooMany: errTooManyAttempts, wrong: errInvalidCode,
		guard: g,
	})
	if err != nil {
		return nil, err
	}
	return ch, s.consume(ctx, ch, errInvalidCode)
}

// consume uses ch up; used is the error when another request did first.
func (s *Service) consume(ctx context.Context, ch *Challenge, used *Error) error {
	ok, err := s.challenges.ConsumeChallenge(ctx, ch.ID, s.now())
	if errors.Is(err, ErrNotFound) {
		return used // a new request replaced it a moment ago
	} else if err != nil {
		return storeErr("consume challenge", err)
	}
	if !ok {
		return used // a concurrent request used it a moment ago
	}
	return nil
}

// challengeUser returns the account a completed challenge proves,
// creating it for a new address when passwordless sign-up is on. The first
// proof of an address its account never proved keeps nothing that was set
// up without it (proveFirst).
func (s *Service) challengeUser(ctx context.Context, ch *Challenge) (*User, error) {
	byPhone := isPhoneAddress(ch.Address)
	find := s.store.UserByEmail
	if byPhone {
		find = s.store.UserByPhone
	}
	u, err := find(ctx, ch.Address)
	switch {
	case errors.Is(err, ErrNotFound):
		// A challenge made for an account proves nothing once that account
		// is gone: codes kept apart from the users' table (another node's
		// Redis) outlive a deletion, and must not sign up a new account at
		// the address of the deleted one.
		if ch.UserID != "" {
			return nil, errInvalidCode
		}
		return s.signUpByProof(ctx, ch, byPhone)
	case err != nil:
		return nil, storeErr("find user", err)
	}
	if ch.UserID != "" && ch.UserID != u.ID {
		return nil, errInvalidCode // the account was replaced since the request
	}
	if u.Disabled() {
		return nil, errDisabled
	}
	if (byPhone && u.PhoneVerified) || (!byPhone && u.EmailVerified) {
		return u, nil
	}
	if u, _, err = s.proveFirst(ctx, u, ch, byPhone); u != nil || err != nil {
		return u, err
	}
	return s.signUpByProof(ctx, ch, byPhone)
}

// signUpByProof creates the account of an address that has none, proven
// by ch, when passwordless sign-up is on and ch is a sign-in.
func (s *Service) signUpByProof(ctx context.Context, ch *Challenge, byPhone bool) (*User, error) {
	if ch.Purpose != PurposeSignIn || !*s.cfg.PasswordlessSignup {
		return nil, errInvalidCode
	}
	now := s.now()
	u := &User{ID: newID(), CreatedAt: now, UpdatedAt: now, NoFactors: true}
	if byPhone {
		u.Phone, u.PhoneVerified = ch.Address, true
	} else {
		u.Email, u.EmailVerified = ch.Address, true
	}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, ErrEmailTaken) || errors.Is(err, ErrPhoneTaken) {
		// Created by a concurrent request: look again, as for an address
		// with no account at request time.
		again := *ch
		again.UserID = ""
		return s.challengeUser(ctx, &again)
	} else if err != nil {
		return nil, storeErr("create user", err)
	}
	s.observeSignUp("code", nil)
	return u, nil
}

// isPhoneAddress tells a challenge keyed by an E.164 phone from one keyed
// by an email: a phone has no @.
func isPhoneAddress(address string) bool {
	return strings.HasPrefix(address, "+") && !strings.Contains(address, "@")
}

func codeField(code string, n int) *Error {
	if code == "" {
		return fieldError("code", "is required")
	}
	if len(code) != n || strings.Trim(code, "0123456789") != "" {
		return fieldError("code", fmt.Sprintf("must be %d digits", n))
	}
	return nil
}

// SignInCode proves the mailbox or phone that id names with the code
// RequestCode sent there; Finish then ends the sign-in. An unknown address
// gets an account when passwordless sign-up is on. Wrong codes count
// against the code; at Config.OTPMaxAttempts it is dead.
func (s *Service) SignInCode(ctx context.Context, id Identity, code string) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignInCode")
	defer func() { end(err) }()
	addr, ferr, byPhone := s.address(id)
	code = strings.TrimSpace(code)
	if ferr := collect(ferr, codeField(code, s.cfg.OTPLength)); ferr != nil {
		return nil, ferr
	}
	flow, method := "otp", MethodOTP
	if byPhone {
		flow, method = "sms", MethodSMS
	}
	p, err := func() (*Proof, error) {
		ch, err := s.checkCode(ctx, PurposeSignIn, addr, code, guard{client: ClientFrom(ctx)})
		if err != nil {
			return nil, err
		}
		u, err := s.challengeUser(ctx, ch)
		if err != nil {
			return nil, err
		}
		return &Proof{user: u, methods: []string{method}, flow: flow}, nil
	}()
	if err != nil {
		s.observe(flow, err)
	}
	return p, err
}
