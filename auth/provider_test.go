package auth_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// The errors of the provider flows, as clients see them.
var (
	errLinkFirst = &auth.Error{Kind: auth.KindConflict, Cause: auth.ErrLinkFirst,
		Message: "An account has this email, and the provider does not vouch for it: sign in the usual way, then link it from your account page."}
	errProviderSignUpOff = &auth.Error{Kind: auth.KindForbidden, Message: "No account is linked to this sign-in, and this server does not create accounts this way."}
	errReauthenticate    = &auth.Error{Kind: auth.KindReauthenticationRequired, Message: "Sign in again to link another sign-in method: it needs a sign-in from the last 10 minutes."}
	errLastWayInIdentity = &auth.Error{Kind: auth.KindConflict, Message: "This is the only way to sign in to this account; add a password, a passkey or another sign-in first."}
	errIdentityNotFound  = &auth.Error{Kind: auth.KindNotFound, Message: "No such linked sign-in."}
	errIdentityGone      = &auth.Error{Kind: auth.KindInvalidCredentials, Message: "The linked sign-in was removed while you were signing in; sign in again."}
)

var subjectSeq atomic.Int64

// subject answers a provider user ID no other test uses.
func subject() string { return fmt.Sprintf("10%017d", subjectSeq.Add(1)) }

// newProviderEnv is an mfaEnv with provider identities wired (and SMS,
// for the pre-hijack helpers), edit changing its config when not nil.
func newProviderEnv(t *testing.T, st *sqlstore.Store, edit func(*auth.Config)) *mfaEnv {
	t.Helper()
	return newMFAEnvDeps(t, st, func(c *auth.Config) {
		c.SMS = true
		if edit != nil {
			edit(c)
		}
	}, func(d *auth.Deps) { d.Identities = st })
}

// providerGrant signs in with id and finishes on the Tokens channel.
func (e *mfaEnv) providerGrant(id auth.ProviderIdentity) (*auth.Grant, error) {
	return finished(e.ctx, e.svc, client(), auth.Tokens)(e.svc.SignInProvider(e.ctx, id))
}

// mustProviderGrant is providerGrant that must give a session.
func (e *mfaEnv) mustProviderGrant(id auth.ProviderIdentity) *auth.Grant {
	e.t.Helper()
	g, err := e.providerGrant(id)
	if err != nil || g.MFA != nil {
		e.t.Fatalf("provider sign-in %+v: %+v, %v", id, g, err)
	}
	return g
}

// linkedTo answers the account identity (provider, subject) is linked
// to, "" for none.
func (e *mfaEnv) linkedTo(provider, sub string) *auth.LinkedIdentity {
	e.t.Helper()
	li, err := e.store.IdentityBySubject(e.ctx, provider, sub)
	if errors.Is(err, auth.ErrNotFound) {
		return nil
	} else if err != nil {
		e.t.Fatal(err)
	}
	return li
}

func audited(t *testing.T, e *mfaEnv, userID, kind string) bool {
	t.Helper()
	return slices.ContainsFunc(mustAudit(t, e, userID), func(ev auth.AuditEvent) bool { return ev.Kind == kind })
}

