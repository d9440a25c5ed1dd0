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
)

// MethodLink is the AMR value of a magic-link sign-in.
const MethodLink = "link"

var (
	errInvalidCode = &Error{Kind: KindInvalidCode, Message: "The code is not correct."}
	errCodeExpired = &Error{Kind: KindCodeExpired, Message: "The code has expired; ask for a new one."}
	errInvalidLink = &Error{Kind: KindInvalidCode, Message: "The link is not valid or was used already."}
	errLinkExpired = &Error{Kind: KindCodeExpired, Message: "The link has expired; ask for a new one."}
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
func (s *Service) RequestCode(ctx context.Context, in CodeRequest) error {
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

// Recover sends a password-reset code and link. Like RequestCode it
// answers the same for every address; only existing, enabled accounts get
// a message.
func (s *Service) Recover(ctx context.Context, email string) error {
	addr, ferr := emailField("email", email)
	if ferr != nil {
		return ferr
	}
	return s.sendChallenge(ctx, PurposeRecovery, KindRecovery, addr, "", false)
}

func (s *Service) sendChallenge(ctx context.Context, purpose, kind, email, redirectTo string, signUp bool) error {
	if !s.mailOn() {
		return errNoMail
	}
	if err := s.allowSend(ctx, s.sendLimit, "mail:"+email, errSentRecently); err != nil {
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
	return s.challenges != nil && s.outbox != nil && !s.cfg.NoEmail
}

// allowSend records one send under key with limiter (nil: no limit) and
// answers refused, with the wait, when a limit is reached.
func (s *Service) allowSend(ctx context.Context, limiter SendLimiter, key string, refused *Error) error {
	if limiter == nil {
		return nil
	}
	wait, err := limiter.Allow(ctx, key)
	if err != nil {
		return storeErr("send limit", err)
	}
	if wait > 0 {
		e := *refused
		e.RetryAfter = wait
		return &e
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
	signUp     bool
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
		send = o.signUp && !s.cfg.NoPasswordlessSignup
	case o.user.Disabled():
		send = false
	}
	now := s.now()
	ch := &Challenge{
		ID: newID(), Purpose: o.purpose, Address: o.address, Target: o.target, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.OTPTTL), RedirectTo: s.allowedRedirect(o.redirectTo),
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
	if err := s.challenges.PutChallenge(ctx, ch, msg); err != nil {
		return storeErr("store challenge", err)
	}
	if send {
		s.outbox.Wake()
	}
	return nil
}

// newCode answers n decimal digits, uniform, from crypto/rand.
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
// and consumes it. Wrong codes count; at the limit the challenge is dead.
func (s *Service) checkCode(ctx context.Context, purpose, email, code string) (*Challenge, error) {
	if s.challenges == nil {
		return nil, errInvalidCode // without email no code was ever sent
	}
	ch, err := s.challenges.ChallengeByAddress(ctx, purpose, email)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidCode
	} else if err != nil {
		return nil, storeErr("find challenge", err)
	}
	now := s.now()
	switch {
	case ch.ConsumedAt != nil:
		return nil, errInvalidCode
	case ch.Attempts >= s.cfg.OTPMaxAttempts:
		return nil, errTooManyAttempts
	case !now.Before(ch.ExpiresAt):
		return nil, errCodeExpired
	}
	// Count the try before comparing: counted after, many guesses sent at
	// once would all read the old count and pass the limit together.
	n, err := s.challenges.FailChallenge(ctx, ch.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidCode // a new request replaced it a moment ago
	} else if err != nil {
		return nil, storeErr("count try", err)
	}
	if n > s.cfg.OTPMaxAttempts {
		return nil, errTooManyAttempts
	}
	if !hmac.Equal(s.codeHash(ch.ID, code), ch.CodeHash) {
		if n >= s.cfg.OTPMaxAttempts {
			return nil, errTooManyAttempts
		}
		return nil, errInvalidCode
	}
	return ch, s.consume(ctx, ch, errInvalidCode)
}

// checkLink finds the live challenge of a link token and consumes it.
func (s *Service) checkLink(ctx context.Context, purpose, token string) (*Challenge, error) {
	// Without email no link was ever sent, so none can be valid.
	if s.challenges == nil || token == "" || len(token) > 128 {
		return nil, errInvalidLink
	}
	ch, err := s.challenges.ChallengeByLinkHash(ctx, opaque.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidLink
	} else if err != nil {
		return nil, storeErr("find challenge", err)
	}
	if ch.Purpose != purpose || ch.ConsumedAt != nil {
		return nil, errInvalidLink
	}
	if !s.now().Before(ch.LinkExpiresAt) {
		return nil, errLinkExpired
	}
	return ch, s.consume(ctx, ch, errInvalidLink)
}

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

// challengeUser answers the account a completed challenge proves, creating
// it for a new address when passwordless sign-up is on, and marks the
// address verified: the person has just shown they read it.
func (s *Service) challengeUser(ctx context.Context, ch *Challenge) (*User, error) {
	byPhone := isPhoneAddress(ch.Address)
	var u *User
	var err error
	if byPhone {
		u, err = s.store.UserByPhone(ctx, ch.Address)
	} else {
		u, err = s.store.UserByEmail(ctx, ch.Address)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		if ch.Purpose != PurposeSignIn || s.cfg.NoPasswordlessSignup {
			return nil, errInvalidCode
		}
		now := s.now()
		u = &User{ID: newID(), CreatedAt: now, UpdatedAt: now}
		if byPhone {
			u.Phone, u.PhoneVerified = ch.Address, true
		} else {
			u.Email, u.EmailVerified = ch.Address, true
		}
		if err := s.store.CreateUser(ctx, u); errors.Is(err, ErrEmailTaken) || errors.Is(err, ErrPhoneTaken) {
			return s.challengeUser(ctx, ch) // created by a concurrent request
		} else if err != nil {
			return nil, storeErr("create user", err)
		}
		return u, nil
	case err != nil:
		return nil, storeErr("find user", err)
	}
	if ch.UserID != "" && ch.UserID != u.ID {
		return nil, errInvalidCode // the account was replaced since the request
	}
	if u.Disabled() {
		return nil, errDisabled
	}
	verified := &u.EmailVerified
	if byPhone {
		verified = &u.PhoneVerified
	}
	if !*verified {
		*verified = true
		u.UpdatedAt = s.now()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return nil, storeErr("verify address", err)
		}
		s.sessions.forgetUser(u.ID)
	}
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

// OTPGrant signs in with an emailed code.
func (s *Service) OTPGrant(ctx context.Context, email, code string, c Client) (*Grant, error) {
	const method = "otp"
	addr, ferr := emailField("email", email)
	if ferr == nil {
		ferr = codeField(strings.TrimSpace(code), s.cfg.OTPLength)
	}
	if ferr != nil {
		return nil, ferr
	}
	g, err := s.codeSignIn(ctx, addr, strings.TrimSpace(code), c)
	s.observe(method, err)
	return g, err
}

func (s *Service) codeSignIn(ctx context.Context, email, code string, c Client) (*Grant, error) {
	ch, err := s.checkCode(ctx, PurposeSignIn, email, code)
	if err != nil {
		return nil, err
	}
	u, err := s.challengeUser(ctx, ch)
	if err != nil {
		return nil, err
	}
	return s.signIn(ctx, u, c, []string{MethodOTP})
}

// MagicLinkGrant signs in with a magic link's token (API and mobile
// clients; browsers use VerifyLink).
func (s *Service) MagicLinkGrant(ctx context.Context, token string, c Client) (*Grant, error) {
	const method = "magic_link"
	if token == "" {
		return nil, fieldError("token", "is required")
	}
	g, err := func() (*Grant, error) {
		ch, err := s.checkLink(ctx, PurposeSignIn, token)
		if err != nil {
			return nil, err
		}
		u, err := s.challengeUser(ctx, ch)
		if err != nil {
			return nil, err
		}
		return s.signIn(ctx, u, c, []string{MethodLink})
	}()
	s.observe(method, err)
	return g, err
}

// LinkResult is a browser sign-in by magic link: the cookie to set and
// where to send the browser.
type LinkResult struct {
	Cookie     string
	Session    *Session
	User       *User
	RedirectTo string
	// MFA is set instead of a cookie when a second factor is needed.
	MFA *MFARequired
}

// VerifyLink consumes a magic link clicked in a browser and starts a cookie
// session. RedirectTo is the allowed target given at request time, or "/".
func (s *Service) VerifyLink(ctx context.Context, token string, c Client) (*LinkResult, error) {
	const method = "magic_link"
	r, err := func() (*LinkResult, error) {
		ch, err := s.checkLink(ctx, PurposeSignIn, token)
		if err != nil {
			return nil, err
		}
		u, err := s.challengeUser(ctx, ch)
		if err != nil {
			return nil, err
		}
		target := s.allowedRedirect(ch.RedirectTo)
		if target == "" {
			target = "/"
		}
		return s.browserSignIn(ctx, u, c, []string{MethodLink}, target)
	}()
	s.observe(method, err)
	return r, err
}

// LinkPurpose answers what a link token is for, without consuming it, so
// the page a link opens can show the right form. Unknown tokens answer "".
func (s *Service) LinkPurpose(ctx context.Context, token string) (string, error) {
	if s.challenges == nil || token == "" || len(token) > 128 {
		return "", nil
	}
	ch, err := s.challenges.ChallengeByLinkHash(ctx, opaque.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", storeErr("find challenge", err)
	}
	return ch.Purpose, nil
}

// RecoverInput resets a password with the emailed code (and the email) or
// the link's token.
type RecoverInput struct {
	Email       string
	Code        string
	Token       string
	NewPassword string
}

// RecoverVerify sets a new password after proving the email, revokes every
// other session of the account, and signs in.
func (s *Service) RecoverVerify(ctx context.Context, in RecoverInput, c Client) (*Grant, error) {
	const method = "recovery"
	ch, err := s.recoveryChallenge(ctx, in)
	if err != nil {
		return nil, err
	}
	g, err := s.recover(ctx, ch, in.NewPassword, c)
	s.observe(method, err)
	return g, err
}

// recoveryChallenge checks the new password and consumes the recovery
// challenge that in's code (with its email) or link token proves. A wrong,
// used or expired code or link counts as a failed recovery; a bad request
// does not count.
func (s *Service) recoveryChallenge(ctx context.Context, in RecoverInput) (*Challenge, error) {
	ch, err := s.recoveryCheck(ctx, in)
	if err != nil && KindOf(err) != KindInvalidRequest && KindOf(err) != KindWeakPassword {
		s.observe("recovery", err)
	}
	return ch, err
}

func (s *Service) recoveryCheck(ctx context.Context, in RecoverInput) (*Challenge, error) {
	if in.NewPassword == "" {
		return nil, fieldError("new_password", "is required")
	}
	if perr := s.checkPassword("new_password", in.NewPassword); perr != nil {
		return nil, perr
	}
	if in.Token != "" {
		return s.checkLink(ctx, PurposeRecovery, in.Token)
	}
	addr, ferr := emailField("email", in.Email)
	if ferr == nil {
		ferr = codeField(strings.TrimSpace(in.Code), s.cfg.OTPLength)
	}
	if ferr != nil {
		return nil, ferr
	}
	return s.checkCode(ctx, PurposeRecovery, addr, strings.TrimSpace(in.Code))
}

// RecoverLink is the browser form of RecoverVerify: the link's token and a
// new password, answered with a cookie session instead of tokens.
func (s *Service) RecoverLink(ctx context.Context, token, newPassword string, c Client) (*LinkResult, error) {
	const method = "recovery"
	if perr := s.checkPassword("new_password", newPassword); perr != nil {
		return nil, perr
	}
	r, err := func() (*LinkResult, error) {
		ch, err := s.checkLink(ctx, PurposeRecovery, token)
		if err != nil {
			return nil, err
		}
		u, err := s.setRecoveredPassword(ctx, ch, newPassword)
		if err != nil {
			return nil, err
		}
		return s.browserSignIn(ctx, u, c, []string{MethodLink}, "/")
	}()
	s.observe(method, err)
	return r, err
}

func (s *Service) recover(ctx context.Context, ch *Challenge, password string, c Client) (*Grant, error) {
	u, err := s.setRecoveredPassword(ctx, ch, password)
	if err != nil {
		return nil, err
	}
	return s.signIn(ctx, u, c, []string{MethodOTP})
}

// setRecoveredPassword sets the password of the account a recovery
// challenge proves and ends every session it had.
func (s *Service) setRecoveredPassword(ctx context.Context, ch *Challenge, password string) (*User, error) {
	u, err := s.challengeUser(ctx, ch)
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, hashErr(err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, s.now()); err != nil {
		return nil, storeErr("set password", err)
	}
	u.PasswordHash = hash
	if err := s.revokeUser(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	_ = s.throttle.Reset(ctx, "acct:"+u.Email)
	return u, nil
}

// observe counts a sign-in attempt's outcome.
func (s *Service) observe(method string, err error) {
	switch k := KindOf(err); {
	case err == nil:
		s.obs.SignIn(method, "success")
	case k == KindRateLimited || k == KindTooManyAttempts:
		s.obs.SignIn(method, "throttled")
	case k == KindUnavailable || k == "":
		s.obs.SignIn(method, "error")
	default:
		s.obs.SignIn(method, "failure")
	}
}
