package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/tracing"
)

// Sign-in with another provider (OAuth 2.0 / OpenID Connect): what
// happens once a provider has said who the person is. How it is asked
// (the authorization code flow, PKCE, the ID token's checks) is another
// package's; it hands the flows a ProviderIdentity, and the flows decide
// which account that lands in (docs/contract.md, "Which account a
// provider sign-in lands in").

// MethodProvider is the AMR value of a sign-in with another provider. RFC
// 8176 has none for a federated sign-in; "oauth" is what GoTrue uses.
// Which provider it was is in the audit and the identity's last use, not
// in the amr, so an app's checks do not depend on provider names.
const MethodProvider = "oauth"

// Audit kinds of provider identities; the detail names the provider.
const (
	AuditIdentityLinked   = "identity_linked"
	AuditIdentityUnlinked = "identity_unlinked"
	// AuditProviderSignIn records each sign-in a provider vouched for (the
	// first factor: a second step may follow), so an owner or admin can
	// see which provider account let someone in and when.
	AuditProviderSignIn = "provider_sign_in"
)

// KindReauthenticationRequired refuses a change that needs a recent
// sign-in (linking another provider) from an older session: sign in
// again, then retry (403; the session itself is still valid).
const KindReauthenticationRequired Kind = "reauthentication_required"

// linkMaxSessionAge bounds how old a session may be to link a provider:
// whoever finds a device signed in hours ago must not add their own way
// into the account.
const linkMaxSessionAge = 10 * time.Minute

// Bounds of what a provider says, in bytes: a subject is at most 255
// ASCII characters (OpenID Connect Core §2), and nothing a provider sends
// is stored unbounded.
const (
	providerNameMax    = 64
	providerSubjectMax = 255
)

// ProviderIdentity is what a provider asserted about the person signing
// in, after its ID token (or user API) was verified.
type ProviderIdentity struct {
	Provider      string // configured name: "google", "github", "acme"...
	Subject       string // the provider's stable user ID (sub)
	Email         string // may be empty
	EmailVerified bool   // only when the provider vouches for it
	Name          string // profile name, may be empty
	// Label is how people know the provider ("Google"), for messages;
	// the configured name when empty.
	Label string
	// Tokens, when set, are the provider's tokens from this sign-in, kept
	// sealed on the identity (the provider's setting asks for them).
	// ForgetTokens drops any kept before (the setting is off). Neither
	// leaves what is kept as it is (an ID token from a native app, which
	// brings no tokens).
	Tokens       *ProviderTokens
	ForgetTokens bool
}

// label returns how the owner's message names the provider.
func (id ProviderIdentity) label() string {
	if id.Label != "" {
		return id.Label
	}
	return id.Provider
}

// LinkedIdentity is a provider identity linked to an account: signing in
// with it signs in to that account. Email, EmailVerified and Name are
// what the provider said at the last sign-in, to show; they decide
// nothing. The provider's tokens are kept apart, and only when asked
// (ProviderTokens).
type LinkedIdentity struct {
	ID            string
	UserID        string
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	CreatedAt     time.Time
	// LastUsedAt is nil until the first sign-in after the link.
	LastUsedAt *time.Time
	// HasTokens reports whether the provider's tokens are kept for it
	// (only when the provider's setting asks; see ProviderTokens).
	HasTokens bool
}

// IdentityStore keeps the identities linked to accounts. It is durable,
// and keeps them beside the users (a deleted user takes its identities
// along).
type IdentityStore interface {
	// AddIdentity inserts i (ID set by the caller). A (Provider, Subject)
	// linked already, to any account, returns ErrIdentityTaken; an unknown
	// i.UserID returns ErrNotFound. Of concurrent adds of one (Provider,
	// Subject), exactly one succeeds.
	AddIdentity(ctx context.Context, i *LinkedIdentity) error
	// IdentityBySubject returns the identity linked for provider and
	// subject, matched exactly, whoever's it is.
	IdentityBySubject(ctx context.Context, provider, subject string) (*LinkedIdentity, error)
	// Identities returns the user's identities, oldest first (by
	// CreatedAt, then ID); none, as an empty list, for an unknown user.
	Identities(ctx context.Context, userID string) ([]LinkedIdentity, error)
	// UseIdentity records a sign-in with identity id at at, and what the
	// provider said this time (email, its verified flag, name).
	UseIdentity(ctx context.Context, id, email string, emailVerified bool, name string, at time.Time) error
	// DeleteIdentity removes the user's identity id (and its tokens).
	// Another user's identity, or none, returns ErrNotFound.
	DeleteIdentity(ctx context.Context, userID, id string) error
	// SetIdentityTokens keeps sealed as identity id's provider tokens,
	// replacing any; nil forgets them. An unknown id returns ErrNotFound.
	// The value is opaque to the store (sealed by the caller); listing
	// identities never returns it, only HasTokens.
	SetIdentityTokens(ctx context.Context, id string, sealed []byte) error
	// IdentityTokens returns what SetIdentityTokens kept for the user's
	// identity id, nil when nothing is kept. Another user's identity, or
	// none, returns ErrNotFound.
	IdentityTokens(ctx context.Context, userID, id string) ([]byte, error)
}

