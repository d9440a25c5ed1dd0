package oauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
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
	// Apple: exp no more than 15777000 seconds (six months) after iat.
	if len(c.Audience) != 1 || !c.IssuedAt.Time().Equal(now) || c.Expiry.Time().Sub(now) <= 0 || c.Expiry.Time().Sub(now) > 15777000*time.Second {
		t.Errorf("aud %q, iat %v, exp %v: want one audience, iat now, exp within 15777000 s", c.Audience, c.IssuedAt.Time(), c.Expiry.Time())
	}
	// The claims exactly as Apple documents them: these five, aud a
	// string (not a list), iat and exp whole seconds.
	var raw map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": "TEAM123456", "sub": "com.example.web", "aud": "https://appleid.apple.com",
		"iat": float64(now.Unix()), "exp": float64(c.Expiry.Time().Unix()),
	}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("claims %v, want %v", raw, want)
	}
	if typ := h.ExtraHeaders["typ"]; typ != nil && typ != "JWT" {
		t.Errorf("typ %v", typ)
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

// discoveryDocs are the discovery documents the built-in OpenID Connect
// providers publish, reduced to what Gatehouse reads, as of their
// documentation: Google
// (https://accounts.google.com/.well-known/openid-configuration),
// Microsoft identity platform v2.0
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc),
// Sign in with Apple (https://appleid.apple.com/.well-known/openid-configuration)
// and GitLab (https://docs.gitlab.com/integration/openid_connect_provider/),
// keyed by the URL each is served at.
func discoveryDocs() map[string]string {
	const msConsumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	const msTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	doc := func(issuer, authz, token, jwks string, methods ...string) string {
		b, _ := json.Marshal(map[string]any{
			"issuer": issuer, "authorization_endpoint": authz, "token_endpoint": token, "jwks_uri": jwks,
			"id_token_signing_alg_values_supported": []string{"RS256"}, "token_endpoint_auth_methods_supported": methods,
		})
		return string(b)
	}
	ms := func(tenant, issuerTenant string) string {
		base := "https://login.microsoftonline.com/" + tenant
		return doc("https://login.microsoftonline.com/"+issuerTenant+"/v2.0", base+"/oauth2/v2.0/authorize", base+"/oauth2/v2.0/token",
			base+"/discovery/v2.0/keys", "client_secret_post", "private_key_jwt", "client_secret_basic")
	}
	const wk = "/.well-known/openid-configuration"
	return map[string]string{
		"https://accounts.google.com" + wk: doc("https://accounts.google.com", "https://accounts.google.com/o/oauth2/v2/auth",
			"https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v3/certs", "client_secret_post", "client_secret_basic"),
		"https://login.microsoftonline.com/common/v2.0" + wk:           ms("common", "{tenantid}"),
		"https://login.microsoftonline.com/organizations/v2.0" + wk:    ms("organizations", "{tenantid}"),
		"https://login.microsoftonline.com/consumers/v2.0" + wk:        ms("consumers", msConsumers),
		"https://login.microsoftonline.com/" + msTenant + "/v2.0" + wk: ms(msTenant, msTenant),
		"https://appleid.apple.com" + wk: doc("https://appleid.apple.com", "https://appleid.apple.com/auth/authorize",
			"https://appleid.apple.com/auth/token", "https://appleid.apple.com/auth/keys", "client_secret_post"),
		"https://gitlab.com" + wk: doc("https://gitlab.com", "https://gitlab.com/oauth/authorize",
			"https://gitlab.com/oauth/token", "https://gitlab.com/oauth/discovery/keys", "client_secret_basic", "client_secret_post"),
		"https://gitlab.example.com" + wk: doc("https://gitlab.example.com", "https://gitlab.example.com/oauth/authorize",
			"https://gitlab.example.com/oauth/token", "https://gitlab.example.com/oauth/discovery/keys", "client_secret_basic", "client_secret_post"),
	}
}

// docsTransport answers the discovery documents and nothing else, and
// records the URLs asked for.
type docsTransport struct {
	docs  map[string]string
	mu    sync.Mutex
	asked []string
}

