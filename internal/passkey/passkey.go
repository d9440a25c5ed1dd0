// Package passkey is Gatehouse's WebAuthn relying party: the one package
// that knows go-webauthn. It speaks the browser's JSON forms (the options
// it hands out, the responses it checks) and auth's types, so the flows
// never see the library: they keep the session data it returns in an
// auth.Ceremony (single use, bound to its purpose) and give it back to
// finish.
package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/auth"
)

// Timeout is what the options tell the browser a ceremony may take; it is
// the lifetime of the ceremony the caller stores.
const Timeout = 5 * time.Minute

var _ auth.RelyingParty = (*RelyingParty)(nil)

// The errors every failure wraps, so a caller maps them without reading
// the library's: a response that does not parse or verify is
// ErrInvalidResponse (400 for a registration, 401 for a sign-in), a
// credential that is not the account's (or not allowed) is
// ErrUnknownCredential, and session data that does not decode is
// ErrInvalidSession. Errors of the lookup passed to FinishLogin come back
// wrapped as they are (a store outage stays a server error).
var (
	// Each wraps the auth error the flows map (auth.RelyingParty), so
	// errors.Is finds either.
	ErrInvalidResponse   = fmt.Errorf("passkey: invalid response: %w", auth.ErrPasskeyInvalid)
	ErrUnknownCredential = fmt.Errorf("passkey: unknown credential: %w", auth.ErrPasskeyUnknown)
	ErrInvalidSession    = errors.New("passkey: invalid session data")
	// ErrCounterRegressed is a signature counter that did not increase
	// while the stored or the asserted one is not zero: a cloned
	// authenticator, or a replay. The caller refuses the sign-in and
	// audits it.
	ErrCounterRegressed = fmt.Errorf("passkey: signature counter did not increase: %w", auth.ErrPasskeyCounter)
)

// RelyingParty checks passkey registrations and sign-ins for one RP ID and
// its origins. It is safe for concurrent use.
type RelyingParty struct {
	w *webauthn.WebAuthn
}

// New returns the relying party of rpID, shown to users as displayName,
// accepting responses from origins. Each origin is an https origin whose
// host is rpID or a subdomain of it, http://localhost[:port] when rpID is
// "localhost", or an app's origin (android:apk-key-hash:…). rpID must be a
// domain (not an IP address) that a browser would accept for those
// origins. The error names what is wrong.
func New(rpID, displayName string, origins []string) (*RelyingParty, error) {
	if err := CheckRPID(rpID); err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	if strings.TrimSpace(displayName) == "" {
		return nil, errors.New("passkey: the relying party needs a display name")
	}
	if len(origins) == 0 {
		return nil, errors.New("passkey: the relying party needs at least one origin")
	}
	var web, opaque []string
	for _, o := range origins {
		if err := CheckOrigin(rpID, o); err != nil {
			return nil, fmt.Errorf("passkey: %w", err)
		}
		if protocol.IsOpaqueOrigin(o) {
			opaque = append(opaque, o)
		} else {
			web = append(web, o)
		}
	}
	if len(web) == 0 {
		return nil, errors.New("passkey: the relying party needs at least one http(s) origin")
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:            rpID,
		RPDisplayName:   displayName,
		RPOrigins:       web,
		RPOpaqueOrigins: opaque,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{w: w}, nil
}

// RPID returns the relying party's ID.
func (rp *RelyingParty) RPID() string { return rp.w.Config.RPID }

// CheckRPID reports whether id can be an RP ID: a domain name of two
// labels or more (lower case, no scheme, port or path; go-webauthn
// refuses one label, "com" or "intranet"), not an IP address, or
// "localhost". A multi-label public suffix (co.uk) passes here and is
// refused by the browser at the first ceremony.
func CheckRPID(id string) error {
	if id == "" {
		return errors.New("the relying party ID is empty")
	}
	if net.ParseIP(strings.Trim(id, "[]")) != nil {
		return fmt.Errorf("the relying party ID %q is an IP address; it must be a domain name", id)
	}
	if id != strings.ToLower(id) || strings.ContainsAny(id, ":/?#@ ") || strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") {
		return fmt.Errorf("the relying party ID %q is not a lower-case domain name such as example.com", id)
	}
	if err := protocol.ValidateRPID(id); err != nil {
		return fmt.Errorf("the relying party ID %q is not a domain name: %w", id, err)
	}
	return nil
}

// CheckOrigin reports whether origin may be an origin of rpID (see New).
func CheckOrigin(rpID, origin string) error {
	if protocol.IsOpaqueOrigin(origin) {
		if !protocol.IsKnownOpaqueOrigin(origin) {
			return fmt.Errorf("origin %q is neither an http(s) origin nor an app origin such as android:apk-key-hash:…", origin)
		}
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("origin %q is not an origin such as https://example.com", origin)
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if host != "localhost" || rpID != "localhost" {
			return fmt.Errorf("origin %q is plain http: browsers allow passkeys over http only on localhost (with the relying party ID localhost)", origin)
		}
	default:
		return fmt.Errorf("origin %q is not an https origin", origin)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("origin %q: its host %s is neither the relying party ID %s nor a subdomain of it", origin, host, rpID)
	}
	return nil
}