// ErrIdentityTaken is returned by AddIdentity for a (provider, subject)
// linked already, and by LinkProvider for one linked to another account.
var ErrIdentityTaken = &Error{Kind: KindConflict, Message: "This sign-in is linked to another account; unlink it there first."}

// ErrLinkFirst names the refusal of a provider sign-in whose email, which
// the provider does not vouch for, is an account's: the surface says how
// to link it.
var ErrLinkFirst = errors.New("auth: an account has the provider's unverified email")

var (
	errProvidersOff = &Error{Kind: KindUnavailable, Message: "Sign-in with other providers is not available on this server."}
	errBadProvider  = &Error{Kind: KindInvalidRequest, Message: "The provider did not say who you are."}
	// errLinkFirst: anyone can open an account at a provider with any
	// email the provider does not check; landing in the account that has
	// it would hand that account over.
	errLinkFirst = &Error{Kind: KindConflict, Cause: ErrLinkFirst,
		Message: "An account has this email, and the provider does not vouch for it: sign in the usual way, then link it from your account page."}
	errProviderSignUpOff = &Error{Kind: KindForbidden, Message: "No account is linked to this sign-in, and this server does not create accounts this way."}
	errReauthenticate    = &Error{Kind: KindReauthenticationRequired, Message: "Sign in again to link another sign-in method: it needs a sign-in from the last 10 minutes."}
	errIdentityNotFound  = &Error{Kind: KindNotFound, Message: "No such linked sign-in."}
	errIdentityGone      = &Error{Kind: KindInvalidCredentials, Message: "The linked sign-in was removed while you were signing in; sign in again."}
	errLastWayInIdentity = &Error{Kind: KindConflict, Message: "This is the only way to sign in to this account; add a password, a passkey or another sign-in first."}
)

// identitiesOn returns errProvidersOff unless the identity store is wired.
func (s *Service) identitiesOn() error {
	if s.identities == nil {
		return errProvidersOff
	}
	return nil
}

// cleanIdentity checks what a provider said and normalises it: the
// provider and subject must be there (and bounded), the email is
// normalised as ours are and dropped when it is not an address (so it
// matches no account, and a new account has none), and the name is
// trimmed and bounded.
func cleanIdentity(id ProviderIdentity) (ProviderIdentity, error) {
	id.Provider = strings.TrimSpace(id.Provider)
	if id.Provider == "" || len(id.Provider) > providerNameMax || id.Subject == "" ||
		len(id.Subject) > providerSubjectMax || !utf8.ValidString(id.Subject) || strings.ContainsRune(id.Subject, 0) {
		return id, errBadProvider
	}
	if e, ok := NormalizeEmail(id.Email); ok {
		id.Email = e
	} else {
		id.Email, id.EmailVerified = "", false
	}
	id.Name = strings.TrimSpace(truncate(id.Name, 4*maxNameLength))
	if r := []rune(id.Name); len(r) > maxNameLength {
		id.Name = string(r[:maxNameLength])
	}
	return id, nil
}

