package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/opaque"
)

// The passkey flows: adding, listing, renaming and removing passkeys, and
// signing in with one. The WebAuthn checks themselves are the
// RelyingParty's (internal/passkey, on go-webauthn); the flows keep its
// session data in a Ceremony, single use and bound to its purpose and
// user, and decide what a result means for the account.

// RelyingParty checks what a browser sends in WebAuthn ceremonies. Its
// options and responses are the browser's JSON forms; data is the session
// data to keep until the ceremony finishes, opaque to the flows.
// *passkey.RelyingParty satisfies it.
//
// Errors: every failure to verify a response wraps ErrPasskeyInvalid, a
// credential that is not the account's (or not allowed) wraps
// ErrPasskeyUnknown, and a signature counter that went backwards wraps
// ErrPasskeyCounter (FinishLogin then returns the account and the passkey
// as asserted, for the audit). Any other error is the server's.
type RelyingParty interface {
	// BeginRegistration starts adding a passkey for u, the existing ones
	// excluded.
	BeginRegistration(u User, existing []Passkey) (optionsJSON, data []byte, err error)
	// FinishRegistration checks a RegistrationResponseJSON and returns the
	// new passkey (Name, CreatedAt and LastUsedAt unset).
	FinishRegistration(u User, data, responseJSON []byte) (*Passkey, error)
	// BeginLogin starts a sign-in with user verification required, for
	// the allowed passkeys (all of one user), or usernameless for none.
	BeginLogin(allowed []Passkey) (optionsJSON, data []byte, err error)
	// BeginSignUp starts registering the first passkey of an account not
	// stored yet (u.ID is the user handle), with user verification
	// required: the passkey will be the account's only credential.
	BeginSignUp(u User) (optionsJSON, data []byte, err error)
	// BeginSecondFactor starts a sign-in's second step for the allowed
	// passkeys (all of one user, at least one), user verification
	// preferred: possession of the passkey is the factor.
	BeginSecondFactor(allowed []Passkey) (optionsJSON, data []byte, err error)
	// FinishLogin checks an AuthenticationResponseJSON; lookup returns the
	// account of a user handle and its passkeys (ErrNotFound when none).
	// It returns the account, the passkey with its new counter and backup
	// state, and whether the authenticator verified the user.
	FinishLogin(data, responseJSON []byte, lookup func(userHandle, credentialID []byte) (User, []Passkey, error)) (User, Passkey, bool, error)
}

// The RelyingParty's failures, as the flows map them.
var (
	ErrPasskeyInvalid = errors.New("auth: the passkey response is not valid")
	ErrPasskeyUnknown = errors.New("auth: the passkey is not known")
	ErrPasskeyCounter = errors.New("auth: the passkey's signature counter went backwards")
)

// Audit kinds of passkeys.
const (
	AuditPasskeyAdded            = "passkey_added"
	AuditPasskeyRemoved          = "passkey_removed"
	AuditPasskeyCounterRegressed = "passkey_counter_regressed"
)

// KindInvalidCredential refuses a passkey registration whose response does
// not verify (400); a sign-in's failures are invalid_credentials (401).
const KindInvalidCredential Kind = "invalid_credential"

// KindConflict refuses a change that would leave the account in a state it
// must not be in, such as with no way to sign in (409).
const KindConflict Kind = "conflict"

// ceremonyTTL is how long a WebAuthn challenge lives (the options' timeout).
const ceremonyTTL = 5 * time.Minute

// ErrNoSuchPasskey answers a passkey ID the signed-in user has not: none,
// another user's, or one that is not an ID at all (ParsePasskeyID).
var ErrNoSuchPasskey = &Error{Kind: KindNotFound, Message: "No such passkey."}

// passkeyNameMax bounds a passkey's name, in characters.
const passkeyNameMax = 64

var (
	errPasskeysOff     = &Error{Kind: KindUnavailable, Message: "Passkeys are not available on this server."}
	errBadRegistration = &Error{Kind: KindInvalidCredential, Message: "The passkey could not be verified; try again."}
	errPasskeySignIn   = &Error{Kind: KindInvalidCredentials, Message: "The passkey sign-in failed or has expired; try again."}
	errLastWayIn       = &Error{Kind: KindConflict, Message: "This passkey is the only way to sign in to this account; add a password or another passkey first."}
	errPasskeyNoVerify = &Error{Kind: KindInvalidCredentials, Message: "The authenticator did not verify you (no PIN, fingerprint or face); try again."}
)

// passkeysOn returns errPasskeysOff unless the passkey ports are wired.
func (s *Service) passkeysOn() error {
	if s.rp == nil || s.passkeys == nil || s.ceremonies == nil {
		return errPasskeysOff
	}
	return nil
}

