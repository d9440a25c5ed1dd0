package auth

import (
	"context"
	"encoding/base64"
	"time"
)

// Passkeys (WebAuthn) — the types and ports the passkey flows stand on.
// The flows themselves, and the relying party that checks what a browser
// sends (package internal/passkey, on go-webauthn), build on these.

// MethodWebAuthn is the AMR value of a passkey (RFC 8176 has none for
// WebAuthn; "webauthn" is what GoTrue and Kratos use).
const MethodWebAuthn = "webauthn"

// FactorWebAuthn is the factor kind users with a passkey list.
const FactorWebAuthn = "webauthn"

// Passkey is one WebAuthn credential of a user: what the relying party
// needs to check its assertions, and what the user sees of it.
type Passkey struct {
	// ID is the credential ID the authenticator chose (at most 1023 bytes,
	// WebAuthn §5.8.3); unique across users.
	ID     []byte
	UserID string
	// Name is the user's name for it (the AAGUID's provider name, or
	// "Passkey", until renamed).
	Name string
	// PublicKey is the credential's COSE public key.
	PublicKey []byte
	// AttestationFormat is the attestation statement's format ("none" for
	// the passkeys Gatehouse asks for).
	AttestationFormat string
	// AAGUID names the authenticator's model (16 bytes; zeros when the
	// authenticator does not say).
	AAGUID []byte
	// SignCount is the last signature counter seen; 0 for authenticators
	// that keep none (most synced passkeys).
	SignCount uint32
	// Transports are the authenticator's transports as the browser
	// reported them ("internal", "hybrid", "usb", …), for allowCredentials.
	// Stores keep them as given, in order; none (nil or empty) reads back
	// as nil.
	Transports []string
	// UserVerified is uvInitialized: the registration verified the user.
	UserVerified bool
	// BackupEligible (BE) says the passkey may be synced; it never
	// changes. BackupState (BS) says it is synced now; it may change.
	BackupEligible bool
	BackupState    bool
	CreatedAt      time.Time
	// LastUsedAt is nil until the first sign-in with it.
	LastUsedAt *time.Time
}

// PasskeyStore keeps passkeys. It is durable.
type PasskeyStore interface {
	// AddPasskey inserts p. A credential ID any user has already returns
	// ErrPasskeyExists; an unknown p.UserID returns ErrNotFound.
	AddPasskey(ctx context.Context, p *Passkey) error
	// Passkeys returns the user's passkeys, oldest first (by CreatedAt,
	// then by ID byte-wise); none, as an empty list, for an unknown user.
	Passkeys(ctx context.Context, userID string) ([]Passkey, error)
	// PasskeyByID returns the passkey with credential ID id, whoever's it is.
	PasskeyByID(ctx context.Context, id []byte) (*Passkey, error)
	// UsePasskey records a sign-in with the passkey: its new signature
	// counter and backup state, and when. It returns false (and changes
	// nothing) when the stored counter is not below signCount while either
	// is not zero: of two concurrent uses of one counter value, one wins,
	// and a counter that goes backwards (a cloned authenticator) is
	// refused.
	UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) (bool, error)
	// RenamePasskey sets the name of the user's passkey id.
	RenamePasskey(ctx context.Context, userID string, id []byte, name string) error
	// DeletePasskey removes the user's passkey id. Another user's passkey,
	// or none, returns ErrNotFound.
	DeletePasskey(ctx context.Context, userID string, id []byte) error
}

// ErrPasskeyExists is returned by AddPasskey for a credential ID that is
// stored already.
var ErrPasskeyExists = &Error{Kind: KindInvalidRequest, Message: "This passkey is registered already."}

// Ceremony purposes: what a WebAuthn challenge may finish.
const (
	CeremonyRegister = "register"
	CeremonyLogin    = "login"
	// CeremonyMFA is a passkey as the second step of a sign-in; its
	// ceremony names the MFA token it belongs to.
	CeremonyMFA = "mfa"
	// CeremonySignUp registers the first passkey of an account that does
	// not exist yet; its Data holds the new account's ID and email beside
	// the relying party's data (the account is stored when it finishes,
	// so UserID, which names a stored user, is empty).
	CeremonySignUp = "signup"
)

// Ceremony is the server side of one WebAuthn ceremony: the challenge and
// what the relying party needs to finish it. It is used once, within
// minutes, for its purpose only.
type Ceremony struct {
	// ID is the challenge_id the client sends back (random, opaque).
	ID      string
	Purpose string
	// UserID is the account the ceremony is for: the registering user, the
	// user of an MFA token, or the account an email named ("" for a
	// usernameless sign-in, or an email with no account).
	UserID string
	// MFATokenID binds a CeremonyMFA to its MFA token.
	MFATokenID string
	// Data is the relying party's session data (the challenge, the
	// credentials allowed, the user verification asked for), opaque here.
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CeremonyStore keeps WebAuthn ceremonies. It is short-lived: a ceremony
// dies within minutes, so a shared cache may keep them.
type CeremonyStore interface {
	// PutCeremony inserts c. A store that keeps users too returns
	// ErrNotFound for a c.UserID it does not have, and its DeleteUser
	// removes the user's ceremonies.
	PutCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony returns the ceremony with id and purpose and removes it,
	// atomically: of concurrent takes one gets it. One that is unknown, of
	// another purpose, or expired at now returns ErrNotFound (an expired
	// or mismatched one is removed all the same).
	TakeCeremony(ctx context.Context, id, purpose string, now time.Time) (*Ceremony, error)
}

// IDString returns the form of the passkey's ID that URLs and views carry:
// base64url without padding, as WebAuthn's JSON carries credential IDs.
func (p *Passkey) IDString() string { return base64.RawURLEncoding.EncodeToString(p.ID) }

// ParsePasskeyID returns the ID that IDString turned into s; anything that
// is not such a form answers as an unknown passkey (not found).
func ParsePasskeyID(s string) ([]byte, error) {
	id, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(id) == 0 {
		return nil, ErrNoSuchPasskey
	}
	return id, nil
}