// SignInProvider signs in the person a provider vouched for, and Finish
// ends the sign-in as for any first factor (the proof's methods are
// [MethodProvider], aal1; the second step follows when the account has a
// second factor on). The account is, in this order:
//
//  1. the one the identity is linked to, whatever the email says now: the
//     link decides, never the email, or a provider account whose email
//     changed to someone else's would sign in to theirs;
//  2. else, when the provider vouches for the email and an account has it,
//     that account, linked now: kept as it is when it proved the address,
//     else claimed first (claim: the provider's proof is a first proof of
//     the address). Its owner is told that a sign-in method was added;
//  3. else, when an account has the email the provider does not vouch
//     for, none: refused (errLinkFirst);
//  4. else a new account, when sign-up without a password is on: the
//     email as the provider said it (proven only if it vouches), the
//     profile's name, linked.
//
// Each sign-in records what the provider said on the identity.
func (s *Service) SignInProvider(ctx context.Context, id ProviderIdentity) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignInProvider")
	defer func() { end(err) }()
	const flow = "oauth"
	p, err := s.signInProvider(ctx, id)
	if err != nil {
		s.observe(flow, err)
		return nil, err
	}
	s.audit(ctx, p.user.ID, AuditProviderSignIn, ClientFrom(ctx), strings.TrimSpace(id.Provider))
	return p, nil
}

// providerRetries bounds how often a first sign-in starts again after a
// concurrent one linked the identity or took the email first; the second
// round finds what the other made.
const providerRetries = 3

func (s *Service) signInProvider(ctx context.Context, id ProviderIdentity) (*Proof, error) {
	if err := s.identitiesOn(); err != nil {
		return nil, err
	}
	id, err := cleanIdentity(id)
	if err != nil {
		return nil, err
	}
	for range providerRetries {
		linked, err := s.identities.IdentityBySubject(ctx, id.Provider, id.Subject)
		if err == nil {
			return s.signInLinked(ctx, linked, id)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, storeErr("find identity", err)
		}
		u, created, err := s.providerAccount(ctx, id)
		if errors.Is(err, errProviderRetry) {
			continue
		} else if err != nil {
			return nil, err
		}
		li, err := s.link(ctx, u, id)
		if errors.Is(err, ErrIdentityTaken) {
			// A concurrent first sign-in linked it a moment ago. To the
			// account this one made (found by its email): sign in there.
			// To another: the account this one made (if any) holds
			// nothing, and the next round signs in to the linked one.
			if created {
				again, gerr := s.identities.IdentityBySubject(ctx, id.Provider, id.Subject)
				if gerr == nil && again.UserID == u.ID {
					return s.signInLinked(ctx, again, id)
				}
				if err := s.store.DeleteUser(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
					return nil, storeErr("delete unused account", err)
				}
			}
			continue
		} else if err != nil {
			return nil, err
		}
		if !created {
			s.methodAdded(ctx, u, id.label())
		}
		if err := s.keepTokens(ctx, u.ID, li.ID, id, false); err != nil {
			return nil, err
		}
		return &Proof{user: u, methods: []string{MethodProvider}, flow: "oauth", identity: li.ID}, nil
	}
	return nil, storeErr("provider sign-in", errors.New("concurrent sign-ins kept changing the account"))
}

// errProviderRetry says a concurrent sign-in changed what providerAccount
// looked at; the caller starts again.
var errProviderRetry = errors.New("auth: retry the provider sign-in")

// signInLinked signs in to the account linked is linked to (rule 1),
// recording the use and what the provider said this time.
func (s *Service) signInLinked(ctx context.Context, linked *LinkedIdentity, id ProviderIdentity) (*Proof, error) {
	u, err := s.store.UserByID(ctx, linked.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errProviderRetry // deleted with its account a moment ago
	} else if err != nil {
		return nil, storeErr("find user", err)
	}
	if u.Disabled() {
		return nil, errDisabled
	}
	if err := s.identities.UseIdentity(ctx, linked.ID, id.Email, id.EmailVerified, id.Name, s.now()); errors.Is(err, ErrNotFound) {
		return nil, errIdentityGone
	} else if err != nil {
		return nil, storeErr("use identity", err)
	}
	if err := s.keepTokens(ctx, u.ID, linked.ID, id, linked.HasTokens); err != nil {
		return nil, err
	}
	return &Proof{user: u, methods: []string{MethodProvider}, flow: "oauth", identity: linked.ID}, nil
}