// Every rule of "which account a provider sign-in lands in", each with
// what it must leave behind.
func TestProviderSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("new account, then the link", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			addr, sub := email("new"), subject()
			// The provider's email is normalised as ours are.
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub, Email: "  " + addr[:3] + "X" + addr[3:] + " ", EmailVerified: true, Name: " Ada Lovelace "})
			want := addr[:3] + "x" + addr[3:]
			u := e.storedUser(g.User.ID)
			if u.Email != want || !u.EmailVerified || u.Name != "Ada Lovelace" || u.HasPassword() {
				t.Errorf("new account: %+v; want %s proven, named, no password", u, want)
			}
			if !slices.Equal(g.Session.AMR, []string{auth.MethodProvider}) || g.Session.AAL != auth.AAL1 {
				t.Errorf("session amr %v aal %s; want [oauth] aal1", g.Session.AMR, g.Session.AAL)
			}
			li := e.linkedTo("google", sub)
			if li == nil || li.UserID != u.ID || li.Email != want || !li.EmailVerified || li.LastUsedAt == nil {
				t.Fatalf("identity: %+v", li)
			}
			if !audited(t, e, u.ID, auth.AuditIdentityLinked) {
				t.Error("no identity_linked audit event")
			}
			if n := e.mail.count(auth.KindMethodAdded, want); n != 0 {
				t.Errorf("%d method_added messages for a new account; want none", n)
			}
			// Rule 1: the link, again; what the provider says now is kept.
			e.clock.Advance(time.Hour)
			g2 := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub, Email: "changed-" + want, Name: "Ada King"})
			if g2.User.ID != u.ID {
				t.Fatalf("second sign-in landed in %s, want %s", g2.User.ID, u.ID)
			}
			li = e.linkedTo("google", sub)
			if li.Email != "changed-"+want || li.EmailVerified || li.Name != "Ada King" || !li.LastUsedAt.Equal(e.now()) {
				t.Errorf("identity after the second sign-in: %+v", li)
			}
			var signIns []string
			for _, ev := range mustAudit(t, e, u.ID) {
				if ev.Kind == auth.AuditProviderSignIn {
					signIns = append(signIns, ev.Detail)
				}
			}
			if !slices.Equal(signIns, []string{"google", "google"}) {
				t.Errorf("provider_sign_in events %v, want one per sign-in naming google", signIns)
			}
		})
		t.Run("verified email of a proven account links it", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			_, u, p := e.signedIn("proven")
			e.proveEmail(p)
			sub := subject()
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "acme", Label: "Acme SSO", Subject: sub, Email: u.Email, EmailVerified: true})
			if g.User.ID != u.ID || !e.storedUser(u.ID).HasPassword() {
				t.Errorf("landed in %s (password kept: %v); want %s, kept", g.User.ID, e.storedUser(u.ID).HasPassword(), u.ID)
			}
			if li := e.linkedTo("acme", sub); li == nil || li.UserID != u.ID {
				t.Errorf("identity: %+v", li)
			}
			if m := e.mail.last(t, auth.KindMethodAdded, u.Email); m.Data.Method != "Acme SSO" {
				t.Errorf("method_added names %q, want the provider's label, Acme SSO", m.Data.Method)
			}
			if _, err := e.svc.BearerPrincipal(e.ctx, p.Session.ID); err == nil {
				t.Error("a session ID signs in")
			}
			if e.storedSession(p.Session.ID).RevokedAt != nil {
				t.Error("linking a proven account ended its sessions")
			}
		})
		t.Run("verified email of a never-proven account claims it", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			addr := email("victim")
			a := e.preHijack(auth.SignUpInput{Email: addr})
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: addr, EmailVerified: true})
			if g.User.ID != a.user.ID {
				t.Fatalf("landed in %s, want the claimed %s", g.User.ID, a.user.ID)
			}
			e.checkLockedOut(a, auth.Identity{Email: addr})
			if u := e.storedUser(a.user.ID); !u.EmailVerified || u.HasPassword() {
				t.Errorf("claimed account: %+v; want the email proven and no password", u)
			}
			if e.mail.count(auth.KindMethodAdded, addr) != 1 {
				t.Error("no method_added message")
			}
		})
		t.Run("unverified email of an account is refused", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			addr, u, p := e.signedIn("unverified")
			for _, proven := range []bool{false, true} {
				if proven {
					e.proveEmail(p)
				}
				sub := subject()
				_, err := e.svc.SignInProvider(e.ctx, auth.ProviderIdentity{Provider: "acme", Subject: sub, Email: addr})
				checkErr(t, "unverified email", err, errLinkFirst)
				if !errors.Is(err, auth.ErrLinkFirst) {
					t.Error("the refusal does not name ErrLinkFirst")
				}
				if li := e.linkedTo("acme", sub); li != nil {
					t.Errorf("linked all the same: %+v", li)
				}
			}
			if got := e.storedUser(u.ID); !got.HasPassword() {
				t.Error("the refusal changed the account")
			}
		})
		t.Run("unverified email of no account: a new account, email unproven", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			addr := email("fresh")
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "github", Subject: subject(), Email: addr})
			if u := e.storedUser(g.User.ID); u.Email != addr || u.EmailVerified {
				t.Errorf("new account: %+v; want %s unproven", u, addr)
			}
		})
		t.Run("no email: a new account without one, and the link after", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			id := auth.ProviderIdentity{Provider: "github", Subject: subject(), Email: "not an address"}
			g := e.mustProviderGrant(id)
			if u := e.storedUser(g.User.ID); u.Email != "" || u.EmailVerified || u.Phone != "" {
				t.Errorf("new account: %+v; want no email", u)
			}
			id.Email = ""
			if again := e.mustProviderGrant(id); again.User.ID != g.User.ID {
				t.Errorf("second sign-in landed in %s, want %s", again.User.ID, g.User.ID)
			}
		})
		t.Run("the link beats another account's verified email", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			sub := subject()
			linked := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub, Email: email("linked"), EmailVerified: true})
			_, other, p := e.signedIn("other")
			e.proveEmail(p)
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub, Email: other.Email, EmailVerified: true})
			if g.User.ID != linked.User.ID {
				t.Errorf("landed in %s; want the linked %s, not the email's %s", g.User.ID, linked.User.ID, other.ID)
			}
			if list, err := e.store.Identities(e.ctx, other.ID); err != nil || len(list) != 0 {
				t.Errorf("the email's account got identities %v, %v", list, err)
			}
		})
		t.Run("a disabled account is refused", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			sub := subject()
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub})
			_, u, p := e.signedIn("disabled")
			e.proveEmail(p)
			at := e.now()
			for _, id := range []string{g.User.ID, u.ID} {
				if err := e.store.SetUserDisabled(e.ctx, id, &at); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.svc.SignInProvider(e.ctx, auth.ProviderIdentity{Provider: "google", Subject: sub})
			checkErr(t, "linked, disabled", err, errDisabled)
			_, err = e.svc.SignInProvider(e.ctx, auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: u.Email, EmailVerified: true})
			checkErr(t, "email of a disabled account", err, errDisabled)
		})
		t.Run("sign-up off", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, func(c *auth.Config) { c.PasswordlessSignup = new(false) })
			_, err := e.svc.SignInProvider(e.ctx, auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: email("closed"), EmailVerified: true})
			checkErr(t, "sign-up off", err, errProviderSignUpOff)
			// An existing account still links and signs in.
			_, u, p := e.signedIn("closed")
			e.proveEmail(p)
			if g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: u.Email, EmailVerified: true}); g.User.ID != u.ID {
				t.Errorf("landed in %s, want %s", g.User.ID, u.ID)
			}
		})
		t.Run("a second factor is asked for", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			u := e.totpUser("mfa")
			g, err := e.providerGrant(auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: u.addr, EmailVerified: true})
			if err != nil || g.MFA == nil || g.AccessToken != "" {
				t.Fatalf("provider sign-in of an account with a second factor: %+v, %v; want mfa_required", g, err)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(u.secret), auth.MethodProvider, auth.MethodTOTP)
		})
		t.Run("an identity removed while signing in ends the session", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			sub := subject()
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: sub, Email: email("race"), EmailVerified: true})
			proof, err := e.svc.SignInProvider(e.ctx, auth.ProviderIdentity{Provider: "google", Subject: sub})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.DeleteIdentity(e.ctx, g.User.ID, e.linkedTo("google", sub).ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Finish(e.ctx, proof, client(), auth.Tokens)
			checkErr(t, "Finish after the unlink", err, errIdentityGone)
		})
	})
}

