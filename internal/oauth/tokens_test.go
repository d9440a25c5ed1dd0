package oauth_test

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// TestStoreTokens: with StoreTokens the provider is asked for a refresh
// token the way it documents (Google: access_type=offline; Microsoft: the
// offline_access scope) and Finish returns the exchange's tokens; without
// it nothing extra is asked and no token comes back.
func TestStoreTokens(t *testing.T) {
	t.Parallel()
	u := oauthtest.User{Subject: "s-1", Email: "ada@example.com", EmailVerified: true}
	tests := []struct {
		name         string
		cfg          oauth.Config
		o            oauthtest.OIDCOptions
		param, scope string // what StoreTokens adds to the authorization request
	}{
		{"google", oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, "access_type=offline", ""},
		{"microsoft", oauth.Config{Name: "microsoft", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}, oauthtest.OIDCOptions{}, "", "offline_access"},
		{"gitlab", oauth.Config{Name: "gitlab"}, oauthtest.OIDCOptions{}, "", ""},
		{"generic", oauth.Config{Name: "acme", Issuer: "https://idp.example.com"}, oauthtest.OIDCOptions{}, "", ""},
	}
	for _, tt := range tests {
		for _, store := range []bool{false, true} {
			cfg := tt.cfg
			cfg.StoreTokens = store
			o := tt.o
			o.RefreshTokens = true
			s := newSetup(t, cfg, o, u)
			r, cb := s.signIn(t)
			q := mustQuery(t, r.URL)
			if tt.param != "" {
				k, v, _ := strings.Cut(tt.param, "=")
				if got := q.Get(k); (got == v) != store {
					t.Errorf("%s store=%v: %s=%q", tt.name, store, k, got)
				}
			}
			scopes := strings.Fields(q.Get("scope"))
			if tt.scope != "" && slices.Contains(scopes, tt.scope) != store {
				t.Errorf("%s store=%v: scope %q", tt.name, store, q.Get("scope"))
			}
			if !store && (q.Has("access_type") || slices.Contains(scopes, "offline_access")) {
				t.Errorf("%s without StoreTokens asks for offline access: %s", tt.name, r.URL)
			}
			id, err := s.p.Finish(context.Background(), cb.Get("code"), r.Verifier, r.Nonce)
			if err != nil {
				t.Fatalf("%s: Finish: %v", tt.name, err)
			}
			issued := s.fake.LastIssued()
			switch {
			case !store && id.Token != nil:
				t.Errorf("%s: a token came back without StoreTokens", tt.name)
			case store && (id.Token == nil || id.Token.AccessToken != issued.AccessToken || id.Token.RefreshToken != issued.RefreshToken || id.Token.Expiry.IsZero()):
				t.Errorf("%s: Finish token %+v, want what the fake issued %+v with an expiry", tt.name, id.Token, issued)
			}
		}
	}
}

// TestStoreTokensSetting: _STORE_TOKENS is true or false, nothing else.
func TestStoreTokensSetting(t *testing.T) {
	t.Parallel()
	base := map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "id", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "secret"}
	for v, want := range map[string]bool{"": false, "true": true, "false": false} {
		vars := maps.Clone(base)
		if v != "" {
			vars["GATEHOUSE_OAUTH_GOOGLE_STORE_TOKENS"] = v
		}
		cs, err := oauth.LoadConfigs(vars, "https://auth.example.com")
		if err != nil || len(cs) != 1 || cs[0].StoreTokens != want {
			t.Errorf("STORE_TOKENS=%q: %+v, %v", v, cs, err)
		}
	}
	vars := maps.Clone(base)
	vars["GATEHOUSE_OAUTH_GOOGLE_STORE_TOKENS"] = "yes"
	if _, err := oauth.LoadConfigs(vars, "https://auth.example.com"); err == nil ||
		err.Error() != "GATEHOUSE_OAUTH_GOOGLE_STORE_TOKENS: must be true or false" {
		t.Errorf("STORE_TOKENS=yes: %v", err)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
