package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func redirectOf(name string) string { return "https://auth.example.com/v1/oauth/" + name + "/callback" }

// setup is a provider named name pointed at a fresh fake.
type setup struct {
	fake  *oauthtest.OIDC
	p     *oauth.Provider
	clock *clocktest.Clock
}

func newSetup(t *testing.T, cfg oauth.Config, o oauthtest.OIDCOptions, u oauthtest.User) setup {
	t.Helper()
	clock := clocktest.New(t0)
	cfg.RedirectURI = redirectOf(cfg.Name)
	if cfg.ClientID == "" {
		cfg.ClientID = "client-" + cfg.Name
	}
	if cfg.ClientSecret == "" && cfg.Name != "apple" {
		cfg.ClientSecret = "secret-" + cfg.Name
	}
	o.ClientID, o.ClientSecret, o.RedirectURI, o.Now = cfg.ClientID, cfg.ClientSecret, cfg.RedirectURI, clock.Now
	fake := oauthtest.NewOIDC(t, o, u)
	p, err := oauth.New(cfg, oauth.WithIssuer(fake.Issuer), oauth.WithClock(clock.Now),
		oauth.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return setup{fake, p, clock}
}

// signIn runs the browser's part: Start, the fake's authorization, the
// callback's error check. It returns the request and the callback's values.
func (s setup) signIn(t *testing.T) (oauth.AuthRequest, url.Values) {
	t.Helper()
	r, err := s.p.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cb, err := oauthtest.Follow(http.DefaultClient, r.URL)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Get("state") != r.State {
		t.Fatalf("state %q came back as %q", r.State, cb.Get("state"))
	}
	return r, cb
}

func appleKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCodeFlow: the whole flow against the fake for each built-in OpenID
// Connect provider, with each one's client authentication, response mode
// and claims.
func TestCodeFlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  oauth.Config
		o    oauthtest.OIDCOptions
		user oauthtest.User
		want oauth.Identity
	}{
		{"google", oauth.Config{Name: "google"}, oauthtest.OIDCOptions{},
			oauthtest.User{Subject: "1077", Email: "ada@example.com", EmailVerified: true, Name: "Ada"},
			oauth.Identity{Provider: "google", Subject: "1077", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}},
		{"google unverified", oauth.Config{Name: "google"}, oauthtest.OIDCOptions{},
			oauthtest.User{Subject: "1078", Email: "bob@example.com", EmailVerified: false},
			oauth.Identity{Provider: "google", Subject: "1078", Email: "bob@example.com"}},
		{"gitlab self-hosted", oauth.Config{Name: "gitlab"}, oauthtest.OIDCOptions{},
			oauthtest.User{Subject: "42", Email: "ada@example.com", EmailVerified: true, Name: "Ada"},
			oauth.Identity{Provider: "gitlab", Subject: "42", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}},
		{"generic, email_verified absent", oauth.Config{Name: "acme", Issuer: "set by WithIssuer"}, oauthtest.OIDCOptions{AuthMethod: "client_secret_post"},
			oauthtest.User{Subject: "u1", Email: "ada@example.com"},
			oauth.Identity{Provider: "acme", Subject: "u1", Email: "ada@example.com"}},
		{"apple, email_verified a string", oauth.Config{Name: "apple", AppleTeamID: "TEAM", AppleKeyID: "KID"}, oauthtest.OIDCOptions{AuthMethod: "client_secret_post"},
			oauthtest.User{Subject: "001234.abcd", Email: "x@privaterelay.appleid.com", EmailVerified: "true", Extra: map[string]any{"is_private_email": "true"}},
			oauth.Identity{Provider: "apple", Subject: "001234.abcd", Email: "x@privaterelay.appleid.com", EmailVerified: true}},
		{"microsoft, one tenant, no xms_edov", oauth.Config{Name: "microsoft", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}, oauthtest.OIDCOptions{},
			oauthtest.User{Subject: "ms1", Email: "ada@contoso.com", Name: "Ada", Extra: map[string]any{"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
			oauth.Identity{Provider: "microsoft", Subject: "ms1", Email: "ada@contoso.com", Name: "Ada"}},
		{"microsoft common, email_verified true is not believed", oauth.Config{Name: "microsoft", Tenant: "common"}, oauthtest.OIDCOptions{IssuerPath: "/{tenantid}/v2.0"},
			oauthtest.User{Subject: "ms2", Email: "ada@contoso.com", EmailVerified: true, Extra: map[string]any{"tid": "9188040d-6c67-4c5b-b112-36a304b66dad"}},
			oauth.Identity{Provider: "microsoft", Subject: "ms2", Email: "ada@contoso.com"}},
		{"microsoft consumers, its one tenant's issuer", oauth.Config{Name: "microsoft", Tenant: "consumers"}, oauthtest.OIDCOptions{IssuerPath: "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"},
			oauthtest.User{Subject: "ms4", Email: "ada@outlook.com", Extra: map[string]any{"tid": "9188040d-6c67-4c5b-b112-36a304b66dad"}},
			oauth.Identity{Provider: "microsoft", Subject: "ms4", Email: "ada@outlook.com"}},
		{"microsoft organizations, xms_edov", oauth.Config{Name: "microsoft", Tenant: "organizations"}, oauthtest.OIDCOptions{IssuerPath: "/{tenantid}/v2.0"},
			oauthtest.User{Subject: "ms3", Email: "ada@contoso.com", Extra: map[string]any{"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "xms_edov": true}},
			oauth.Identity{Provider: "microsoft", Subject: "ms3", Email: "ada@contoso.com", EmailVerified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.cfg.Name == "apple" {
				tt.cfg.AppleKey = appleKey(t)
				tt.o.Apple = &oauthtest.AppleSecret{TeamID: tt.cfg.AppleTeamID, KeyID: tt.cfg.AppleKeyID, Key: &tt.cfg.AppleKey.PublicKey}
			}
			s := newSetup(t, tt.cfg, tt.o, tt.user)
			r, cb := s.signIn(t)
			if (cb.Get("code") != "") == false {
				t.Fatalf("callback %v", cb)
			}
			if err := s.p.CallbackError(cb); err != nil {
				t.Fatal(err)
			}
			id, err := s.p.Finish(context.Background(), cb.Get("code"), r.Verifier, r.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.want {
				t.Errorf("identity %+v, want %+v", id, tt.want)
			}
		})
	}
}

// TestBadIDTokens: each bad ID token the fake mints is refused with the
// check that caught it.
func TestBadIDTokens(t *testing.T) {
	t.Parallel()
	user := oauthtest.User{Subject: "1077", Email: "ada@example.com", EmailVerified: true}
	for bad, want := range map[oauthtest.Bad]oauth.Check{
		oauthtest.BadNonce:     oauth.CheckNonce,
		oauthtest.BadAudience:  oauth.CheckAudience,
		oauthtest.BadIssuer:    oauth.CheckIssuer,
		oauthtest.Expired:      oauth.CheckExpired,
		oauthtest.UnknownKey:   oauth.CheckSignature,
		oauthtest.BadSignature: oauth.CheckSignature,
		oauthtest.AlgNone:      oauth.CheckMalformed,
		oauthtest.NoIDToken:    oauth.CheckMissing,
	} {
		t.Run(string(bad), func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, user)
			r, cb := s.signIn(t)
			s.fake.NextBad(bad)
			_, err := s.p.Finish(context.Background(), cb.Get("code"), r.Verifier, r.Nonce)
			if got := oauth.BadTokenCheck(err); got != want {
				t.Fatalf("error %v: check %q, want %q", err, got, want)
			}
		})
	}
}

// TestMicrosoftTenantIssuer: on a shared tenant, a token whose iss is
// another tenant than its tid says is refused (the template is checked
// with the token's own tid, not merely its shape).
func TestMicrosoftTenantIssuer(t *testing.T) {
	t.Parallel()
	for name, extra := range map[string]map[string]any{
		"no tid":            {},
		"tid of another":    {"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "iss_tid": "other"},
		"template verbatim": {"tid": "{tenantid}"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, oauth.Config{Name: "microsoft", Tenant: "common"}, oauthtest.OIDCOptions{IssuerPath: "/{tenantid}/v2.0"},
				oauthtest.User{Subject: "ms", Email: "a@contoso.com", Extra: extra})
			tok := s.fake.IDToken(oauthtest.User{Subject: "ms", Email: "a@contoso.com", Extra: extra}, "client-microsoft", "", oauthtest.Good)
			if extra["iss_tid"] != nil {
				// A token minted for one tenant, its tid then claiming
				// another: sign it with the other tenant's issuer.
				tok = s.fake.IDToken(oauthtest.User{Subject: "ms", Email: "a@contoso.com", Extra: map[string]any{"tid": "aaaaaaaa-0000-0000-0000-000000000000", "iss": s.fake.URL + "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"}}, "client-microsoft", "", oauthtest.Good)
			}
			_, err := s.p.VerifyIDToken(context.Background(), tok, "")
			if got := oauth.BadTokenCheck(err); got != oauth.CheckIssuer {
				t.Fatalf("error %v: check %q, want issuer", err, got)
			}
		})
	}
}

// TestCodeRefused: the fake refuses a wrong PKCE verifier and a reused
// code, so the flow tests above prove the verifier and code are sent
// right.
func TestCodeRefused(t *testing.T) {
	t.Parallel()
	user := oauthtest.User{Subject: "1077", Email: "ada@example.com", EmailVerified: true}
	s := newSetup(t, oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, user)
	ctx := context.Background()

	r, cb := s.signIn(t)
	other, _ := s.signIn(t)
	_, err := s.p.Finish(ctx, cb.Get("code"), other.Verifier, r.Nonce)
	if !oauth.IsKind(err, oauth.KindCodeRejected) {
		t.Fatalf("another sign-in's verifier: %v", err)
	}

	r, cb = s.signIn(t)
	if _, err := s.p.Finish(ctx, cb.Get("code"), r.Verifier, r.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = s.p.Finish(ctx, cb.Get("code"), r.Verifier, r.Nonce)
	var e *oauth.Error
	if !errors.As(err, &e) || e.Kind != oauth.KindCodeRejected || e.Code != "invalid_grant" {
		t.Fatalf("code used twice: %v", err)
	}

	// The nonce Start made is required.
	r, cb = s.signIn(t)
	if _, err := s.p.Finish(ctx, cb.Get("code"), r.Verifier, ""); oauth.BadTokenCheck(err) != oauth.CheckNonce {
		t.Fatalf("no nonce: %v", err)
	}

	// Apple's client secret signed with another key is refused.
	ak := appleKey(t)
	s = newSetup(t, oauth.Config{Name: "apple", AppleTeamID: "TEAM", AppleKeyID: "KID", AppleKey: appleKey(t)},
		oauthtest.OIDCOptions{AuthMethod: "client_secret_post", Apple: &oauthtest.AppleSecret{TeamID: "TEAM", KeyID: "KID", Key: &ak.PublicKey}}, user)
	r, cb = s.signIn(t)
	if _, err := s.p.Finish(ctx, cb.Get("code"), r.Verifier, r.Nonce); !oauth.IsKind(err, oauth.KindCodeRejected) {
		t.Fatalf("apple secret signed by another key: %v", err)
	}

	// The client authentication the provider documents: a provider that
	// takes only client_secret_post refuses the header, and we send what
	// discovery lists (the flow tests cover both).
	s = newSetup(t, oauth.Config{Name: "acme", Issuer: "x", ClientSecret: "right"}, oauthtest.OIDCOptions{AuthMethod: "client_secret_post"}, user)
	r, cb = s.signIn(t)
	wrong, _ := oauth.New(oauth.Config{Name: "acme", Issuer: "x", ClientID: "client-acme", ClientSecret: "wrong", RedirectURI: redirectOf("acme")}, oauth.WithIssuer(s.fake.Issuer))
	if _, err := wrong.Finish(ctx, cb.Get("code"), r.Verifier, r.Nonce); !oauth.IsKind(err, oauth.KindCodeRejected) {
		t.Fatalf("wrong client secret: %v", err)
	}
}

// TestCallbackErrors: the provider's answers on the callback.
func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	s := newSetup(t, oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, oauthtest.User{Subject: "1", Email: "a@example.com"})
	s.fake.Deny(true)
	_, cb := s.signIn(t)
	err := s.p.CallbackError(cb)
	if !oauth.IsKind(err, oauth.KindDenied) {
		t.Fatalf("denied consent: %v", err)
	}
	if w := err.(*oauth.Error).Words(); w == "" {
		t.Error("no words for a person")
	}
	if err := s.p.CallbackError(url.Values{"error": {"server_error"}, "state": {"s"}}); !oauth.IsKind(err, oauth.KindProviderError) {
		t.Fatalf("server_error: %v", err)
	}
	if err := s.p.CallbackError(url.Values{"state": {"s"}}); !oauth.IsKind(err, oauth.KindProviderError) {
		t.Fatalf("neither code nor error: %v", err)
	}
}

// TestUnreachable: a provider that is down fails with KindUnreachable;
// New itself makes no request, so start-up never waits on a provider.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	p, err := oauth.New(oauth.Config{Name: "acme", Issuer: "x", ClientID: "c", ClientSecret: "s", RedirectURI: redirectOf("acme")},
		oauth.WithIssuer("http://127.0.0.1:1"), oauth.WithDiscoveryTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Start(context.Background()); !oauth.IsKind(err, oauth.KindUnreachable) {
		t.Fatalf("start: %v", err)
	}
	if _, err := p.VerifyIDToken(context.Background(), "x.y.z", ""); !oauth.IsKind(err, oauth.KindUnreachable) {
		t.Fatalf("verify: %v", err)
	}
}