func (d *docsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u := r.URL.String()
	d.mu.Lock()
	d.asked = append(d.asked, u)
	d.mu.Unlock()
	body, ok := d.docs[u]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, "not a discovery document"
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestBuiltinProviderEndpoints: for every built-in provider, the
// discovery document fetched is the one the provider documents, and what
// a sign-in is built from it is as documented: the authorization URL with
// the code flow, PKCE (S256), state, nonce, the scopes and (Apple)
// response_mode=form_post; the token URL; the client authentication
// (client_secret_basic, except Apple's client_secret_post and GitHub's
// parameters). GitHub's fixed endpoints are TestBuiltinProviders'.
func TestBuiltinProviderEndpoints(t *testing.T) {
	t.Parallel()
	keyPEM, _ := appleKeyPEM(t)
	key, err := parseAppleKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	const redirect = "https://auth.example.com/v1/oauth/x/callback"
	const msTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	ms := "https://login.microsoftonline.com/"
	for _, tc := range []struct {
		cfg              Config
		discovery        string
		authorize, token string
		scope            string
		style            oauth2.AuthStyle
		formPost         bool
	}{
		{Config{Name: "google"}, "https://accounts.google.com/.well-known/openid-configuration",
			"https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "microsoft"}, ms + "common/v2.0/.well-known/openid-configuration",
			ms + "common/oauth2/v2.0/authorize", ms + "common/oauth2/v2.0/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "microsoft", Tenant: "organizations"}, ms + "organizations/v2.0/.well-known/openid-configuration",
			ms + "organizations/oauth2/v2.0/authorize", ms + "organizations/oauth2/v2.0/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "microsoft", Tenant: "consumers"}, ms + "consumers/v2.0/.well-known/openid-configuration",
			ms + "consumers/oauth2/v2.0/authorize", ms + "consumers/oauth2/v2.0/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "microsoft", Tenant: msTenant}, ms + msTenant + "/v2.0/.well-known/openid-configuration",
			ms + msTenant + "/oauth2/v2.0/authorize", ms + msTenant + "/oauth2/v2.0/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "apple", AppleKey: key, AppleTeamID: "TEAM123456", AppleKeyID: "KEY1234567"},
			"https://appleid.apple.com/.well-known/openid-configuration",
			"https://appleid.apple.com/auth/authorize", "https://appleid.apple.com/auth/token",
			"openid email name", oauth2.AuthStyleInParams, true},
		{Config{Name: "gitlab"}, "https://gitlab.com/.well-known/openid-configuration",
			"https://gitlab.com/oauth/authorize", "https://gitlab.com/oauth/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
		{Config{Name: "gitlab", Issuer: "https://gitlab.example.com"}, "https://gitlab.example.com/.well-known/openid-configuration",
			"https://gitlab.example.com/oauth/authorize", "https://gitlab.example.com/oauth/token",
			"openid email profile", oauth2.AuthStyleInHeader, false},
	} {
		name := tc.cfg.Name + " " + tc.cfg.Tenant + tc.cfg.Issuer
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr := &docsTransport{docs: discoveryDocs()}
			tc.cfg.ClientID, tc.cfg.RedirectURI = "client-id", redirect
			p, err := New(tc.cfg, WithHTTPClient(&http.Client{Transport: tr}))
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Start(t.Context())
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if len(tr.asked) != 1 || tr.asked[0] != tc.discovery {
				t.Errorf("fetched %q, want only the discovery document %q", tr.asked, tc.discovery)
			}
			u, err := url.Parse(r.URL)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != tc.authorize {
				t.Errorf("authorization URL %q, want %q", got, tc.authorize)
			}
			q := u.Query()
			want := map[string]string{
				"client_id": "client-id", "redirect_uri": redirect, "response_type": "code", "scope": tc.scope,
				"state": r.State, "nonce": r.Nonce, "code_challenge_method": "S256",
				"code_challenge": oauth2.S256ChallengeFromVerifier(r.Verifier),
			}
			if tc.formPost {
				want["response_mode"] = "form_post"
			}
			for k, v := range want {
				if q.Get(k) != v || v == "" {
					t.Errorf("%s=%q, want %q", k, q.Get(k), v)
				}
			}
			if len(q) != len(want) {
				t.Errorf("authorization query %v, want only %v", q, want)
			}
			ep, err := p.endpoint(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if ep.TokenURL != tc.token || ep.AuthStyle != tc.style {
				t.Errorf("token URL %q (auth style %v), want %q (%v)", ep.TokenURL, ep.AuthStyle, tc.token, tc.style)
			}
		})
	}
}
