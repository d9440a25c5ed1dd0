package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// TestProviderTokensKept: with GATEHOUSE_OAUTH_ACME_STORE_TOKENS=true the
// tokens of the provider's code exchange are kept after a browser sign-in
// and given out by the admin API only (never to the user, never in a log
// line), the refresh token the provider sent at the first consent carried
// over a later sign-in; without the setting none is kept.
func TestProviderTokensKept(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) {
		var fake *oauthtest.OIDC
		s := gatehousetest.Start(t, gatehousetest.WithDB(db), gatehousetest.OwnPublicURL(),
			gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{RefreshTokens: true}, ada, &fake),
			gatehousetest.WithProviderSetting("acme", "STORE_TOKENS", "true"))
		e := &env{Server: s, t: t}

		b := e.browser()
		b.callback(t, authorize(t, b.startProvider(t, ""))).want(http.StatusSeeOther)
		first := fake.LastIssued()
		if first.RefreshToken == "" {
			t.Fatal("the fake sent no refresh token at the first consent")
		}
		s.Logs.Secret(first.AccessToken, first.RefreshToken)
		u, err := s.G.Auth().AdminUserByEmail(t.Context(), ada.Email)
		if err != nil {
			t.Fatal(err)
		}
		identityID := keptIdentity(t, s, u.ID)
		admin := admAdmin(t, e, "boss-tokens@example.com")
		ab, _ := admBrowser(t, e, admin)
		ab.get(t, "/admin/users/"+u.ID).want(http.StatusOK).contains(">Tokens kept</span>", "Signed in with a provider").
			lacks(first.AccessToken, first.RefreshToken)
		path := "/v1/admin/users/" + u.ID + "/identities/" + identityID + "/tokens"

		got := readTokens(t, s, path)
		if got.Provider != "acme" || got.AccessToken != first.AccessToken || got.RefreshToken != first.RefreshToken ||
			got.TokenType != "Bearer" || got.ExpiresAt == nil || got.ExpiresAt.Sub(s.Clock.Now().Add(time.Hour)).Abs() > time.Minute {
			t.Errorf("tokens %+v, want what the fake issued (%+v), expiring in an hour", got, first)
		}

		// Again: a new access token, no refresh token; the first stays.
		b2 := e.browser()
		b2.callback(t, authorize(t, b2.startProvider(t, ""))).want(http.StatusSeeOther)
		second := fake.LastIssued()
		s.Logs.Secret(second.AccessToken)
		if second.RefreshToken != "" {
			t.Fatal("the fake sent a refresh token again")
		}
		if got := readTokens(t, s, path); got.AccessToken != second.AccessToken || got.RefreshToken != first.RefreshToken {
			t.Errorf("after the second sign-in: %+v, want its access token and the first refresh token", got)
		}

		// Only with the admin key, and only the user's own identity.
		s.Do(t, "GET", path, nil).Want(http.StatusUnauthorized)
		s.Do(t, "GET", path, nil, gatehousetest.Bearer("not-the-admin-key")).Want(http.StatusUnauthorized)
		var other struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		decode(t, s.Do(t, "POST", "/v1/admin/users", map[string]any{"email": "other-tokens@example.com"}, gatehousetest.Admin()).
			Want(http.StatusCreated), &other)
		s.Do(t, "GET", "/v1/admin/users/"+other.User.ID+"/identities/"+identityID+"/tokens", nil, gatehousetest.Admin()).
			WantProblem(http.StatusNotFound, "not_found")
	})
}

// TestProviderTokensOff: without the setting, a browser sign-in keeps no
// token, and the admin read says how to turn it on.
func TestProviderTokensOff(t *testing.T) {
	t.Parallel()
	var fake *oauthtest.OIDC
	s := gatehousetest.Start(t, gatehousetest.OwnPublicURL(),
		gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{RefreshTokens: true}, ada, &fake))
	e := &env{Server: s, t: t}
	b := e.browser()
	b.callback(t, authorize(t, b.startProvider(t, ""))).want(http.StatusSeeOther)
	s.Logs.Secret(fake.LastIssued().AccessToken, fake.LastIssued().RefreshToken)
	u, err := s.G.Auth().AdminUserByEmail(t.Context(), ada.Email)
	if err != nil {
		t.Fatal(err)
	}
	var view struct {
		Identities []struct {
			ID   string `json:"id"`
			Kept bool   `json:"provider_tokens_kept"`
		} `json:"identities"`
	}
	decode(t, s.Do(t, "GET", "/v1/admin/users/"+u.ID, nil, gatehousetest.Admin()).Want(http.StatusOK), &view)
	if len(view.Identities) != 1 || view.Identities[0].Kept {
		t.Fatalf("identities %+v, want one with no tokens kept", view.Identities)
	}
	p := s.Do(t, "GET", "/v1/admin/users/"+u.ID+"/identities/"+view.Identities[0].ID+"/tokens", nil, gatehousetest.Admin()).
		WantProblem(http.StatusNotFound, "not_found")
	if !strings.Contains(p.Detail, "STORE_TOKENS=true") {
		t.Errorf("detail %q does not say how to keep tokens", p.Detail)
	}
}

type keptTokens struct {
	Provider     string     `json:"provider"`
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	TokenType    string     `json:"token_type"`
	ExpiresAt    *time.Time `json:"expires_at"`
	ObtainedAt   time.Time  `json:"obtained_at"`
}

func readTokens(t *testing.T, s *gatehousetest.Server, path string) keptTokens {
	t.Helper()
	r := s.Do(t, "GET", path, nil, gatehousetest.Admin()).Want(http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var out keptTokens
	decode(t, r, &out)
	return out
}

// decode reads r's JSON body into v, ignoring fields v does not name.
func decode(t *testing.T, r *gatehousetest.Response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: %v: %s", r.Req, err, r.Body)
	}
}

// keptIdentity returns the ID of the user's one identity, which must say
// its tokens are kept (to the user too: the user API lists the flag).
func keptIdentity(t *testing.T, s *gatehousetest.Server, userID string) string {
	t.Helper()
	var view struct {
		Identities []struct {
			ID   string `json:"id"`
			Kept bool   `json:"provider_tokens_kept"`
		} `json:"identities"`
	}
	decode(t, s.Do(t, "GET", "/v1/admin/users/"+userID, nil, gatehousetest.Admin()).Want(http.StatusOK), &view)
	if len(view.Identities) != 1 || !view.Identities[0].Kept {
		t.Fatalf("identities %+v, want one with its tokens kept", view.Identities)
	}
	return view.Identities[0].ID
}
