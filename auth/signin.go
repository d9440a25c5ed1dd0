package auth

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/phone"
)

// Grant is what a successful sign-in or refresh answers.
type Grant struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	User         *User
	Session      *Session
	// MFA is set, and nothing else but User, when the account has a second
	// factor on: the sign-in continues with MFAGrant.
	MFA *MFARequired
}

// SignUpInput is a new account: an email, a phone or both. Password is
// optional (passwordless account).
type SignUpInput struct {
	Email    string
	Phone    string
	Password string
	Name     string
	// EmailVerified and PhoneVerified are honoured only from the admin API.
	EmailVerified bool
	PhoneVerified bool
	// SendCode sends a sign-in code by SMS to the new phone, which proves
	// it (public sign-up). The number must then be one codes may go to,
	// and without SMS the sign-up answers unavailable before creating
	// anything.
	SendCode bool
}

// SignUp creates an account. It answers email_taken for a known address
// (docs/contract.md chooses a clear 409 over enumeration safety for sign-up).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (*User, error) {
	var fields []FieldError
	var email string
	var ferr *Error
	if in.Email != "" || in.Phone == "" {
		if email, ferr = emailField("email", in.Email); ferr != nil {
			fields = append(fields, ferr.Fields...)
		}
	}
	var number phone.Number
	if in.Phone != "" {
		if number, ferr = s.phoneField("phone", in.Phone, in.SendCode); ferr != nil {
			fields = append(fields, ferr.Fields...)
		}
	}
	name, ferr := nameField(in.Name)
	if ferr != nil {
		fields = append(fields, ferr.Fields...)
	}
	if len(fields) > 0 {
		return nil, &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: fields}
	}
	sendCode := in.SendCode && number.E164 != ""
	if sendCode && !s.smsOn() {
		return nil, errNoSMS
	}
	var hash string
	if in.Password != "" {
		if err := s.checkPassword("password", in.Password); err != nil {
			return nil, err
		}
		// Hash before touching the store: never hold a transaction or a
		// connection for the length of an argon2id run.
		h, err := s.hasher.Hash(ctx, in.Password)
		if err != nil {
			return nil, hashErr(err)
		}
		hash = h
	}
	now := s.now()
	u := &User{
		ID: newID(), Email: email, EmailVerified: in.EmailVerified && email != "",
		Phone: number.E164, PhoneVerified: in.PhoneVerified && number.E164 != "",
		Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		switch {
		case errors.Is(err, ErrEmailTaken):
			return nil, &Error{Kind: KindEmailTaken, Message: "An account with this email already exists.", Fields: []FieldError{{"email", "is already registered"}}}
		case errors.Is(err, ErrPhoneTaken):
			return nil, errPhoneTaken
		}
		return nil, storeErr("create user", err)
	}
	if sendCode {
		s.sendSignUpCode(ctx, u, number)
	}
	return u, nil
}

// hashErr turns a hasher failure (usually the request's context ending
// while it waited for a hashing slot) into an answer for the client.
func hashErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindUnavailable, Message: "The server is busy; try again."}
	}
	return err
}

var errInvalidCredentials = &Error{Kind: KindInvalidCredentials, Message: "The email or password is not correct."}

// PasswordGrant signs in with email and password. Unknown emails, accounts
// without a password and wrong passwords all cost one hash and answer the
// same invalid_credentials. Failures are throttled per account and per
// client address; a throttled attempt answers rate_limited before the
// password is looked at, so the limit reveals nothing about it.
func (s *Service) PasswordGrant(ctx context.Context, email, password string, c Client) (*Grant, error) {
	addr, ferr := emailField("email", email)
	return s.passwordGrant(ctx, addr, ferr, password, c, s.store.UserByEmail)
}

// PhonePasswordGrant is PasswordGrant for an account named by its phone.
func (s *Service) PhonePasswordGrant(ctx context.Context, number, password string, c Client) (*Grant, error) {
	n, ferr := s.phoneField("phone", number, false)
	return s.passwordGrant(ctx, n.E164, ferr, password, c, s.store.UserByPhone)
}