// providerAccount returns the account an identity linked to no account
// lands in (rules 2 to 4 of SignInProvider), and whether it was created
// now.
func (s *Service) providerAccount(ctx context.Context, id ProviderIdentity) (*User, bool, error) {
	if id.Email != "" {
		u, err := s.store.UserByEmail(ctx, id.Email)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, false, storeErr("find user", err)
		case !id.EmailVerified:
			return nil, false, errLinkFirst
		case u.Disabled():
			return nil, false, errDisabled
		case u.EmailVerified:
			return u, false, nil
		default:
			// The provider's word is a first proof of an address the
			// account never proved: the same rule as a code's.
			kept, _, err := s.proveFirst(ctx, u, &Challenge{}, false)
			if err != nil {
				return nil, false, err
			}
			if kept != nil {
				return kept, false, nil
			}
			// Released from an account held by its proven phone: the
			// address is free for a new account.
		}
	}
	if !*s.cfg.PasswordlessSignup {
		return nil, false, errProviderSignUpOff
	}
	now := s.now()
	u := &User{ID: newID(), Email: id.Email, EmailVerified: id.EmailVerified && id.Email != "", Name: id.Name,
		CreatedAt: now, UpdatedAt: now, NoFactors: true}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, ErrEmailTaken) {
		return nil, false, errProviderRetry // made by a concurrent sign-in
	} else if err != nil {
		return nil, false, storeErr("create user", err)
	}
	s.observeSignUp("oauth", nil)
	return u, true, nil
}

// link links id to u and audits it.
func (s *Service) link(ctx context.Context, u *User, id ProviderIdentity) (*LinkedIdentity, error) {
	now := s.now()
	li := &LinkedIdentity{ID: newID(), UserID: u.ID, Provider: id.Provider, Subject: id.Subject,
		Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name, CreatedAt: now, LastUsedAt: &now}
	if err := s.identities.AddIdentity(ctx, li); errors.Is(err, ErrIdentityTaken) {
		return nil, ErrIdentityTaken
	} else if err != nil {
		return nil, storeErr("add identity", err)
	}
	s.audit(ctx, u.ID, AuditIdentityLinked, ClientFrom(ctx), id.Provider)
	return li, nil
}

// methodAdded tells the owner of u that a sign-in method was added, so a
// link they did not make does not go unseen.
func (s *Service) methodAdded(ctx context.Context, u *User, provider string) {
	if u.Email == "" || s.outbox == nil || s.messages == nil || !*s.cfg.Email {
		return
	}
	msg, err := s.outbox.Compose(ctx, KindMethodAdded, u.Email, MessageData{Method: provider})
	if err == nil {
		err = s.messages.Enqueue(ctx, msg)
	}
	if err != nil {
		// The link stands without the notice.
		s.log.WarnContext(ctx, "queue sign-in method notice", "user_id", u.ID, "err", err)
		return
	}
	s.outbox.Wake()
}

// LinkProvider links the identity a provider vouched for to the signed-in
// account, whatever its email says: the person holds both. It needs a
// session under 10 minutes old (reauthentication_required otherwise) and,
// with a second factor on, aal2. An identity linked to another account is
// refused (ErrIdentityTaken); one linked to this account already is left
// as it is.
func (s *Service) LinkProvider(ctx context.Context, p *Principal, id ProviderIdentity, c Client) error {
	if err := s.identitiesOn(); err != nil {
		return err
	}
	id, err := cleanIdentity(id)
	if err != nil {
		return err
	}
	if s.now().Sub(p.Session.CreatedAt) >= linkMaxSessionAge {
		return errReauthenticate
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return err
	}
	linked, err := s.identities.IdentityBySubject(ctx, id.Provider, id.Subject)
	switch {
	case err == nil && linked.UserID == p.User.ID:
		return s.keepTokens(ctx, p.User.ID, linked.ID, id, linked.HasTokens)
	case err == nil:
		return ErrIdentityTaken
	case !errors.Is(err, ErrNotFound):
		return storeErr("find identity", err)
	}
	now := s.now()
	li := &LinkedIdentity{ID: newID(), UserID: p.User.ID, Provider: id.Provider, Subject: id.Subject,
		Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name, CreatedAt: now}
	if err := s.identities.AddIdentity(ctx, li); errors.Is(err, ErrIdentityTaken) {
		// Linked a moment ago, by this account or another: as above.
		again, gerr := s.identities.IdentityBySubject(ctx, id.Provider, id.Subject)
		if gerr == nil && again.UserID == p.User.ID {
			return nil
		}
		return ErrIdentityTaken
	} else if err != nil {
		return storeErr("add identity", err)
	}
	s.audit(ctx, p.User.ID, AuditIdentityLinked, c, id.Provider)
	s.methodAdded(ctx, &p.User, id.label())
	return s.keepTokens(ctx, p.User.ID, li.ID, id, false)
}

// Identities returns the signed-in user's linked identities, oldest first.
func (s *Service) Identities(ctx context.Context, p *Principal) ([]LinkedIdentity, error) {
	if err := s.identitiesOn(); err != nil {
		return nil, err
	}
	list, err := s.identities.Identities(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("list identities", err)
	}
	return list, nil
}