// user is an auth.User and its passkeys as go-webauthn wants them.
type user struct {
	id, name, display string
	creds             []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.display }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newUser names the account by its address (what a passkey picker lists
// to tell accounts apart) and shows the person's name beside it when the
// profile has one.
func newUser(u auth.User, passkeys []auth.Passkey) *user {
	name := u.Email
	if name == "" {
		name = u.Phone
	}
	display := u.Name
	if display == "" {
		display = name
	}
	out := &user{id: u.ID, name: name, display: display, creds: make([]webauthn.Credential, len(passkeys))}
	for i, p := range passkeys {
		out.creds[i] = credential(p)
	}
	return out
}

// credential is p as the library's credential record.
func credential(p auth.Passkey) webauthn.Credential {
	var flags protocol.AuthenticatorFlags
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                p.ID,
		PublicKey:         p.PublicKey,
		AttestationFormat: p.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator:     webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// BeginRegistration starts adding a passkey for u: a discoverable
// credential, user verification preferred, attestation none, the
// existing passkeys excluded, the user handle u.ID. It returns the
// browser's PublicKeyCredentialCreationOptionsJSON and the session data
// to keep for FinishRegistration.
func (rp *RelyingParty) BeginRegistration(u auth.User, existing []auth.Passkey) (optionsJSON, data []byte, err error) {
	return rp.beginRegistration(u, existing, protocol.VerificationPreferred)
}

// BeginSignUp starts registering the first passkey of an account that does
// not exist yet, u (its ID is the user handle): as BeginRegistration, but
// user verification required, since the passkey will be the account's
// only credential. FinishRegistration then refuses a response whose
// authenticator did not verify the user.
func (rp *RelyingParty) BeginSignUp(u auth.User) (optionsJSON, data []byte, err error) {
	return rp.beginRegistration(u, nil, protocol.VerificationRequired)
}

func (rp *RelyingParty) beginRegistration(u auth.User, existing []auth.Passkey, uv protocol.UserVerificationRequirement) (optionsJSON, data []byte, err error) {
	wu := newUser(u, existing)
	exclude := make([]protocol.CredentialDescriptor, len(wu.creds))
	for i := range wu.creds {
		exclude[i] = wu.creds[i].Descriptor()
	}
	creation, session, err := rp.w.BeginRegistration(wu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: uv}),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return encode(creation.Response, session)
}

// FinishRegistration checks the browser's RegistrationResponseJSON
// against the session data of BeginRegistration for u and returns the new
// passkey. Its Name, CreatedAt and LastUsedAt are left to the caller.
func (rp *RelyingParty) FinishRegistration(u auth.User, data, responseJSON []byte) (*auth.Passkey, error) {
	session, err := decodeSession(data)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(responseJSON)
	if err != nil {
		return nil, invalid(err)
	}
	c, err := rp.w.CreateCredential(newUser(u, nil), *session, parsed)
	if err != nil {
		return nil, invalid(err)
	}
	transports := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		transports[i] = string(t)
	}
	return &auth.Passkey{
		ID:                c.ID,
		UserID:            u.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationFormat,
		AAGUID:            c.Authenticator.AAGUID,
		SignCount:         c.Authenticator.SignCount,
		Transports:        transports,
		UserVerified:      c.Flags.UserVerified,
		BackupEligible:    c.Flags.BackupEligible,
		BackupState:       c.Flags.BackupState,
	}, nil
}

// BeginLogin starts a sign-in with user verification required. With
// allowed passkeys (all of one user) the options list them; with none
// they are usernameless: empty allowCredentials, and the authenticator's
// user handle will name the account. It returns the browser's
// PublicKeyCredentialRequestOptionsJSON and the session data to keep for
// FinishLogin.
func (rp *RelyingParty) BeginLogin(allowed []auth.Passkey) (optionsJSON, data []byte, err error) {
	return rp.beginLogin(allowed, protocol.VerificationRequired)
}

// BeginSecondFactor starts a passkey as the second step of a sign-in, for
// the allowed passkeys (all of one user, at least one), with user
// verification preferred: a first factor is proven already, so possession
// of the passkey is the factor, and FinishLogin does not refuse an
// assertion without user verification.
func (rp *RelyingParty) BeginSecondFactor(allowed []auth.Passkey) (optionsJSON, data []byte, err error) {
	if len(allowed) == 0 {
		return nil, nil, errors.New("passkey: begin second factor: no passkey to allow")
	}
	return rp.beginLogin(allowed, protocol.VerificationPreferred)
}

