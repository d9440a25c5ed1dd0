package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/tracing"
)

// hashErr turns a hasher failure (usually the request's context ending
// while it waited for a hashing slot) into an answer for the client.
func hashErr(err error) error {
	if errors.Is(err, context.Canceled) {
		// Most often the client gave up waiting and went away: the error
		// says so (context.Canceled), so it is counted as abandoned and
		// not logged as a fault of ours.
		return &Error{Kind: KindUnavailable, Message: "The server is busy; try again.", Cause: context.Canceled}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindUnavailable, Message: "The server is busy; try again."}
	}
	return err
}

var errInvalidCredentials = &Error{Kind: KindInvalidCredentials, Message: "The email or password is not correct."}

// Identity names an account by its email or, when Email is empty, its
// phone (in international format).
type Identity struct {
	Email, Phone string
}

// address returns the normalised email or E.164 phone of id, its field
// error, and whether it is a phone.
func (s *Service) address(id Identity) (addr string, ferr *Error, byPhone bool) {
	if id.Phone != "" && id.Email == "" {
		n, ferr := s.phoneField("phone", id.Phone, false)
		return n.E164, ferr, true
	}
	addr, ferr = emailField("email", id.Email)
	return addr, ferr, false
}

// SignInPassword proves the password of the account id names; Finish
// then ends the sign-in. Unknown accounts, accounts without a password and
// wrong passwords all cost one hash and return the same
// invalid_credentials. Failures are throttled per account and per client
// address; a throttled attempt returns rate_limited before the password is
// looked at, so the limit reveals nothing about it.
func (s *Service) SignInPassword(ctx context.Context, id Identity, password string, c Client) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignInPassword")
	defer func() { end(err) }()
	addr, ferr, byPhone := s.address(id)
	find := s.store.UserByEmail
	if byPhone {
		find = s.store.UserByPhone
	}
	u, err := s.passwordUser(ctx, addr, ferr, password, c, find)
	if err != nil {
		return nil, err
	}
	if s.cfg.RequireVerifiedEmail && u.Email != "" && !u.EmailVerified {
		// Told only to someone who gave the password, so it reveals
		// nothing to a guesser; the owner gets a fresh proof to use.
		if err := s.sendEmailProof(ctx, u, u.Email, true); err != nil && KindOf(err) != KindRateLimited {
			s.log.WarnContext(ctx, "send email proof", "user_id", u.ID, "err", err)
		}
		s.observe("password", errUnverified)
		return nil, errUnverified
	}
	return &Proof{user: u, methods: []string{MethodPassword}, flow: "password"}, nil
}

// passwordUser returns the account a password proves, for the account
// find returns for addr (already normalised; ferr is its validation error,
// if any). Every outcome but a bad request and the success (which Finish
// counts once the sign-in is done) is counted here.
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
		dummy, err := s.dummy(ctx)
		if err != nil {
			return nil, hashErr(err)
		}
		// The account is looked up before the throttle is asked, as its
		// key is the account; known and unknown identifiers cost the same
		// lookup.
		u, err := find(ctx, addr)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, storeErr("find user", err)
		}
		keys := throttleKeys(u, addr, c.IP)
		if err := s.throttled(ctx, keys); err != nil {
			return nil, err
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
			s.fail(ctx, keys, u, c)
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
		return
	}
	u.PasswordHash = h
}

// errDisabled is told only to someone who proved the password, so it reveals
// nothing to a guesser.
var errDisabled = &Error{Kind: KindForbidden, Message: "This account is disabled."}

// throttleKeys returns the account key first (it is the one a success
// resets), then the client's.
//
// The account key is the account, not what was typed: an account with an
// email and a proven phone gets one budget of guesses, not one per
// identifier. An identifier with no account keys its own count, so an
// unknown email is throttled after as many failures as a known one and
// the answer never tells them apart.
func throttleKeys(u *User, identifier, ip string) []string {
	key := "acct:" + identifier
	if u != nil {
		key = accountKey(u.ID)
	}
	keys := []string{key}
	if ip != "" {
		keys = append(keys, "ip:"+ip)
	}
	return keys
}

// accountKey is the sign-in throttle's key of an account.
func accountKey(userID string) string { return "user:" + userID }

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

// fail records a failed password for keys (throttleKeys) and tells the
// metrics, and the audit log for an account, when that failure locked a
// key: a failure is recorded only when the key was free a moment before,
// so each lock is told about once.
func (s *Service) fail(ctx context.Context, keys []string, u *User, c Client) {
	for i, k := range keys {
		if err := s.throttle.Fail(ctx, k); err != nil {
			s.log.WarnContext(ctx, "record failed sign-in", "err", err)
			continue
		}
		if w, err := s.throttle.Wait(ctx, k); err != nil || w == 0 {
			continue
		}
		if i == 0 {
			s.obs.LimitTripped(LimitPasswordAccount)
			if u != nil {
				s.audit(ctx, u.ID, AuditSignInLocked, c, "too many wrong passwords")
			}
		} else {
			s.obs.LimitTripped(LimitPasswordClient)
		}
	}
}