// AdminIdentities returns a user's linked identities, oldest first (none
// when provider sign-in is off).
func (s *Service) AdminIdentities(ctx context.Context, userID string) ([]LinkedIdentity, error) {
	if s.identities == nil {
		return []LinkedIdentity{}, nil
	}
	list, err := s.identities.Identities(ctx, userID)
	if err != nil {
		return nil, storeErr("list identities", err)
	}
	return list, nil
}

// UnlinkIdentity removes the signed-in user's identity id: aal2 when the
// user has a second factor on, and never the last way to sign in (a
// conflict, see lastWayIn). Another user's identity is not found.
func (s *Service) UnlinkIdentity(ctx context.Context, p *Principal, id string, c Client) error {
	if err := s.identitiesOn(); err != nil {
		return err
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return err
	}
	list, err := s.identities.Identities(ctx, p.User.ID)
	if err != nil {
		return storeErr("list identities", err)
	}
	var found *LinkedIdentity
	for i := range list {
		if list[i].ID == id {
			found = &list[i]
		}
	}
	if found == nil {
		return errIdentityNotFound
	}
	last, err := s.lastWayIn(ctx, p.User.ID, nil, found.ID)
	if err != nil {
		return err
	}
	if last {
		return errLastWayInIdentity
	}
	if err := s.identities.DeleteIdentity(ctx, p.User.ID, id); errors.Is(err, ErrNotFound) {
		return errIdentityNotFound
	} else if err != nil {
		return storeErr("unlink identity", err)
	}
	s.audit(ctx, p.User.ID, AuditIdentityUnlinked, c, found.Provider)
	return nil
}

// lastWayIn reports whether the account would have no way to sign in
// without the passkey withoutPasskey or the identity withoutIdentity (one
// of them set): no password, no proven email or phone, no other passkey,
// no other linked identity. The stored account is read, not the session's
// copy: a password may have been set since.
func (s *Service) lastWayIn(ctx context.Context, userID string, withoutPasskey []byte, withoutIdentity string) (bool, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return false, storeErr("find user", err)
	}
	if u.PasswordHash != "" || (u.Email != "" && u.EmailVerified) || (u.Phone != "" && u.PhoneVerified) {
		return false, nil
	}
	if s.passkeysOn() == nil {
		list, err := s.passkeys.Passkeys(ctx, userID)
		if err != nil {
			return false, storeErr("list passkeys", err)
		}
		for _, pk := range list {
			if string(pk.ID) != string(withoutPasskey) {
				return false, nil
			}
		}
	}
	if s.identities != nil {
		list, err := s.identities.Identities(ctx, userID)
		if err != nil {
			return false, storeErr("list identities", err)
		}
		for _, li := range list {
			if li.ID != withoutIdentity {
				return false, nil
			}
		}
	}
	return true, nil
}

// hasIdentity reports whether the user has a linked identity (none when
// provider sign-in is off).
func (s *Service) hasIdentity(ctx context.Context, userID string) (bool, error) {
	if s.identities == nil {
		return false, nil
	}
	list, err := s.identities.Identities(ctx, userID)
	if err != nil {
		return false, storeErr("list identities", err)
	}
	return len(list) > 0, nil
}

// dropIdentities removes every identity linked to a user (what a claim
// takes away: an identity linked by whoever set the account up without
// proving its address is a way back in).
func (s *Service) dropIdentities(ctx context.Context, userID string) error {
	if s.identities == nil {
		return nil
	}
	list, err := s.identities.Identities(ctx, userID)
	if err != nil {
		return storeErr("list identities", err)
	}
	for _, li := range list {
		// ErrNotFound: unlinked a moment ago by its owner.
		if err := s.identities.DeleteIdentity(ctx, userID, li.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("unlink identity", err)
		}
		s.audit(ctx, userID, AuditIdentityUnlinked, ClientFrom(ctx), fmt.Sprintf("%s (account claimed)", li.Provider))
	}
	return nil
}

// holdsIdentity reports whether identity id is still linked to userID.
func (s *Service) holdsIdentity(ctx context.Context, userID, id string) (bool, error) {
	list, err := s.identities.Identities(ctx, userID)
	if err != nil {
		return false, storeErr("list identities", err)
	}
	for _, li := range list {
		if li.ID == id {
			return true, nil
		}
	}
	return false, nil
}