// An attacker sets up an account with the victim's email, never proven,
// and a provider identity of their own: linked from a password session,
// or made by signing in with a provider that does not vouch for the email.
// The victim's first proof of the address claims the account and takes
// the identity away with the rest.
func TestClaimRemovesLinkedIdentities(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		cases := []struct {
			name string
			// setUp makes the attacker's account with addr linked to mine.
			setUp func(e *mfaEnv, addr string, mine auth.ProviderIdentity) *auth.Grant
		}{
			{"linked from a password session", func(e *mfaEnv, addr string, mine auth.ProviderIdentity) *auth.Grant {
				e.signUp(addr, goodPassword)
				g := e.signIn(addr, goodPassword, client())
				if err := e.svc.LinkProvider(e.ctx, e.bearer(g.AccessToken), mine, client()); err != nil {
					e.t.Fatalf("attacker's LinkProvider: %v", err)
				}
				return g
			}},
			{"signed up by a provider that does not vouch for the email", func(e *mfaEnv, addr string, mine auth.ProviderIdentity) *auth.Grant {
				mine.Email, mine.EmailVerified = addr, false
				return e.mustProviderGrant(mine)
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := newProviderEnv(t, st, nil)
				addr := email("victim")
				mine := auth.ProviderIdentity{Provider: "acme", Subject: subject(), Email: email("attacker"), EmailVerified: true}
				a := tc.setUp(e, addr, mine)
				victimID := e.linkedTo("acme", mine.Subject).UserID
				if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
					t.Fatal(err)
				}
				g, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client())
				if err != nil || g.User.ID != victimID {
					t.Fatalf("victim's code sign-in: %+v, %v; want account %s", g, err, victimID)
				}
				if list, err := e.store.Identities(e.ctx, victimID); err != nil || len(list) != 0 {
					t.Errorf("identities after the claim: %v, %v; want none", list, err)
				}
				if !audited(t, e, victimID, auth.AuditAccountClaimed) || !audited(t, e, victimID, auth.AuditIdentityUnlinked) {
					t.Error("no account_claimed and identity_unlinked audit events")
				}
				if _, err := e.svc.BearerPrincipal(e.ctx, a.AccessToken); err == nil {
					t.Error("the attacker's session still signs in")
				}
				// The attacker's provider sign-in no longer lands in the
				// account (it makes one of the attacker's own).
				mine.Email = ""
				if ag := e.mustProviderGrant(mine); ag.User.ID == victimID {
					t.Error("the attacker's provider sign-in still lands in the claimed account")
				}
			})
		}
	})
}

