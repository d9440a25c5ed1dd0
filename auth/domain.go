// Package auth holds Gatehouse's domain types and sign-in flows. It decides
// everything that matters for security (attempt limits, single use, session
// revocation, assurance levels) and knows nothing of HTTP or SQL: it reaches
// storage, hashing, signing and time only through the small interfaces it
// declares here.
package auth

import (
	"slices"
	"time"
)

// Assurance levels of a session (NIST SP 800-63B terms, as GoTrue uses them).
const (
	AAL1 = "aal1"
	AAL2 = "aal2"
)

// Authentication method references (RFC 8176 where one exists).
const (
	MethodPassword = "pwd"
	MethodOTP      = "otp"
	MethodTOTP     = "totp"
	// MethodSMS is a code sent by SMS (RFC 8176 "sms").
	MethodSMS = "sms"
)

// User is an account. PasswordHash is empty for a passwordless account.
type User struct {
	ID            string
	Email         string
	EmailVerified bool
	Phone         string
	PhoneVerified bool
	Name          string
	PasswordHash  string
	// DisabledAt is set while an administrator has disabled the account.
	DisabledAt *time.Time
	// Roles are the account's role names, sorted, without duplicates
	// (RoleAdmin among them when Admin is set). Access rules and apps
	// behind the proxy decide by them.
	Roles []string
	// Admin reports the admin role (RoleAdmin in Roles): the /admin page
	// (with a second-factor session when the account has a second factor
	// on). A store sets it from Roles when it reads a user and writes
	// RoleAdmin into the roles when it creates one with Admin set.
	Admin     bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// NoFactors is set by a store that looked when it read the user and
	// found no confirmed second factor and no passkey (a passkey is a
	// second factor too), so a sign-in need not list them.
	// Its zero value makes the flows look for themselves: a store that
	// does not fill it in costs a lookup, never a skipped second factor.
	NoFactors bool
}

// RoleAdmin is the role of administrators: the /admin page.
const RoleAdmin = "admin"

// HasRole reports whether the account has the role name.
func (u *User) HasRole(name string) bool { return slices.Contains(u.Roles, name) }

// Disabled reports whether the account may not sign in.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// HasPassword reports whether a password is set.
func (u *User) HasPassword() bool { return u.PasswordHash != "" }

// Session is one signed-in device. Every credential (cookie, refresh token,
// access token) belongs to exactly one session; revoking the session kills
// all of them.
type Session struct {
	ID     string
	UserID string
	// CookieHash is the SHA-256 of the browser cookie's value; nil for
	// sessions that only hold refresh tokens.
	CookieHash []byte
	IP         string
	UserAgent  string
	AAL        string
	AMR        []string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt slides forward with use but never past AbsoluteExpiresAt.
	ExpiresAt         time.Time
	AbsoluteExpiresAt time.Time
	RevokedAt         *time.Time
}

// Live reports whether the session can still authenticate at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// RefreshToken is one link in a session's rotation chain. Only the hash of
// the opaque value is stored.
type RefreshToken struct {
	ID        string
	SessionID string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// RotatedAt is set when the token was exchanged for SuccessorID.
	RotatedAt   *time.Time
	SuccessorID string
}

// Rotatable reports whether a refresh at now may rotate rt, a token of
// session sess of user u: rt is neither rotated nor expired, sess is live
// and u is not disabled. RefreshGrant refuses every other case, and a
// RefreshRotator rotates only in this one.
func (rt *RefreshToken) Rotatable(sess *Session, u *User, now time.Time) bool {
	return rt.RotatedAt == nil && now.Before(rt.ExpiresAt) && sess.Live(now) && !u.Disabled()
}

// SigningKey is an access-token signing key as stored: the private half is
// sealed under the server secret so every node of a cluster can share it.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string
	Private   []byte // sealed
	Public    []byte // PKIX DER
	CreatedAt time.Time
	RetiredAt *time.Time // set when a newer key took over signing
}

// UserQuery selects users for the admin list: Query matches email, phone or
// name; After is the cursor (the last ID of the previous page).
type UserQuery struct {
	Query string
	After string
	Limit int
}