// passwordGrant checks password for the account find answers for addr
// (already normalised; ferr is its validation error, if any) and signs in.
func (s *Service) passwordGrant(ctx context.Context, addr string, ferr *Error, password string, c Client,
	find func(context.Context, string) (*User, error)) (*Grant, error) {
	u, err := s.passwordUser(ctx, addr, ferr, password, c, find)
	if err != nil {
		return nil, err
	}
	g, err := s.signIn(ctx, u, c, []string{MethodPassword})
	s.observe("password", err)
	return g, err
}

// passwordUser answers the account a password proves. Every outcome but a
// bad request and the success (which the caller counts once the sign-in is
// done) is counted here.
func (s *Service) passwordUser(ctx context.Context, addr string, ferr *Error, password string, c Client,
	find func(context.Context, string) (*User, error)) (*User, error) {
	var fields []FieldError
	if ferr != nil {
		fields = append(fields, ferr.Fields...)
	}
	if password == "" {
		fields = append(fields, FieldError{"password", "is required"})
	}
	if len(fields) > 0 {
		return nil, &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: fields}
	}
	u, err := func() (*User, error) {
		keys := throttleKeys(addr, c.IP)
		if err := s.throttled(ctx, keys); err != nil {
			return nil, err
		}
		dummy, err := s.dummy(ctx)
		if err != nil {
			return nil, hashErr(err)
		}
		u, err := find(ctx, addr)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, storeErr("find user", err)
		}
		encoded := dummy
		if u != nil && u.PasswordHash != "" {
			encoded = u.PasswordHash
		}
		ok, err := s.hasher.Verify(ctx, encoded, password)
		if err != nil {
			return nil, hashErr(err)
		}
		if !ok || u == nil || !u.HasPassword() {
			s.fail(ctx, keys)
			return nil, errInvalidCredentials
		}
		_ = s.throttle.Reset(ctx, keys[0])
		s.rehash(ctx, u, password)
		if u.Disabled() {
			return nil, errDisabled
		}
		return u, nil
	}()
	if err != nil {
		s.observe("password", err)
	}
	return u, err
}

// rehash upgrades a hash made with older parameters while the plaintext is
// at hand. Failure is logged, not fatal: the old hash still verifies.
func (s *Service) rehash(ctx context.Context, u *User, password string) {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, h, s.now())
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash", "user_id", u.ID, "err", err)
	}
}

// errDisabled is told only to someone who proved the password, so it reveals
// nothing to a guesser.
var errDisabled = &Error{Kind: KindForbidden, Message: "This account is disabled."}

// throttleKeys answers the account key first: it is the one a success resets.
func throttleKeys(email, ip string) []string {
	keys := []string{"acct:" + email}
	if ip != "" {
		keys = append(keys, "ip:"+ip)
	}
	return keys
}

func (s *Service) throttled(ctx context.Context, keys []string) error {
	var wait time.Duration
	for _, k := range keys {
		w, err := s.throttle.Wait(ctx, k)
		if err != nil {
			return storeErr("throttle", err)
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		return &Error{Kind: KindRateLimited, Message: "Too many failed sign-ins; try again later.", RetryAfter: wait}
	}
	return nil
}

func (s *Service) fail(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.throttle.Fail(ctx, k); err != nil {
			s.log.WarnContext(ctx, "record failed sign-in", "err", err)
		}
	}
}

// newSession answers a session for u that starts now. A sign-in proven by
// two methods (a first and a second factor) is aal2.
func (s *Service) newSession(u *User, c Client, amr []string) *Session {
	now := s.now()
	aal := AAL1
	if len(amr) > 1 {
		aal = AAL2
	}
	sess := &Session{
		ID: newID(), UserID: u.ID, IP: truncate(c.IP, 64), UserAgent: truncate(c.UserAgent, 512),
		AAL: aal, AMR: amr, CreatedAt: now, LastSeenAt: now,
		AbsoluteExpiresAt: now.Add(s.cfg.RefreshTokenTTL),
	}
	sess.ExpiresAt = minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	return sess
}

