package auth

import (
	"context"
	"time"
)

// Clock tells the time. Flows take it as a value so tests control expiry
// without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// The ports below are split by how long what they keep lives. Durable ports
// (UserStore, SessionStore, KeyStore, FactorStore, AuditStore) keep what
// must survive any restart and sit in one database, the SQL store today.
// Short-lived ports (ChallengeStore and MFATokenStore for codes, Throttle,
// SendLimiter and Limiter for counters, Revocations) keep what dies within minutes
// or only has to reach the other nodes, so a shared cache such as Redis can
// hold them, each on its own, with no change here. MessageQueue hands
// composed messages to the durable outbox (package notify delivers them).
// Every implementation passes its port's group of store/storetest.
//
// Throughout, lookups that find nothing return an error matching
// ErrNotFound, and a backend that cannot be reached returns an error
// matching ErrUnavailable. Times go in at any precision and zone and come
// back in UTC at microseconds.

// UserStore keeps accounts. It is durable.
type UserStore interface {
	// CreateUser inserts u (ID set by the caller). A duplicate email returns
	// ErrEmailTaken, a duplicate phone ErrPhoneTaken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user with id, disabled or not. Every lookup may
	// fill in User.NoFactors (see there).
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail matches the normalised (trimmed, lower-case) email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByPhone matches the E.164 phone.
	UserByPhone(ctx context.Context, phone string) (*User, error)
	// UpdateUser writes the profile fields (email, phone, name, verified
	// flags, UpdatedAt); it does not touch the password or disabled state.
	UpdateUser(ctx context.Context, u *User) error
	// SetPasswordHash replaces the password hash ("" for none) and sets
	// UpdatedAt to now.
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// SetUserRoles replaces the user's roles (sorted, without duplicates,
	// valid names: the caller has made them so) and sets UpdatedAt to now;
	// the user is an admin afterwards exactly when RoleAdmin is among them.
	// UpdateUser leaves the roles as stored.
	SetUserRoles(ctx context.Context, userID string, roles []string, now time.Time) error
	// SetUserDisabled disables (at != nil) or enables (at == nil) a user.
	SetUserDisabled(ctx context.Context, userID string, at *time.Time) error
	// DeleteUser removes the user and everything of it that the same
	// backend keeps (sessions, factors, and codes when it keeps those too).
	DeleteUser(ctx context.Context, userID string) error
	// ListUsers returns users ordered by ID, after q.After, at most q.Limit.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
}

// SessionStore keeps sessions and their refresh tokens. It is durable: a
// session outlives restarts for as long as RefreshTokenTTL.
type SessionStore interface {
	// CreateSession inserts s and, when rt is not nil, its first refresh
	// token, atomically.
	CreateSession(ctx context.Context, s *Session, rt *RefreshToken) error
	// SessionByID returns the session with id, revoked or expired ones
	// included: the caller decides.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// SessionByCookieHash returns the session whose cookie hashes to hash,
	// as SessionByID; sessions without a cookie are never found.
	SessionByCookieHash(ctx context.Context, hash []byte) (*Session, error)
	// ListSessions returns the user's sessions that are not revoked and not
	// expired at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// TouchSession records use: LastSeenAt and the sliding ExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error
	// RevokeSession marks one session revoked; revoking twice is not an error.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions revokes every live session of the user except
	// keepID (empty keeps none) and returns the IDs it revoked.
	RevokeUserSessions(ctx context.Context, userID, keepID string, now time.Time) ([]string, error)

	// RefreshTokenByHash returns the refresh token whose hash is hash,
	// rotated ones included (a replay of one is how theft is detected).
	RefreshTokenByHash(ctx context.Context, hash []byte) (*RefreshToken, error)
	// RefreshTokenSession returns the refresh token whose hash is hash, as
	// RefreshTokenByHash, with its session and the session's user, as
	// SessionByID and UserByID would (a refresh needs all three, so a store
	// may read them at once). A token whose session or user is gone is
	// ErrNotFound.
	RefreshTokenSession(ctx context.Context, hash []byte) (*RefreshToken, *Session, *User, error)
	// RotateRefreshToken atomically marks the token oldID rotated at now with
	// next as its successor, inserts next, and records the use of next's
	// session as TouchSession(next.SessionID, now, expiresAt) does. It
	// returns rotated=false (and writes nothing) when oldID was already
	// rotated: of two concurrent calls for one token exactly one wins.
	RotateRefreshToken(ctx context.Context, oldID string, next *RefreshToken, now, expiresAt time.Time) (rotated bool, err error)
	// RaiseSession sets the session's AAL and AMR after a step-up,
	// atomically with what the caller must hand out anew: when cookieHash
	// is not nil it replaces the session's cookie hash (the old cookie
	// finds nothing from then on), and when next is not nil every refresh
	// token of the session not yet rotated is marked rotated at now with
	// next as its successor, and next is inserted (a token issued before
	// the step-up can no longer mint tokens of the raised session). It
	// returns raised=false, changing nothing, when the session is revoked
	// or expired at now, or does not exist.
	RaiseSession(ctx context.Context, id, aal string, amr []string, cookieHash []byte, next *RefreshToken, now time.Time) (raised bool, err error)
}