// TestOutage: discovery happens once and is kept; a provider down at the
// first sign-in is not remembered as down; keys that cannot be fetched
// are the provider unreachable, not a bad token.
func TestOutage(t *testing.T) {
	t.Parallel()
	user := oauthtest.User{Subject: "1077", Email: "ada@example.com", EmailVerified: true}
	s := newSetup(t, oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, user)
	ctx := context.Background()
	s.fake.Down(true)
	if _, err := s.p.Start(ctx); !oauth.IsKind(err, oauth.KindUnreachable) {
		t.Fatalf("discovery while down: %v", err)
	}
	s.fake.Down(false)
	for range 2 {
		r, cb := s.signIn(t)
		if _, err := s.p.Finish(ctx, cb.Get("code"), r.Verifier, r.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.fake.Discoveries(); n != 1 {
		t.Errorf("%d discoveries, want 1 (kept after the first success)", n)
	}
	// A token signed by a key not yet fetched makes go-oidc fetch the
	// keys: while the provider is down that is unreachable.
	tok := s.fake.IDToken(user, "client-google", "", oauthtest.UnknownKey)
	s.fake.Down(true)
	if _, err := s.p.VerifyIDToken(ctx, tok, ""); !oauth.IsKind(err, oauth.KindUnreachable) {
		t.Fatalf("keys while down: %v", err)
	}
}

// TestVerifyIDToken: the id_token grant accepts any of the provider's
// client IDs as the audience, checks a given nonce, and refuses every bad
// token.
func TestVerifyIDToken(t *testing.T) {
	t.Parallel()
	user := oauthtest.User{Subject: "1077", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}
	s := newSetup(t, oauth.Config{Name: "google", ClientIDs: []string{"ios-app", "android-app"}}, oauthtest.OIDCOptions{}, user)
	ctx := context.Background()
	for _, aud := range []string{"client-google", "ios-app", "android-app"} {
		id, err := s.p.VerifyIDToken(ctx, s.fake.IDToken(user, aud, "n1", oauthtest.Good), "n1")
		if err != nil || id.Subject != "1077" || !id.EmailVerified {
			t.Fatalf("audience %s: %+v %v", aud, id, err)
		}
	}
	if _, err := s.p.VerifyIDToken(ctx, s.fake.IDToken(user, "ios-app", "", oauthtest.Good), ""); err != nil {
		t.Fatalf("no nonce asked: %v", err)
	}
	tests := []struct {
		name  string
		aud   string
		nonce string
		bad   oauthtest.Bad
		user  oauthtest.User
		check oauth.Check
	}{
		{"another app", "someone-elses-app", "n1", oauthtest.Good, user, oauth.CheckAudience},
		{"azp of another app", "ios-app", "n1", oauthtest.Good, oauthtest.User{Subject: "1", Email: "a@example.com", Extra: map[string]any{"azp": "someone-elses-app"}}, oauth.CheckAudience},
		{"nonce", "ios-app", "n1", oauthtest.BadNonce, user, oauth.CheckNonce},
		{"expired", "ios-app", "n1", oauthtest.Expired, user, oauth.CheckExpired},
		{"issuer", "ios-app", "n1", oauthtest.BadIssuer, user, oauth.CheckIssuer},
		{"unknown key", "ios-app", "n1", oauthtest.UnknownKey, user, oauth.CheckSignature},
		{"signature", "ios-app", "n1", oauthtest.BadSignature, user, oauth.CheckSignature},
		{"alg none", "ios-app", "n1", oauthtest.AlgNone, user, oauth.CheckMalformed},
		{"no subject", "ios-app", "n1", oauthtest.Good, oauthtest.User{Email: "a@example.com"}, oauth.CheckSubject},
	}
	for _, tt := range tests {
		_, err := s.p.VerifyIDToken(ctx, s.fake.IDToken(tt.user, tt.aud, "n1", tt.bad), tt.nonce)
		if got := oauth.BadTokenCheck(err); got != tt.check {
			t.Errorf("%s: %v: check %q, want %q", tt.name, err, got, tt.check)
		}
	}
	if _, err := s.p.VerifyIDToken(ctx, "not a token", ""); oauth.BadTokenCheck(err) != oauth.CheckMalformed {
		t.Errorf("garbage: %v", err)
	}
	// A token valid now is refused once our clock passes its exp.
	tok := s.fake.IDToken(user, "ios-app", "", oauthtest.Good)
	s.clock.Advance(time.Hour)
	if _, err := s.p.VerifyIDToken(ctx, tok, ""); oauth.BadTokenCheck(err) != oauth.CheckExpired {
		t.Errorf("expired by our clock: %v", err)
	}
	if _, err := s.p.VerifyIDToken(ctx, s.fake.IDToken(oauthtest.User{Subject: "2"}, "ios-app", "", oauthtest.Good), ""); !oauth.IsKind(err, oauth.KindNoEmail) {
		t.Errorf("no email: %v", err)
	}
	gh, _ := oauth.New(oauth.Config{Name: "github", ClientID: "c", ClientSecret: "s"})
	if _, err := gh.VerifyIDToken(ctx, tok, ""); !oauth.IsKind(err, oauth.KindUnsupported) {
		t.Errorf("github id token: %v", err)
	}
}

// TestGitHub: the flow against the fake GitHub, and its rule that only a
// primary, verified email is verified.
func TestGitHub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		emails   []oauthtest.GitHubEmail
		email    string
		verified bool
		kind     oauth.Kind
	}{
		{"primary verified", []oauthtest.GitHubEmail{ghEmail("old@example.com", false, true), ghEmail("ada@example.com", true, true)}, "ada@example.com", true, ""},
		{"primary unverified", []oauthtest.GitHubEmail{ghEmail("ada@example.com", true, false)}, "ada@example.com", false, ""},
		{"verified but not primary", []oauthtest.GitHubEmail{ghEmail("victim@example.com", false, true), ghEmail("ada@example.com", true, false)}, "ada@example.com", false, ""},
		{"no primary", []oauthtest.GitHubEmail{ghEmail("ada@example.com", false, true)}, "", false, oauth.KindNoEmail},
		{"no emails", nil, "", false, oauth.KindNoEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := oauth.Config{Name: "github", ClientID: "gh-id", ClientSecret: "gh-secret", RedirectURI: redirectOf("github")}
			fake := oauthtest.NewGitHub(t, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURI,
				oauthtest.GitHubUser{ID: 583231, Login: "octocat", Emails: tt.emails})
			p, err := oauth.New(cfg, oauth.WithGitHubURLs(fake.URL, fake.URL))
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			cb, err := oauthtest.Follow(http.DefaultClient, r.URL)
			if err != nil || cb.Get("state") != r.State {
				t.Fatalf("%v %v", cb, err)
			}
			id, err := p.Finish(context.Background(), cb.Get("code"), r.Verifier, "")
			if tt.kind != "" {
				if !oauth.IsKind(err, tt.kind) {
					t.Fatalf("%v, want %s", err, tt.kind)
				}
				return
			}
			want := oauth.Identity{Provider: "github", Subject: "583231", Email: tt.email, EmailVerified: tt.verified, Name: "octocat"}
			if err != nil || id != want {
				t.Fatalf("%+v %v, want %+v", id, err, want)
			}
			// The code is single use, and PKCE is checked.
			if _, err := p.Finish(context.Background(), cb.Get("code"), r.Verifier, ""); !oauth.IsKind(err, oauth.KindCodeRejected) {
				t.Fatalf("reused code: %v", err)
			}
		})
	}

	cfg := oauth.Config{Name: "github", ClientID: "gh-id", ClientSecret: "gh-secret", RedirectURI: redirectOf("github")}
	fake := oauthtest.NewGitHub(t, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURI, oauthtest.GitHubUser{ID: 1, Login: "l", Name: "Name", Emails: []oauthtest.GitHubEmail{ghEmail("a@example.com", true, true)}})
	p, _ := oauth.New(cfg, oauth.WithGitHubURLs(fake.URL, fake.URL))
	r, _ := p.Start(context.Background())
	other, _ := p.Start(context.Background())
	cb, _ := oauthtest.Follow(http.DefaultClient, r.URL)
	if _, err := p.Finish(context.Background(), cb.Get("code"), other.Verifier, ""); !oauth.IsKind(err, oauth.KindCodeRejected) {
		t.Fatalf("wrong verifier: %v", err)
	}
	r, _ = p.Start(context.Background())
	cb, _ = oauthtest.Follow(http.DefaultClient, r.URL)
	if id, err := p.Finish(context.Background(), cb.Get("code"), r.Verifier, ""); err != nil || id.Name != "Name" {
		t.Fatalf("profile name: %+v %v", id, err)
	}
	fake.Deny(true)
	r, _ = p.Start(context.Background())
	cb, _ = oauthtest.Follow(http.DefaultClient, r.URL)
	if err := p.CallbackError(cb); !oauth.IsKind(err, oauth.KindDenied) {
		t.Fatalf("denied: %v", err)
	}
}