// PasskeysOn reports whether the passkey flows are wired.
func (s *Service) PasskeysOn() bool { return s.passkeysOn() == nil }

// putCeremony stores a new ceremony (c's ID and times filled in here) and
// returns its challenge_id.
func (s *Service) putCeremony(ctx context.Context, c Ceremony) (string, error) {
	id, _, err := opaque.New()
	if err != nil {
		return "", err
	}
	now := s.now()
	c.ID, c.CreatedAt, c.ExpiresAt = id, now, now.Add(ceremonyTTL)
	if err := s.ceremonies.PutCeremony(ctx, &c); err != nil {
		return "", storeErr("put ceremony", err)
	}
	return id, nil
}

// takeCeremony uses up the ceremony id of purpose; a missing, used,
// expired or mismatched one is refused.
func (s *Service) takeCeremony(ctx context.Context, id, purpose string, refused *Error) (*Ceremony, error) {
	if id == "" || len(id) > 128 {
		return nil, refused
	}
	c, err := s.ceremonies.TakeCeremony(ctx, id, purpose, s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, refused
	} else if err != nil {
		return nil, storeErr("take ceremony", err)
	}
	return c, nil
}

// BeginPasskeyRegistration starts adding a passkey for the signed-in user
// (aal2 when the user has a second factor on). It returns the challenge_id
// to finish with and the PublicKeyCredentialCreationOptionsJSON.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (challengeID string, optionsJSON []byte, err error) {
	if err := s.passkeysOn(); err != nil {
		return "", nil, err
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return "", nil, err
	}
	existing, err := s.passkeys.Passkeys(ctx, p.User.ID)
	if err != nil {
		return "", nil, storeErr("list passkeys", err)
	}
	optionsJSON, data, err := s.rp.BeginRegistration(p.User, existing)
	if err != nil {
		return "", nil, err
	}
	id, err := s.putCeremony(ctx, Ceremony{Purpose: CeremonyRegister, UserID: p.User.ID, Data: data})
	if err != nil {
		return "", nil, err
	}
	return id, optionsJSON, nil
}

// FinishPasskeyRegistration checks the browser's RegistrationResponseJSON
// against the user's registration challenge (used up, whatever the
// outcome) and stores the passkey, named name, else after its
// authenticator's model, else "Passkey".
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, challengeID, name string, credentialJSON []byte, c Client) (*Passkey, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	// Checked again here: the ceremony is bound to the user, not to the
	// session that began it.
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return nil, err
	}
	name, ferr := passkeyName(name, true)
	if ferr != nil {
		return nil, ferr
	}
	if len(credentialJSON) == 0 {
		return nil, fieldError("credential", "is required")
	}
	cer, err := s.takeCeremony(ctx, challengeID, CeremonyRegister, errBadRegistration)
	if err != nil {
		return nil, err
	}
	if cer.UserID != p.User.ID {
		return nil, errBadRegistration
	}
	pk, err := s.rp.FinishRegistration(p.User, cer.Data, credentialJSON)
	if errors.Is(err, ErrPasskeyInvalid) || errors.Is(err, ErrPasskeyUnknown) {
		return nil, &Error{Kind: KindInvalidCredential, Message: errBadRegistration.Message, Cause: err}
	} else if err != nil {
		return nil, err
	}
	pk.UserID, pk.Name, pk.CreatedAt = p.User.ID, s.namePasskey(name, pk.AAGUID), s.now()
	if err := s.passkeys.AddPasskey(ctx, pk); err != nil {
		if errors.Is(err, ErrPasskeyExists) {
			return nil, ErrPasskeyExists
		}
		return nil, storeErr("add passkey", err)
	}
	s.audit(ctx, p.User.ID, AuditPasskeyAdded, c, pk.Name)
	return pk, nil
}

// namePasskey returns the name a new passkey gets: the one given, else
// its authenticator's provider (from the AAGUID list), else "Passkey".
func (s *Service) namePasskey(given string, aaguid []byte) string {
	if given == "" && s.namer != nil {
		given = s.namer(aaguid)
	}
	if given == "" {
		return "Passkey"
	}
	return given
}

// passkeyName trims a name and checks it; empty is allowed when optional.
func passkeyName(name string, optional bool) (string, *Error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" && !optional:
		return "", fieldError("name", "is required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > passkeyNameMax:
		return "", fieldError("name", fmt.Sprintf("must be at most %d characters", passkeyNameMax))
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fieldError("name", "must not contain control characters")
	}
	return name, nil
}