// Store is the durable core every Service needs: accounts and sessions, and
// a health check.
type Store interface {
	UserStore
	SessionStore
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
}

// RefreshRotator is implemented by a SessionStore that can read a refresh
// token and rotate it in one step; RefreshGrant uses it when its store has
// it, so that a normal refresh costs one round trip instead of two.
type RefreshRotator interface {
	// RefreshAndRotate returns what RefreshTokenSession returns for hash,
	// as it was before the call, and, when that token is
	// RefreshToken.Rotatable at now, rotates it as RotateRefreshToken would:
	// next is inserted as its successor, with the token's session and
	// that session's absolute expiry (next's SessionID and ExpiresAt are
	// ignored), and the session is touched at now, expiring at the
	// earlier of slideTo and its absolute expiry. rotated reports whether
	// this call rotated the token: of concurrent calls for one token at
	// most one does. When it is false nothing was written, and the caller
	// decides from what was read (a replay, a race lost, a dead session).
	RefreshAndRotate(ctx context.Context, hash []byte, next *RefreshToken, now, slideTo time.Time) (rt *RefreshToken, sess *Session, u *User, rotated bool, err error)
}

// KeyStore keeps the signing keys, encrypted by the caller. It is durable
// and shared by every node, so all of them sign and verify with one set.
// The flows reach it only through their TokenSigner (package token).
type KeyStore interface {
	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey inserts k and marks every other unretired key retired at
	// k.CreatedAt, atomically, so exactly one key signs.
	AddSigningKey(ctx context.Context, k *SigningKey) error
}

// PasswordHasher hashes and checks passwords. Implementations bound how many
// hashes run at once and honour ctx while waiting for a slot.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify answers whether password matches encoded. It costs the same
	// time whether or not it matches.
	Verify(ctx context.Context, encoded, password string) (bool, error)
	// NeedsRehash reports a hash made with other parameters than the
	// hasher's own, to be replaced at the next successful sign-in.
	NeedsRehash(encoded string) bool
}

// PasswordPolicy checks a new password; it answers a message for the person
// ("must be at least 8 characters") or "" when the password is acceptable.
type PasswordPolicy interface {
	Check(password string) string
}

// AccessClaims are the claims of an access token (docs/contract.md, "Credentials").
type AccessClaims struct {
	Subject   string
	SessionID string
	Email     string
	// EmailVerified and PhoneVerified say whether the user has proven the
	// address and the phone number, when the token was signed, so an app
	// can tell a proven email from a typed one without asking us.
	EmailVerified bool
	PhoneVerified bool
	AAL           string
	AMR           []string
	// Roles are the user's roles when the token was signed ("roles",
	// absent when there are none).
	Roles    []string
	ID       string // jti
	IssuedAt time.Time
	Expiry   time.Time
}

// TokenSigner issues and verifies access tokens.
type TokenSigner interface {
	// Sign answers a signed JWT for c (IssuedAt and Expiry set by the caller).
	Sign(ctx context.Context, c AccessClaims) (string, error)
	// Verify checks signature, issuer, audience and expiry at now.
	Verify(ctx context.Context, token string, now time.Time) (*AccessClaims, error)
}

// Throttle counts failed sign-ins per key (an account or a client address)
// and says how long a key must wait. It is a short-lived counter: losing it
// forgets some failures, never a security state. The in-process
// implementation lives in internal/throttle; nodes that must agree share one
// (Redis).
type Throttle interface {
	// Wait returns how long key must still wait (0: may try now).
	Wait(ctx context.Context, key string) (time.Duration, error)
	// Fail records a failure for key.
	Fail(ctx context.Context, key string) error
	// Reset forgets key's failures after a success.
	Reset(ctx context.Context, key string) error
}
