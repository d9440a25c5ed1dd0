package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestBuiltinProviders: each built-in provider's configuration gives the
// issuer (hence discovery URL), scopes and parameters its documentation
// gives.
func TestBuiltinProviders(t *testing.T) {
	t.Parallel()
	keyPEM, _ := appleKeyPEM(t)
	key, err := parseAppleKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg         Config
		issuer      string
		scopes      string
		formPost    bool
		multiTenant bool
	}{
		{Config{Name: "google"}, "https://accounts.google.com", "openid email profile", false, false},
		{Config{Name: "google", Scopes: []string{"email", "https://www.googleapis.com/auth/calendar.readonly"}}, "https://accounts.google.com", "openid email profile https://www.googleapis.com/auth/calendar.readonly", false, false},
		{Config{Name: "microsoft", Tenant: "common"}, "https://login.microsoftonline.com/common/v2.0", "openid email profile", false, true},
		{Config{Name: "microsoft", Tenant: "organizations"}, "https://login.microsoftonline.com/organizations/v2.0", "openid email profile", false, true},
		{Config{Name: "microsoft", Tenant: "consumers"}, "https://login.microsoftonline.com/consumers/v2.0", "openid email profile", false, true},
		{Config{Name: "microsoft", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "openid email profile", false, false},
		{Config{Name: "apple", AppleKey: key, AppleTeamID: "T", AppleKeyID: "K"}, "https://appleid.apple.com", "openid email name", true, false},
		{Config{Name: "gitlab"}, "https://gitlab.com", "openid email profile", false, false},
		{Config{Name: "gitlab", Issuer: "https://gitlab.example.com"}, "https://gitlab.example.com", "openid email profile", false, false},
		{Config{Name: "my_idp", Issuer: "https://idp.example.com"}, "https://idp.example.com", "openid email profile", false, false},
		{Config{Name: "github"}, "", "read:user user:email", false, false},
	}
	for _, tt := range tests {
		p, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		name := tt.cfg.Name + " " + tt.cfg.Tenant + tt.cfg.Issuer
		if p.prof.issuer != tt.issuer {
			t.Errorf("%s: issuer %q, want %q", name, p.prof.issuer, tt.issuer)
		}
		if got := strings.Join(p.Scopes(), " "); got != tt.scopes {
			t.Errorf("%s: scopes %q, want %q", name, got, tt.scopes)
		}
		if p.FormPost() != tt.formPost || p.prof.multiTenant != tt.multiTenant {
			t.Errorf("%s: form post %v, multi-tenant %v", name, p.FormPost(), p.prof.multiTenant)
		}
	}

	// GitHub's endpoints are fixed: no discovery.
	p, _ := New(Config{Name: "github", ClientID: "gh-id", RedirectURI: "https://auth.example.com/v1/oauth/github/callback"})
	r, err := p.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(r.URL)
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://github.com/login/oauth/authorize" {
		t.Errorf("github authorize URL %q", got)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": "gh-id", "redirect_uri": "https://auth.example.com/v1/oauth/github/callback", "response_type": "code",
		"scope": "read:user user:email", "state": r.State, "code_challenge_method": "S256",
	} {
		if q.Get(k) != want {
			t.Errorf("github %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if r.Nonce != "" || q.Has("nonce") {
		t.Errorf("github is not OpenID Connect: nonce %q", r.Nonce)
	}
	ep, _ := p.endpoint(context.Background())
	if ep.TokenURL != "https://github.com/login/oauth/access_token" {
		t.Errorf("github token URL %q", ep.TokenURL)
	}
	p, _ = New(Config{Name: "github"}, WithGitHubURLs("http://127.0.0.1:1", "http://127.0.0.1:2"))
	if p.ghWeb != "http://127.0.0.1:1" || p.ghAPI != "http://127.0.0.1:2" {
		t.Error("WithGitHubURLs ignored")
	}
}

// TestAppleClientSecret: the client secret is the ES256 JWT Apple
// documents, signed with the configured key.
func TestAppleClientSecret(t *testing.T) {
	t.Parallel()
	keyPEM, _ := appleKeyPEM(t)
	key, err := parseAppleKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cfg := Config{Name: "apple", ClientID: "com.example.web", AppleTeamID: "TEAM123456", AppleKeyID: "KEY1234567", AppleKey: key}
	p, err := New(cfg, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := p.prof.clientSecret(now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	if h.Algorithm != "ES256" || h.KeyID != "KEY1234567" {
		t.Errorf("header alg %q kid %q, want ES256 KEY1234567", h.Algorithm, h.KeyID)
	}
	var c jwt.Claims
	if err := tok.Claims(&key.PublicKey, &c); err != nil {
		t.Fatalf("not signed by the configured key: %v", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "TEAM123456", Subject: "com.example.web", AnyAudience: jwt.Audience{"https://appleid.apple.com"}, Time: now}, 0); err != nil {
		t.Error(err)
	}
	if len(c.Audience) != 1 || !c.IssuedAt.Time().Equal(now) || c.Expiry.Time().Sub(now) <= 0 || c.Expiry.Time().Sub(now) > 183*24*time.Hour {
		t.Errorf("aud %q, iat %v, exp %v: want one audience, iat now, exp within six months", c.Audience, c.IssuedAt.Time(), c.Expiry.Time())
	}
}

func TestAppleName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.com"}`: "Ada Lovelace",
		`{"name":{"firstName":"Ada"}}`: "Ada",
		``:                             "",
		`not json`:                     "",
	} {
		if got := AppleName(in); got != want {
			t.Errorf("AppleName(%q) = %q, want %q", in, got, want)
		}
	}
}