// BeginPasskeyLogin starts a passkey sign-in and returns its challenge_id
// and PublicKeyCredentialRequestOptionsJSON. Without email it is
// usernameless (empty allowCredentials: the authenticator's user handle
// names the account). With email, allowCredentials lists that account's
// passkeys; an unknown email, or an account with no passkey, gets one
// decoy credential ID derived from the email with the server's code key
// (the same on every call and node), so the answer has the same shape
// and does not tell whether the account exists or has passkeys. (What it
// can tell is a count or transports that differ from an account's real
// ones, to someone who knows them already.) A decoy never signs in.
func (s *Service) BeginPasskeyLogin(ctx context.Context, email string) (challengeID string, optionsJSON []byte, err error) {
	if err := s.passkeysOn(); err != nil {
		return "", nil, err
	}
	if err := s.allowCeremony(ctx); err != nil {
		return "", nil, err
	}
	var (
		allowed []Passkey
		userID  string
	)
	if strings.TrimSpace(email) != "" {
		addr, ferr := emailField("email", email)
		if ferr != nil {
			return "", nil, ferr
		}
		u, err := s.store.UserByEmail(ctx, addr)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return "", nil, storeErr("find user", err)
		default:
			if allowed, err = s.passkeys.Passkeys(ctx, u.ID); err != nil {
				return "", nil, storeErr("list passkeys", err)
			}
			if len(allowed) > 0 {
				userID = u.ID
			}
		}
		if len(allowed) == 0 {
			allowed = []Passkey{s.decoyPasskey(addr)}
		}
	}
	optionsJSON, data, err := s.rp.BeginLogin(allowed)
	if err != nil {
		return "", nil, err
	}
	id, err := s.putCeremony(ctx, Ceremony{Purpose: CeremonyLogin, UserID: userID, Data: data})
	if err != nil {
		return "", nil, err
	}
	return id, optionsJSON, nil
}

// decoyPasskey is the credential an unknown email's sign-in allows: an ID
// and user handle no account has (user IDs are UUIDs, not 64 hex digits).
func (s *Service) decoyPasskey(email string) Passkey {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte("passkey-decoy\x00" + email))
	sum := m.Sum(nil)
	return Passkey{ID: sum[:16], UserID: hex.EncodeToString(sum), Transports: []string{"hybrid", "internal"}}
}

// SignInPasskey checks the browser's AuthenticationResponseJSON against a
// sign-in challenge (used up, whatever the outcome). A passkey whose
// authenticator verified the user proves two factors at once (something
// held, and a PIN or biometric), so the proof's methods are ["webauthn"]
// and Finish makes an aal2 session without a second step. Every failure
// is invalid_credentials and counts against the client's wrong-code limit,
// so a flood of forged assertions is cut short; a counter that went
// backwards is refused and audited.
func (s *Service) SignInPasskey(ctx context.Context, challengeID string, credentialJSON []byte) (*Proof, error) {
	const flow = "passkey"
	p, err := s.signInPasskey(ctx, challengeID, credentialJSON)
	if err != nil {
		s.observe(flow, err)
	}
	return p, err
}

func (s *Service) signInPasskey(ctx context.Context, challengeID string, credentialJSON []byte) (*Proof, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	if len(credentialJSON) == 0 {
		return nil, fieldError("credential", "is required")
	}
	client := ClientFrom(ctx)
	g := guard{client: client}
	giveBack, err := s.take(ctx, g)
	if err != nil {
		return nil, err
	}
	cer, err := s.takeCeremony(ctx, challengeID, CeremonyLogin, errPasskeySignIn)
	if err != nil {
		return nil, err
	}
	lookup := func(handle, _ []byte) (User, []Passkey, error) {
		if cer.UserID != "" && string(handle) != cer.UserID {
			return User{}, nil, ErrNotFound
		}
		// A usernameless sign-in's user handle is whatever the client
		// sent: one that cannot be a user ID (at most 64 bytes, WebAuthn
		// §5.4.3, of printable UTF-8) is not looked up, so no store sees
		// bytes it would choke on.
		if !validID(string(handle)) {
			return User{}, nil, ErrNotFound
		}
		u, err := s.store.UserByID(ctx, string(handle))
		if err != nil {
			return User{}, nil, err
		}
		list, err := s.passkeys.Passkeys(ctx, u.ID)
		if err != nil {
			return User{}, nil, err
		}
		return *u, list, nil
	}
	u, used, verified, err := s.rp.FinishLogin(cer.Data, credentialJSON, lookup)
	switch {
	case errors.Is(err, ErrPasskeyCounter):
		s.counterRegressed(ctx, u.ID, used, client)
		return nil, &Error{Kind: KindInvalidCredentials, Message: errPasskeySignIn.Message, Cause: err}
	case errors.Is(err, ErrPasskeyInvalid) || errors.Is(err, ErrPasskeyUnknown):
		return nil, &Error{Kind: KindInvalidCredentials, Message: errPasskeySignIn.Message, Cause: err}
	case err != nil:
		return nil, storeErr("finish passkey sign-in", err)
	}
	if !verified {
		// BeginLogin asked for user verification; an authenticator that
		// did not do it proved possession only.
		return nil, errPasskeyNoVerify
	}
	if ok, err := s.usePasskey(ctx, u.ID, used, client); err != nil {
		return nil, err
	} else if !ok {
		return nil, errPasskeySignIn
	}
	giveBack(ctx)
	return &Proof{user: &u, methods: []string{MethodWebAuthn}, flow: "passkey", passkey: used.ID}, nil
}

