package auth

import (
	"context"
	"time"
)

// Second-factor kinds, as listed in `factors` and used as grant `factor`.
const (
	FactorTOTP       = "totp"
	FactorEmail      = "email"
	FactorBackupCode = "backup_code"
)

// MethodEmailCode is the AMR value of an emailed second-factor code.
const MethodEmailCode = "email"

// MethodBackupCode is the AMR value of a backup code.
const MethodBackupCode = "backup_code"

// Factor is a second factor of a user. A TOTP factor starts unconfirmed
// (enrolment) and does nothing until confirmed with a code; an unconfirmed
// one expires and a new enrolment replaces it.
type Factor struct {
	ID     string
	UserID string
	Kind   string
	// Secret is the TOTP secret sealed under the server secret (nil for
	// the email factor).
	Secret []byte
	// LastStep is the last TOTP time step accepted: a code is accepted at
	// most once, so a shoulder-surfed code cannot be replayed.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt *time.Time
}

// Confirmed reports whether the factor is on.
func (f *Factor) Confirmed() bool { return f.ConfirmedAt != nil }

// MFAToken is the proof of a first factor, waiting for the second. Only its
// hash is stored. It is short-lived, bound to the user and the first
// factor, and dies after a few wrong second-factor codes.
type MFAToken struct {
	ID     string
	UserID string
	Hash   []byte
	// AMR holds the first factor's methods.
	AMR      []string
	Attempts int
	// EmailCodeHash is the emailed second-factor code (HMAC, like challenge
	// codes) while one is outstanding.
	EmailCodeHash      []byte
	EmailCodeExpiresAt *time.Time
	CreatedAt          time.Time
	ExpiresAt          time.Time
	ConsumedAt         *time.Time
	// Browser is set when the first factor was a magic link opened in a
	// browser: the second step then ends in a cookie session.
	Browser    bool
	RedirectTo string
	// SessionID is set on a step-up's token (Service.StepUp): the second
	// factor then raises that live session to aal2 instead of starting a
	// new one. "" for a sign-in's token.
	SessionID string
}

// FactorStore keeps second factors and backup codes. It is durable.
type FactorStore interface {
	// PutFactor inserts f; an unconfirmed factor of the same user and kind
	// is replaced. While the user has a confirmed factor of the kind, any
	// new one (even an enrolment) answers ErrFactorExists: replacing a
	// factor means deleting it first.
	PutFactor(ctx context.Context, f *Factor) error
	// Factors answers every factor of the user, confirmed or not.
	Factors(ctx context.Context, userID string) ([]Factor, error)
	// ConfirmFactor marks the factor confirmed at now with the TOTP step
	// that confirmed it and, when hashes is not nil, replaces the user's
	// backup codes with them, atomically (nil leaves the codes alone).
	ConfirmFactor(ctx context.Context, id string, step int64, now time.Time, backupHashes [][]byte) error
	// UseTOTPStep records step as used when it is later than the last one;
	// false when it is not (a replay).
	UseTOTPStep(ctx context.Context, factorID string, step int64) (bool, error)
	// DeleteFactor removes the user's factor of kind (the confirmed one and
	// any enrolment in progress).
	DeleteFactor(ctx context.Context, userID, kind string) error

	// ReplaceBackupCodes replaces every backup code of the user.
	ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error
	// UseBackupCode marks the unused code with hash used at now; false when
	// there is none. It answers how many unused codes remain.
	UseBackupCode(ctx context.Context, userID string, hash []byte, now time.Time) (used bool, remaining int, err error)
	// BackupCodesLeft answers how many unused backup codes the user has.
	BackupCodesLeft(ctx context.Context, userID string) (int, error)
}

// MFATokenStore keeps MFA tokens: the proof of a first factor waiting for
// the second, dead within minutes, so a short-lived store may keep them. A
// store that keeps them beside the outbox may also implement
// MFAEmailCodeMessageSetter.
type MFATokenStore interface {
	// CreateMFAToken inserts t.
	CreateMFAToken(ctx context.Context, t *MFAToken) error
	// MFATokenByHash returns the token whose hash is hash, consumed or
	// expired ones included.
	MFATokenByHash(ctx context.Context, hash []byte) (*MFAToken, error)
	// FailMFAToken counts one second-factor try (counted before the code is
	// checked, so parallel tries cannot share one count) and returns the
	// count; every one of concurrent calls counts.
	FailMFAToken(ctx context.Context, id string) (int, error)
	// SetMFAEmailCode records hash as the token's emailed code, valid until
	// expires, in place of any earlier one; a nil hash clears it.
	SetMFAEmailCode(ctx context.Context, id string, hash []byte, expires time.Time) error
	// ConsumeMFAToken marks it used at now; false when it was used already
	// (of concurrent calls exactly one returns true).
	ConsumeMFAToken(ctx context.Context, id string, now time.Time) (bool, error)
	// DeleteUserMFATokens removes every MFA token of the user (a disable or
	// a revocation must kill half-finished sign-ins too); none is not an
	// error.
	DeleteUserMFATokens(ctx context.Context, userID string) error
}

// ErrFactorExists is returned by PutFactor for a second confirmed factor
// of one kind.
var ErrFactorExists = &Error{Kind: "factor_exists"}

// AuditEvent is a security-relevant event kept for admins (backup code
// used, factor added or removed, …).
type AuditEvent struct {
	ID        string
	UserID    string
	Kind      string
	IP        string
	UserAgent string
	// Detail is a short, secret-free note (e.g. "3 backup codes left").
	Detail    string
	CreatedAt time.Time
}

// AuditStore keeps audit events. It is durable.
type AuditStore interface {
	// AddAuditEvent inserts e. An event may name a user the store does not
	// know, and outlives the user it names: the trail is kept for admins.
	AddAuditEvent(ctx context.Context, e *AuditEvent) error
	// AuditEvents answers events newest first, of one user (or all when
	// userID is empty), before the cursor ID, at most limit.
	AuditEvents(ctx context.Context, userID, before string, limit int) ([]AuditEvent, error)
}