// TestFakeRefusesBadAuthorization: the fakes refuse an authorization
// request the real providers would (so ours passing proves it is right).
func TestFakeRefusesBadAuthorization(t *testing.T) {
	t.Parallel()
	s := newSetup(t, oauth.Config{Name: "google"}, oauthtest.OIDCOptions{}, oauthtest.User{Subject: "1", Email: "a@example.com"})
	r, err := s.p.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := url.Parse(r.URL)
	for name, change := range map[string]func(url.Values){
		"redirect_uri not exact": func(q url.Values) { q.Set("redirect_uri", q.Get("redirect_uri")+"/") },
		"no code_challenge":      func(q url.Values) { q.Del("code_challenge") },
		"plain PKCE":             func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"no nonce":               func(q url.Values) { q.Del("nonce") },
		"no state":               func(q url.Values) { q.Del("state") },
		"another client":         func(q url.Values) { q.Set("client_id", "x") },
		"implicit flow":          func(q url.Values) { q.Set("response_type", "token") },
	} {
		u := *good
		q := u.Query()
		change(q)
		u.RawQuery = q.Encode()
		if _, err := oauthtest.Follow(http.DefaultClient, u.String()); err == nil {
			t.Errorf("%s: the fake accepted it", name)
		}
	}
}

func ghEmail(email string, primary, verified bool) oauthtest.GitHubEmail {
	return oauthtest.GitHubEmail{Email: email, Primary: primary, Verified: verified}
}