func (rp *RelyingParty) beginLogin(allowed []auth.Passkey, uvr protocol.UserVerificationRequirement) (optionsJSON, data []byte, err error) {
	uv := webauthn.WithUserVerification(uvr)
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
	)
	if len(allowed) == 0 {
		assertion, session, err = rp.w.BeginDiscoverableLogin(uv)
	} else {
		for _, p := range allowed[1:] {
			if p.UserID != allowed[0].UserID {
				return nil, nil, errors.New("passkey: begin login: the allowed passkeys belong to more than one user")
			}
		}
		assertion, session, err = rp.w.BeginLogin(newUser(auth.User{ID: allowed[0].UserID}, allowed), uv)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return encode(assertion.Response, session)
}

// Lookup returns the account a sign-in names and its passkeys: the
// account whose user handle is userHandle (the user handle the
// authenticator returned, for a usernameless sign-in; the account the
// allowed passkeys belong to otherwise). credentialID is the credential
// presented. An unknown account is auth.ErrNotFound.
//
// It is an alias, so that *RelyingParty satisfies auth.RelyingParty.
type Lookup = func(userHandle, credentialID []byte) (auth.User, []auth.Passkey, error)

// FinishLogin checks the browser's AuthenticationResponseJSON against the
// session data of BeginLogin. It returns the account, the passkey used
// with its new signature counter and backup state (a changed backup state
// is accepted: synced passkeys move), and whether the authenticator
// verified the user. A counter that did not increase returns
// ErrCounterRegressed together with the account and the passkey as
// asserted, for the caller's audit.
func (rp *RelyingParty) FinishLogin(data, responseJSON []byte, lookup Lookup) (auth.User, auth.Passkey, bool, error) {
	var none auth.Passkey
	session, err := decodeSession(data)
	if err != nil {
		return auth.User{}, none, false, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(responseJSON)
	if err != nil {
		return auth.User{}, none, false, invalid(err)
	}
	handle := session.UserID
	if len(handle) == 0 {
		handle = parsed.Response.UserHandle
		if len(handle) == 0 {
			return auth.User{}, none, false, fmt.Errorf("%w: a usernameless sign-in without a user handle", ErrInvalidResponse)
		}
	}
	u, passkeys, err := lookup(handle, parsed.RawID)
	if errors.Is(err, auth.ErrNotFound) {
		return auth.User{}, none, false, fmt.Errorf("%w: no account for the user handle", ErrUnknownCredential)
	}
	if err != nil {
		return auth.User{}, none, false, fmt.Errorf("passkey: lookup: %w", err)
	}
	if u.ID != string(handle) {
		return auth.User{}, none, false, fmt.Errorf("%w: the account found is not the user handle's", ErrUnknownCredential)
	}
	stored := -1
	for i := range passkeys {
		if bytes.Equal(passkeys[i].ID, parsed.RawID) {
			stored = i
			break
		}
	}
	if stored < 0 {
		return auth.User{}, none, false, fmt.Errorf("%w: the credential is not one of the account's passkeys", ErrUnknownCredential)
	}
	if len(session.AllowedCredentialIDs) > 0 && !containsID(session.AllowedCredentialIDs, parsed.RawID) {
		return auth.User{}, none, false, fmt.Errorf("%w: the credential is not among those the sign-in allowed", ErrUnknownCredential)
	}
	wu := newUser(u, passkeys)
	if len(session.UserID) == 0 {
		_, _, err = rp.w.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, *session, parsed)
	} else {
		_, err = rp.w.ValidateLogin(wu, *session, parsed)
	}
	if err != nil {
		return auth.User{}, none, false, invalid(err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	used := passkeys[stored]
	before, after := used.SignCount, parsed.Response.AuthenticatorData.Counter
	used.SignCount, used.BackupState = after, flags.HasBackupState()
	if (before != 0 || after != 0) && after <= before {
		return u, used, flags.HasUserVerified(), fmt.Errorf("%w: stored %d, asserted %d", ErrCounterRegressed, before, after)
	}
	return u, used, flags.HasUserVerified(), nil
}

func containsID(ids [][]byte, id []byte) bool {
	for _, x := range ids {
		if bytes.Equal(x, id) {
			return true
		}
	}
	return false
}

// encode returns the options' JSON and the session data's.
func encode(options any, session *webauthn.SessionData) (optionsJSON, data []byte, err error) {
	if optionsJSON, err = json.Marshal(options); err != nil {
		return nil, nil, fmt.Errorf("passkey: options: %w", err)
	}
	if data, err = json.Marshal(session); err != nil {
		return nil, nil, fmt.Errorf("passkey: session data: %w", err)
	}
	return optionsJSON, data, nil
}

func decodeSession(data []byte) (*webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(data, &s); err != nil || s.Challenge == "" {
		return nil, ErrInvalidSession
	}
	return &s, nil
}

// invalid wraps a library error as ErrInvalidResponse with what the
// library says went wrong (its details are safe to log, not to show).
func invalid(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg := pe.Details
		if pe.DevInfo != "" {
			msg += ": " + pe.DevInfo
		}
		return fmt.Errorf("%w: %s", ErrInvalidResponse, msg)
	}
	return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
}