// Two first sign-ins with one identity at once make one account, and
// both land in it; with an email and without one.
func TestProviderSignInConcurrent(t *testing.T) {
	for _, withEmail := range []bool{true, false} {
		t.Run(fmt.Sprintf("email %v", withEmail), func(t *testing.T) {
			forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
				e := newProviderEnv(t, st, nil)
				id := auth.ProviderIdentity{Provider: "google", Subject: subject()}
				if withEmail {
					id.Email, id.EmailVerified = email("twice"), true
				}
				const n = 8
				var wg sync.WaitGroup
				users := make([]string, n)
				errs := make([]error, n)
				for i := range n {
					wg.Go(func() {
						p, err := e.svc.SignInProvider(e.ctx, id)
						if err == nil {
							users[i] = p.User().ID
						}
						errs[i] = err
					})
				}
				wg.Wait()
				li := e.linkedTo(id.Provider, id.Subject)
				if li == nil {
					t.Fatal("no identity linked")
				}
				for i := range n {
					if errs[i] != nil {
						t.Errorf("sign-in #%d: %v", i, errs[i])
					} else if users[i] != li.UserID {
						t.Errorf("sign-in #%d landed in %s, want the linked %s", i, users[i], li.UserID)
					}
				}
				// The store is this test's alone: one account in all.
				all, err := e.store.ListUsers(e.ctx, auth.UserQuery{Limit: 100})
				if err != nil || len(all) != 1 {
					t.Errorf("accounts after %d concurrent first sign-ins: %d, %v; want 1", n, len(all), err)
				}
			})
		})
	}
}

func TestLinkProvider(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("links whatever the email, once", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			_, u, p := e.signedIn("linker")
			id := auth.ProviderIdentity{Provider: "github", Subject: subject(), Email: email("elsewhere"), EmailVerified: true, Name: "Octo"}
			for range 2 {
				if err := e.svc.LinkProvider(e.ctx, p, id, client()); err != nil {
					t.Fatalf("LinkProvider: %v", err)
				}
			}
			list, err := e.svc.Identities(e.ctx, p)
			if err != nil || len(list) != 1 || list[0].UserID != u.ID || list[0].Provider != "github" || list[0].Name != "Octo" || list[0].LastUsedAt != nil {
				t.Fatalf("Identities = %+v, %v", list, err)
			}
			if !audited(t, e, u.ID, auth.AuditIdentityLinked) || e.mail.count(auth.KindMethodAdded, u.Email) != 1 {
				t.Error("the link is not audited, or its owner not told once")
			}
			if g := e.mustProviderGrant(id); g.User.ID != u.ID {
				t.Errorf("sign-in with the linked identity landed in %s, want %s", g.User.ID, u.ID)
			}
		})
		t.Run("another account's identity is refused", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			id := auth.ProviderIdentity{Provider: "google", Subject: subject()}
			theirs := e.mustProviderGrant(id)
			_, u, p := e.signedIn("thief")
			checkErr(t, "LinkProvider of another's identity", e.svc.LinkProvider(e.ctx, p, id, client()), auth.ErrIdentityTaken)
			if li := e.linkedTo("google", id.Subject); li.UserID != theirs.User.ID {
				t.Errorf("identity moved to %s", li.UserID)
			}
			if list, _ := e.svc.Identities(e.ctx, p); len(list) != 0 {
				t.Errorf("%s got identities %+v", u.ID, list)
			}
		})
		t.Run("a stale session must sign in again", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			_, _, p := e.signedIn("stale")
			e.clock.Advance(10 * time.Minute)
			id := auth.ProviderIdentity{Provider: "google", Subject: subject()}
			checkErr(t, "LinkProvider from a 10-minute-old session", e.svc.LinkProvider(e.ctx, p, id, client()), errReauthenticate)
			if li := e.linkedTo("google", id.Subject); li != nil {
				t.Errorf("linked all the same: %+v", li)
			}
		})
	})
}

