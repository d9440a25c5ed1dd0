package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

var identitySeq atomic.Int64

// providerIdentity answers an identity at provider that no other test uses.
func providerIdentity(provider, email string) auth.ProviderIdentity {
	return auth.ProviderIdentity{Provider: provider, Subject: fmt.Sprintf("sub-%d", identitySeq.Add(1)), Email: email, EmailVerified: email != "", Name: "Pat"}
}

// providerSignIn signs in with id through the flows (the routes that do
// it come later) and answers the access token.
func (e *env) providerSignIn(t *testing.T, id auth.ProviderIdentity) string {
	t.Helper()
	ctx := context.Background()
	p, err := e.G.Auth().SignInProvider(ctx, id)
	if err != nil {
		t.Fatalf("SignInProvider: %v", err)
	}
	g, err := e.G.Auth().Finish(ctx, p, auth.Client{IP: "127.0.0.1"}, auth.Tokens)
	if err != nil || g.AccessToken == "" {
		t.Fatalf("Finish: %+v, %v", g, err)
	}
	e.secret(g.AccessToken, g.RefreshToken)
	return g.AccessToken
}

// link links id to the account of the access token through the flows.
func (e *env) link(t *testing.T, at string, id auth.ProviderIdentity) {
	t.Helper()
	p, err := e.G.Auth().BearerPrincipal(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.G.Auth().LinkProvider(context.Background(), p, id, auth.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatalf("LinkProvider: %v", err)
	}
}

func (e *env) identities(t *testing.T, at string) []api.IdentityView {
	t.Helper()
	var out struct {
		Identities []api.IdentityView `json:"identities"`
	}
	r := e.do(t, "GET", "/v1/user/identities", nil, bearer(at)).Want(http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	r.Strict(&out)
	if out.Identities == nil {
		t.Fatalf("identities is null: %s", r.Body)
	}
	return out.Identities
}

func TestIdentitiesHTTP(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		t.Run("list, unlink, never the last way in", func(t *testing.T) {
			t.Parallel()
			first := providerIdentity("github", "")
			at := e.providerSignIn(t, first)
			list := e.identities(t, at)
			if len(list) != 1 || list[0].Provider != "github" || list[0].Email != "" || list[0].Name != "Pat" || list[0].LastUsedAt == nil {
				t.Fatalf("identities: %+v", list)
			}
			e.do(t, "DELETE", "/v1/user/identities/"+list[0].ID, nil, bearer(at)).WantProblem(http.StatusConflict, "conflict")
			e.link(t, at, providerIdentity("google", "pat-elsewhere@example.com"))
			e.do(t, "DELETE", "/v1/user/identities/"+list[0].ID, nil, bearer(at)).Want(http.StatusNoContent)
			left := e.identities(t, at)
			if len(left) != 1 || left[0].Provider != "google" || left[0].Email != "pat-elsewhere@example.com" || !left[0].EmailVerified {
				t.Fatalf("left: %+v", left)
			}
			e.do(t, "DELETE", "/v1/user/identities/"+left[0].ID, nil, bearer(at)).WantProblem(http.StatusConflict, "conflict")
		})
		t.Run("another user's identity is not found", func(t *testing.T) {
			t.Parallel()
			theirs := e.providerSignIn(t, providerIdentity("google", "theirs-http@example.com"))
			id := e.identities(t, theirs)[0].ID
			mine := e.account(t, "mine-http@example.com")
			if list := e.identities(t, mine.AccessToken); len(list) != 0 {
				t.Errorf("a password account lists %+v", list)
			}
			for _, path := range []string{id, "no-such-id", "01a24b45-c9d8-7f3a-9b68-2ad567d8a1f7"} {
				e.do(t, "DELETE", "/v1/user/identities/"+path, nil, bearer(mine.AccessToken)).WantProblem(http.StatusNotFound, "not_found")
			}
			if len(e.identities(t, theirs)) != 1 {
				t.Error("another user's identity was unlinked")
			}
			e.do(t, "GET", "/v1/user/identities", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
			e.do(t, "DELETE", "/v1/user/identities/"+id, nil).WantProblem(http.StatusUnauthorized, "unauthorized")
		})
		t.Run("a password account unlinks freely", func(t *testing.T) {
			t.Parallel()
			tok := e.account(t, "linker-http@example.com")
			e.link(t, tok.AccessToken, providerIdentity("acme", ""))
			list := e.identities(t, tok.AccessToken)
			if len(list) != 1 || list[0].LastUsedAt != nil {
				t.Fatalf("identities after a link: %+v", list)
			}
			e.do(t, "DELETE", "/v1/user/identities/"+list[0].ID, nil, bearer(tok.AccessToken)).Want(http.StatusNoContent)
			if len(e.identities(t, tok.AccessToken)) != 0 {
				t.Error("the identity is still listed")
			}
		})
		t.Run("the admin's user detail lists them", func(t *testing.T) {
			t.Parallel()
			at := e.providerSignIn(t, providerIdentity("google", "admin-view@example.com"))
			p, err := e.G.Auth().BearerPrincipal(context.Background(), at)
			if err != nil {
				t.Fatal(err)
			}
			var u struct {
				ID         string             `json:"id"`
				Identities []api.IdentityView `json:"identities"`
			}
			e.do(t, "GET", "/v1/admin/users/"+p.User.ID, nil, adminKey()).Want(http.StatusOK).Decode(&u)
			if len(u.Identities) != 1 || u.Identities[0].Provider != "google" || u.Identities[0].CreatedAt.IsZero() {
				t.Errorf("admin user detail identities: %+v", u.Identities)
			}
		})
	})
}

// A link from a session over 10 minutes old is refused as 403
// reauthentication_required: the session is valid, a 401 would tell
// clients to drop or refresh it, and only signing in again helps.
func TestReauthenticationRequiredStatus(t *testing.T) {
	if got := httpauth.Status(auth.KindReauthenticationRequired); got != http.StatusForbidden {
		t.Errorf("reauthentication_required is %d, want 403", got)
	}
}