// counterRegressed audits a use of pk whose signature counter did not go
// forwards: a cloned authenticator, or a replayed assertion.
func (s *Service) counterRegressed(ctx context.Context, userID string, pk Passkey, c Client) {
	s.audit(ctx, userID, AuditPasskeyCounterRegressed, c, fmt.Sprintf("passkey %q", pk.Name))
}

// usePasskey records a verified use of pk (its new counter and backup
// state). It returns false, audited, when another use took this counter
// value first: a replay.
func (s *Service) usePasskey(ctx context.Context, userID string, pk Passkey, c Client) (bool, error) {
	ok, err := s.passkeys.UsePasskey(ctx, pk.ID, pk.SignCount, pk.BackupState, s.now())
	if err != nil {
		return false, storeErr("use passkey", err)
	}
	if !ok {
		s.counterRegressed(ctx, userID, pk, c)
	}
	return ok, nil
}

// Passkeys returns the signed-in user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p *Principal) ([]Passkey, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	list, err := s.passkeys.Passkeys(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("list passkeys", err)
	}
	return list, nil
}

// AdminPasskeys returns a user's passkeys, oldest first (none when
// passkeys are off), for the admin page as AdminIdentities does for
// linked identities. An unknown user is not found.
func (s *Service) AdminPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	if _, err := s.userByID(ctx, userID); err != nil {
		return nil, err
	}
	if s.passkeys == nil {
		return []Passkey{}, nil
	}
	list, err := s.passkeys.Passkeys(ctx, userID)
	if err != nil {
		return nil, storeErr("list passkeys", err)
	}
	return list, nil
}

// RenamePasskey renames the signed-in user's passkey id.
func (s *Service) RenamePasskey(ctx context.Context, p *Principal, id []byte, name string) error {
	if err := s.passkeysOn(); err != nil {
		return err
	}
	name, ferr := passkeyName(name, false)
	if ferr != nil {
		return ferr
	}
	if _, err := s.ownPasskey(ctx, p.User.ID, id); err != nil {
		return err
	}
	if err := s.passkeys.RenamePasskey(ctx, p.User.ID, id, name); errors.Is(err, ErrNotFound) {
		return ErrNoSuchPasskey
	} else if err != nil {
		return storeErr("rename passkey", err)
	}
	return nil
}

// RemovePasskey removes the signed-in user's passkey id: aal2 when the user
// has a second factor on, and never the last way to sign in (no password,
// no proven email or phone, no other passkey, no linked identity), which
// is a conflict.
func (s *Service) RemovePasskey(ctx context.Context, p *Principal, id []byte, c Client) error {
	if err := s.passkeysOn(); err != nil {
		return err
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return err
	}
	list, err := s.passkeys.Passkeys(ctx, p.User.ID)
	if err != nil {
		return storeErr("list passkeys", err)
	}
	var found *Passkey
	for i := range list {
		if bytes.Equal(list[i].ID, id) {
			found = &list[i]
		}
	}
	if found == nil {
		return ErrNoSuchPasskey
	}
	if last, err := s.lastWayIn(ctx, p.User.ID, id, ""); err != nil {
		return err
	} else if last {
		return errLastWayIn
	}
	if err := s.passkeys.DeletePasskey(ctx, p.User.ID, id); errors.Is(err, ErrNotFound) {
		return ErrNoSuchPasskey
	} else if err != nil {
		return storeErr("remove passkey", err)
	}
	s.audit(ctx, p.User.ID, AuditPasskeyRemoved, c, found.Name)
	// A passkey is a second factor: as when RemoveFactor turns off the
	// last one, the backup codes that stood in for it go with it.
	if s.factors != nil {
		kinds, err := s.onFactors(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(kinds, func(k string) bool { return k != FactorBackupCode }) {
			if err := s.factors.ReplaceBackupCodes(ctx, p.User.ID, nil); err != nil {
				return storeErr("delete backup codes", err)
			}
		}
	}
	return nil
}

// ownPasskey returns the user's passkey id, or not found.
func (s *Service) ownPasskey(ctx context.Context, userID string, id []byte) (*Passkey, error) {
	pk, err := s.passkeys.PasskeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoSuchPasskey
	} else if err != nil {
		return nil, storeErr("find passkey", err)
	}
	if pk.UserID != userID {
		return nil, ErrNoSuchPasskey
	}
	return pk, nil
}