func TestUnlinkIdentity(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("never the last way in", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			first := auth.ProviderIdentity{Provider: "github", Subject: subject()}
			g := e.mustProviderGrant(first)
			p := e.bearer(g.AccessToken)
			list, err := e.svc.Identities(e.ctx, p)
			if err != nil || len(list) != 1 {
				t.Fatalf("Identities = %v, %v", list, err)
			}
			checkErr(t, "unlink the only way in", e.svc.UnlinkIdentity(e.ctx, p, list[0].ID, client()), errLastWayInIdentity)
			second := auth.ProviderIdentity{Provider: "google", Subject: subject()}
			if err := e.svc.LinkProvider(e.ctx, p, second, client()); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.UnlinkIdentity(e.ctx, p, list[0].ID, client()); err != nil {
				t.Fatalf("unlink with another identity left: %v", err)
			}
			if !audited(t, e, g.User.ID, auth.AuditIdentityUnlinked) {
				t.Error("no identity_unlinked audit event")
			}
			left, _ := e.svc.Identities(e.ctx, p)
			if len(left) != 1 || left[0].Provider != "google" {
				t.Fatalf("left: %+v", left)
			}
			checkErr(t, "unlink the last one", e.svc.UnlinkIdentity(e.ctx, p, left[0].ID, client()), errLastWayInIdentity)
			// The unlinked identity signs up anew rather than into the account.
			if again := e.mustProviderGrant(first); again.User.ID == g.User.ID {
				t.Error("an unlinked identity still signs in to the account")
			}
		})
		t.Run("a password or a proven email is a way in", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			g := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: email("proven"), EmailVerified: true})
			p := e.bearer(g.AccessToken)
			list, _ := e.svc.Identities(e.ctx, p)
			if err := e.svc.UnlinkIdentity(e.ctx, p, list[0].ID, client()); err != nil {
				t.Errorf("unlink with a proven email: %v", err)
			}
		})
		t.Run("another user's identity is not found", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			theirs := e.mustProviderGrant(auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: email("theirs"), EmailVerified: true})
			list, _ := e.svc.Identities(e.ctx, e.bearer(theirs.AccessToken))
			_, _, p := e.signedIn("other")
			for _, id := range []string{list[0].ID, "nope", ""} {
				checkErr(t, "unlink "+id, e.svc.UnlinkIdentity(e.ctx, p, id, client()), errIdentityNotFound)
			}
			if li := e.linkedTo("google", list[0].Subject); li == nil {
				t.Error("another user's identity was unlinked")
			}
		})
	})
}

// withPasskeysAndIdentities wires the passkey ports (withPasskeys) and
// the identity store over st.
func withPasskeysAndIdentities(t *testing.T, st *sqlstore.Store) envOption {
	t.Helper()
	passkeys := withPasskeys(t, st)
	return func(s *envSettings) {
		passkeys(s)
		wire := s.deps
		s.deps = func(d *auth.Deps) {
			wire(d)
			d.Identities = st
		}
	}
}

// A passkey and a linked identity are each a way in: either may go while
// the other stays, and the last of them may not.
func TestLastWayInCountsPasskeysAndIdentities(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeysAndIdentities(t, st))
		id := auth.ProviderIdentity{Provider: "acme", Subject: subject()}
		g, err := finished(e.ctx, e.svc, client(), auth.Tokens)(e.svc.SignInProvider(e.ctx, id))
		if err != nil {
			t.Fatalf("provider sign-up: %v", err)
		}
		p := e.bearer(g.AccessToken)
		pk := e.register(p, passkeytest.New(pkOrigin), "Phone")
		if err := e.svc.RemovePasskey(e.ctx, p, pk.ID, client()); err != nil {
			t.Fatalf("remove a passkey while an identity is linked: %v", err)
		}
		second := e.register(p, passkeytest.New(pkOrigin), "Key")
		list, err := e.svc.Identities(e.ctx, p)
		if err != nil || len(list) != 1 {
			t.Fatalf("Identities = %v, %v", list, err)
		}
		if err := e.svc.UnlinkIdentity(e.ctx, p, list[0].ID, client()); err != nil {
			t.Fatalf("unlink while a passkey is left: %v", err)
		}
		if err := e.svc.RemovePasskey(e.ctx, p, second.ID, client()); auth.KindOf(err) != auth.KindConflict {
			t.Fatalf("remove the last way in: %v, want conflict", err)
		}
	})
}