// BrowserSession starts a cookie session for a user who has just proved who
// they are (the magic-link page, the sign-in pages) and answers the cookie
// value, which is stored only as a hash.
func (s *Service) BrowserSession(ctx context.Context, u *User, c Client, amr []string) (cookie string, sess *Session, err error) {
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
// answers its tokens.
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
		ID: newID(), IssuedAt: now, Expiry: now.Add(s.cfg.AccessTokenTTL),
	})
	if err != nil {
		return nil, err
	}
	return &Grant{AccessToken: at, ExpiresIn: s.cfg.AccessTokenTTL, RefreshToken: refresh, User: u, Session: sess}, nil
}

var (
	errRefreshRevoked = &Error{Kind: KindTokenRevoked, Message: "The refresh token is not valid."}
	errRefreshExpired = &Error{Kind: KindTokenExpired, Message: "The session has expired."}
)

// successorLabel separates refresh successors from anything else derived
// with the same key.
const successorLabel = "refresh-successor"

// RefreshGrant exchanges a refresh token for a new pair. Each token is
// single use: its successor is derived from it, so a concurrent client that
// replays it within Config.RefreshGrace gets the same successor; a replay
// after that is taken as theft and revokes the whole session.
func (s *Service) RefreshGrant(ctx context.Context, refresh string, c Client) (*Grant, error) {
	const method = "refresh_token"
	if refresh == "" {
		return nil, fieldError("refresh_token", "is required")
	}
	g, err := s.refresh(ctx, refresh, c)
	switch {
	case err == nil:
		s.obs.SignIn(method, "success")
	case KindOf(err) == KindTokenRevoked || KindOf(err) == KindTokenExpired:
		s.obs.SignIn(method, "failure")
	default:
		s.obs.SignIn(method, "error")
	}
	return g, err
}

func (s *Service) refresh(ctx context.Context, refresh string, c Client) (*Grant, error) {
	rt, err := s.store.RefreshTokenByHash(ctx, opaque.Hash(refresh))
	if errors.Is(err, ErrNotFound) {
		return nil, errRefreshRevoked
	} else if err != nil {
		return nil, storeErr("find refresh token", err)
	}
	sess, u, err := s.liveSession(ctx, rt.SessionID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(rt.ExpiresAt) {
		return nil, errRefreshExpired
	}
	next := opaque.Derive(s.cfg.SuccessorKey, refresh, successorLabel)
	if rt.RotatedAt == nil {
		nrt := &RefreshToken{ID: newID(), SessionID: sess.ID, Hash: opaque.Hash(next), CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}
		won, err := s.store.RotateRefreshToken(ctx, rt.ID, nrt, now)
		if err != nil {
			return nil, storeErr("rotate refresh token", err)
		}
		if !won {
			// Another request rotated it a moment ago: treat as a replay.
			if rt, err = s.store.RefreshTokenByHash(ctx, opaque.Hash(refresh)); err != nil {
				return nil, storeErr("find refresh token", err)
			}
		}
	}
	if rt.RotatedAt != nil && now.Sub(*rt.RotatedAt) > s.cfg.RefreshGrace {
		s.log.WarnContext(ctx, "refresh token reused after rotation; revoking session", "session_id", sess.ID, "user_id", u.ID, "ip", c.IP)
		if err := s.revoke(ctx, sess.ID); err != nil {
			return nil, err
		}
		return nil, errRefreshRevoked
	}
	sess.LastSeenAt = now
	sess.ExpiresAt = minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	if err := s.store.TouchSession(ctx, sess.ID, sess.LastSeenAt, sess.ExpiresAt); err != nil {
		return nil, storeErr("touch session", err)
	}
	return s.grant(ctx, u, sess, next)
}

// liveSession loads a session and its user from the store and answers
// token_revoked or token_expired when it can no longer be used.
func (s *Service) liveSession(ctx context.Context, id string) (*Session, *User, error) {
	sess, err := s.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errRefreshRevoked
	} else if err != nil {
		return nil, nil, storeErr("find session", err)
	}
	now := s.now()
	if sess.RevokedAt != nil {
		return nil, nil, errRefreshRevoked
	}
	if !sess.Live(now) {
		return nil, nil, errRefreshExpired
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errRefreshRevoked
	} else if err != nil {
		return nil, nil, storeErr("find user", err)
	}
	if u.Disabled() {
		return nil, nil, errRefreshRevoked
	}
	return sess, u, nil
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
