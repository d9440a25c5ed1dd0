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

// Store is everything the flows need from persistent storage. Every
// implementation passes store/storetest. Lookups that find nothing return an
// error matching ErrNotFound; a backend that cannot be reached returns an
// error matching ErrUnavailable.
type Store interface {
	// CreateUser inserts u (ID set by the caller). A duplicate email answers
	// ErrEmailTaken, a duplicate phone ErrPhoneTaken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail matches the normalised (trimmed, lower-case) email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByPhone matches the E.164 phone.
	UserByPhone(ctx context.Context, phone string) (*User, error)
	// UpdateUser writes the profile fields (email, phone, name, verified
	// flags, UpdatedAt); it does not touch the password or disabled state.
	UpdateUser(ctx context.Context, u *User) error
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// SetUserAdmin grants or takes away the admin role; UpdateUser leaves
	// the role as stored.
	SetUserAdmin(ctx context.Context, userID string, admin bool, now time.Time) error
	// SetUserDisabled disables (at != nil) or enables (at == nil) a user.
	SetUserDisabled(ctx context.Context, userID string, at *time.Time) error
	// DeleteUser removes the user and everything that belongs to it.
	DeleteUser(ctx context.Context, userID string) error
	// ListUsers answers users ordered by ID, after q.After, at most q.Limit.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)

	// CreateSession inserts s and, when rt is not nil, its first refresh
	// token, atomically.
	CreateSession(ctx context.Context, s *Session, rt *RefreshToken) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	SessionByCookieHash(ctx context.Context, hash []byte) (*Session, error)
	// ListSessions answers the user's sessions that are not revoked and not
	// expired at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// TouchSession records use: LastSeenAt and the sliding ExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error
	// RevokeSession marks one session revoked; revoking twice is not an error.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions revokes every live session of the user except
	// keepID (empty keeps none) and answers the IDs it revoked.
	RevokeUserSessions(ctx context.Context, userID, keepID string, now time.Time) ([]string, error)

	RefreshTokenByHash(ctx context.Context, hash []byte) (*RefreshToken, error)
	// RotateRefreshToken atomically marks the token oldID rotated at now with
	// next as its successor and inserts next. It answers rotated=false (and
	// inserts nothing) when oldID was already rotated: of two concurrent
	// calls for one token exactly one wins.
	RotateRefreshToken(ctx context.Context, oldID string, next *RefreshToken, now time.Time) (rotated bool, err error)

	// SigningKeys answers every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey inserts k and marks every other unretired key retired at
	// k.CreatedAt, atomically, so exactly one key signs.
	AddSigningKey(ctx context.Context, k *SigningKey) error

	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
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
	AAL       string
	AMR       []string
	ID        string // jti
	IssuedAt  time.Time
	Expiry    time.Time
}

// TokenSigner issues and verifies access tokens.
type TokenSigner interface {
	// Sign answers a signed JWT for c (IssuedAt and Expiry set by the caller).
	Sign(ctx context.Context, c AccessClaims) (string, error)
	// Verify checks signature, issuer, audience and expiry at now.
	Verify(ctx context.Context, token string, now time.Time) (*AccessClaims, error)
}

// Throttle counts failed sign-ins per key (an account or a client address)
// and says how long a key must wait. The in-process implementation lives in
// package throttle; a shared one comes with Redis.
type Throttle interface {
	// Wait answers how long key must still wait (0: may try now).
	Wait(ctx context.Context, key string) (time.Duration, error)
	// Fail records a failure for key.
	Fail(ctx context.Context, key string) error
	// Reset forgets key's failures after a success.
	Reset(ctx context.Context, key string) error
}
