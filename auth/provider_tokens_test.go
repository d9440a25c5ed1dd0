package auth_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

var errNoProviderTokens = &auth.Error{Kind: auth.KindNotFound,
	Message: "No provider tokens are kept for this sign-in: they are kept only when GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS=true, from the next sign-in with the provider."}

// A provider's tokens are kept only when asked, sealed and bound to their
// identity, with the refresh token carried over a sign-in that brings
// none; they go when the setting is turned off, stay through a native
// app's sign-in, and only the admin read gives them out, audited.
func TestProviderTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("kept, carried over, forgotten", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			id := auth.ProviderIdentity{Provider: "google", Subject: subject(), Email: email("tokens"), EmailVerified: true}
			// Off (the default): nothing kept.
			g := e.mustProviderGrant(id)
			li := e.linkedTo("google", id.Subject)
			checkErr(t, "AdminProviderTokens with none kept", e.adminTokensErr(g.User.ID, li.ID), errNoProviderTokens)

			first := auth.ProviderTokens{AccessToken: "ya29.first-access", RefreshToken: "1//first-refresh", TokenType: "Bearer",
				Expiry: e.clock.Now().Add(time.Hour).Truncate(time.Second)}
			id.Tokens = &first
			e.mustProviderGrant(id)
			got := e.adminTokens(g.User.ID, li.ID)
			if got.AccessToken != first.AccessToken || got.RefreshToken != first.RefreshToken || got.TokenType != "Bearer" ||
				!got.Expiry.Equal(first.Expiry) || got.Provider != "google" || got.ObtainedAt.Sub(e.clock.Now()).Abs() > time.Millisecond {
				t.Errorf("AdminProviderTokens = %+v, want %+v from google", got, first)
			}
			if !audited(t, e, g.User.ID, auth.AuditProviderTokensRead) {
				t.Error("the read is not audited")
			}
			if li := e.linkedTo("google", id.Subject); !li.HasTokens {
				t.Error("the identity does not say its tokens are kept")
			}
			// Sealed: neither token is in what the store holds.
			sealed, err := st.IdentityTokens(e.ctx, g.User.ID, li.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{first.AccessToken, first.RefreshToken} {
				if bytes.Contains(sealed, []byte(secret)) {
					t.Errorf("the store holds %q in the clear", secret)
				}
			}

			// A later sign-in without a refresh token keeps the old one.
			e.clock.Advance(time.Minute)
			id.Tokens = &auth.ProviderTokens{AccessToken: "ya29.second-access", TokenType: "Bearer"}
			e.mustProviderGrant(id)
			got = e.adminTokens(g.User.ID, li.ID)
			if got.AccessToken != "ya29.second-access" || got.RefreshToken != first.RefreshToken || !got.Expiry.IsZero() {
				t.Errorf("after a sign-in without a refresh token: %+v, want the new access token and the old refresh token", got)
			}

			// A native app's ID token brings none: what is kept stays.
			id.Tokens = nil
			e.mustProviderGrant(id)
			if got := e.adminTokens(g.User.ID, li.ID); got.AccessToken != "ya29.second-access" {
				t.Errorf("a sign-in that says nothing changed the tokens: %+v", got)
			}

			// The setting turned off: the next sign-in forgets them.
			id.ForgetTokens = true
			e.mustProviderGrant(id)
			checkErr(t, "AdminProviderTokens after the setting went off", e.adminTokensErr(g.User.ID, li.ID), errNoProviderTokens)
			if li := e.linkedTo("google", id.Subject); li.HasTokens {
				t.Error("the identity still says its tokens are kept")
			}
		})
		t.Run("bound to their identity and their user", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			mine := auth.ProviderIdentity{Provider: "github", Subject: subject(),
				Tokens: &auth.ProviderTokens{AccessToken: "gho_mine"}}
			theirs := auth.ProviderIdentity{Provider: "github", Subject: subject(),
				Tokens: &auth.ProviderTokens{AccessToken: "gho_theirs"}}
			me, them := e.mustProviderGrant(mine), e.mustProviderGrant(theirs)
			myID, theirID := e.linkedTo("github", mine.Subject).ID, e.linkedTo("github", theirs.Subject).ID
			// Another user's identity is not found through mine.
			checkErr(t, "AdminProviderTokens of another user's identity", e.adminTokensErr(me.User.ID, theirID), errIdentityNotFound)
			checkErr(t, "AdminProviderTokens of an unknown identity", e.adminTokensErr(me.User.ID, "nope"), errIdentityNotFound)
			// Their sealed tokens copied onto my identity do not open as mine.
			sealed, err := st.IdentityTokens(e.ctx, them.User.ID, theirID)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SetIdentityTokens(e.ctx, myID, sealed); err != nil {
				t.Fatal(err)
			}
			if got, err := e.svc.AdminProviderTokens(e.ctx, me.User.ID, myID, client()); err == nil {
				t.Errorf("another identity's sealed tokens opened as mine: %+v", got)
			}
		})
		t.Run("kept on a link, and unlinking takes them", func(t *testing.T) {
			t.Parallel()
			e := newProviderEnv(t, st, nil)
			_, u, p := e.signedIn("tokenlink")
			id := auth.ProviderIdentity{Provider: "gitlab", Subject: subject(),
				Tokens: &auth.ProviderTokens{AccessToken: "glpat-linked", RefreshToken: "glrt-linked"}}
			if err := e.svc.LinkProvider(e.ctx, p, id, client()); err != nil {
				t.Fatal(err)
			}
			li := e.linkedTo("gitlab", id.Subject)
			if got := e.adminTokens(u.ID, li.ID); got.AccessToken != "glpat-linked" {
				t.Errorf("tokens after the link: %+v", got)
			}
			if err := e.svc.UnlinkIdentity(e.ctx, p, li.ID, client()); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "AdminProviderTokens after unlinking", e.adminTokensErr(u.ID, li.ID), errIdentityNotFound)
		})
	})
}

func (e *mfaEnv) adminTokens(userID, identityID string) *auth.ProviderTokens {
	e.t.Helper()
	got, err := e.svc.AdminProviderTokens(e.ctx, userID, identityID, client())
	if err != nil {
		e.t.Fatalf("AdminProviderTokens: %v", err)
	}
	return got
}

func (e *mfaEnv) adminTokensErr(userID, identityID string) error {
	_, err := e.svc.AdminProviderTokens(e.ctx, userID, identityID, client())
	return err
}
