package gatehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testConfig(dbURL string, clock auth.Clock) gatehouse.Config {
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.Secret = testSecret
	cfg.PublicURL = "https://auth.example.test"
	cfg.Clock = clock
	cfg.Logger = discardLogger()
	return cfg
}

func newGatehouse(t *testing.T, cfg gatehouse.Config) *gatehouse.Gatehouse {
	t.Helper()
	g, err := gatehouse.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// TestRequireAuth mounts Gatehouse and a protected handler in one app, as
// docs/contract.md's "Go" line describes.
func TestRequireAuth(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) {
		s := gatehousetest.Start(t, gatehousetest.WithDB(db))
		g, clock := s.G, s.Clock
		tok := s.Account(t, "app@example.com").AccessToken

		var calls int
		var seen gatehouse.User
		mux := http.NewServeMux()
		mux.Handle("/", g.Handler())
		mux.Handle("/app/", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			p, ok := gatehouse.UserFrom(r.Context())
			if !ok {
				t.Error("UserFrom found no user behind RequireAuth")
			}
			seen = p
			io.WriteString(w, "hello "+p.Email)
		})))
		srv := httptest.NewServer(mux)
		defer srv.Close()

		get := func(path string, auth string) (*http.Response, string) {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, string(b)
		}

		res, body := get("/app/page", "Bearer "+tok)
		if res.StatusCode != http.StatusOK || body != "hello app@example.com" {
			t.Fatalf("signed in: %d %q", res.StatusCode, body)
		}
		if seen.ID == "" || seen.Email != "app@example.com" || seen.SessionID == "" || seen.AAL != "aal1" || !slices.Equal(seen.AMR, []string{"pwd"}) {
			t.Errorf("user %+v", seen)
		}

		for _, a := range []string{"", "Bearer garbage", "Basic " + tok} {
			res, body = get("/app/page", a)
			var p struct {
				Status int    `json:"status"`
				Code   string `json:"code"`
			}
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal([]byte(body), &p) != nil || p.Code != "unauthorized" || p.Status != 401 {
				t.Errorf("auth %q: %d %s %s", a, res.StatusCode, res.Header.Get("Content-Type"), body)
			}
		}
		clock.Advance(16 * time.Minute)
		if res, body = get("/app/page", "Bearer "+tok); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"token_expired"`) {
			t.Errorf("expired: %d %s", res.StatusCode, body)
		}
		if calls != 1 {
			t.Errorf("the protected handler ran %d times, want 1", calls)
		}
		// Gatehouse itself answers beside the app.
		if res, _ := get("/healthz", ""); res.StatusCode != http.StatusOK {
			t.Errorf("/healthz through the app's mux: %d", res.StatusCode)
		}
		if _, ok := gatehouse.UserFrom(context.Background()); ok {
			t.Error("UserFrom found a user in an empty context")
		}
	})
}

// TestEmbeddingAppCannotBreakCheck: an application that mounts Gatehouse
// does everything it can with the user RequireAuth hands it, and with the
// principals the exported flows return, and /v1/check still answers 200
// with the session as it is, from the same cached view.
func TestEmbeddingAppCannotBreakCheck(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	g := s.G
	tok := s.Account(t, "embed@example.com").AccessToken

	mux := http.NewServeMux()
	mux.Handle("/", g.Handler())
	mux.Handle("/app/", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := gatehouse.UserFrom(r.Context())
		u.AMR[0] = "mfa"
		u.AMR = append(u.AMR, "hwk")
		u.ID, u.Email, u.SessionID, u.AAL = "someone-else", "evil@example.com", "", "aal2"
		if again, _ := gatehouse.UserFrom(r.Context()); again.Email != "embed@example.com" || !slices.Equal(again.AMR, []string{"pwd"}) {
			t.Errorf("a change to one copy shows in the next: %+v", again)
		}
		// What the exported flows hand out: their memo can hold anything
		// under any key this package can name.
		p, err := g.Auth().BearerPrincipal(r.Context(), tok)
		if err != nil {
			t.Error(err)
			return
		}
		for _, key := range []any{nil, "", "check", struct{}{}, 0} {
			p.Memo(key, func() any { return 42 })
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for round := range 2 { // before and after the check's own body is cached
		if res, _ := get("/app/"); res.StatusCode != http.StatusNoContent {
			t.Fatalf("round %d: the app answered %d", round, res.StatusCode)
		}
		res, body := get("/v1/check")
		var who struct {
			User struct {
				Email string `json:"email"`
			} `json:"user"`
			Session struct {
				AAL string   `json:"aal"`
				AMR []string `json:"amr"`
			} `json:"session"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &who) != nil ||
			who.User.Email != "embed@example.com" || who.Session.AAL != "aal1" || !slices.Equal(who.Session.AMR, []string{"pwd"}) {
			t.Errorf("round %d: /v1/check answered %d %s", round, res.StatusCode, body)
		}
		if res.Header.Get("X-Auth-Email") != "embed@example.com" {
			t.Errorf("round %d: X-Auth-Email %q", round, res.Header.Get("X-Auth-Email"))
		}
	}
}

func TestNewAnswersEffectiveConfig(t *testing.T) {
	t.Parallel()
	cfg := testConfig(sqltest.SQLiteURL(t), nil)
	cfg.PublicURL = "https://auth.example.test/"
	g := newGatehouse(t, cfg)
	got := g.Config()
	if got.PublicURL != "https://auth.example.test" || got.Clock == nil || got.Secret != testSecret {
		t.Errorf("Config() = PublicURL %q, Clock %v", got.PublicURL, got.Clock)
	}
	if g.Handler() != http.Handler(g) || g.Logger() != cfg.Logger || g.Keys() == nil || g.Auth() == nil {
		t.Error("accessors do not answer the server's own parts")
	}
	// The issuer in the metadata is the trimmed public URL.
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/openid-configuration", nil))
	var meta map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &meta); err != nil || meta["issuer"] != "https://auth.example.test" {
		t.Errorf("metadata %s", rec.Body)
	}
}

// TestMigrateThenSkip: a server told to skip migrations refuses an empty
// database and starts on one Migrate brought up to date.
func TestMigrateThenSkip(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) {
		ctx := context.Background()
		dbURL := db.URL(t)
		empty := testConfig(dbURL, nil)
		empty.SkipMigrations = true
		if g, err := gatehouse.New(ctx, empty); err == nil {
			g.Close()
			t.Error("New with SkipMigrations started on an empty database")
		}

		mcfg := testConfig(dbURL, nil)
		if err := gatehouse.Migrate(ctx, mcfg); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if err := gatehouse.Migrate(ctx, mcfg); err != nil {
			t.Fatalf("Migrate twice: %v", err)
		}
		g := newGatehouse(t, empty)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("/readyz %d %s", rec.Code, rec.Body)
		}
		bad := mcfg
		bad.PublicURL = "nope"
		if err := gatehouse.Migrate(ctx, bad); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_PUBLIC_URL: ") {
			t.Errorf("Migrate with a bad config: %v", err)
		}
	})
}

// TestNewReportsStoreFirst: New readies the store while it builds the
// rest, and when both fail the store's error is the one returned, as when
// the store came first; a build error alone is returned too.
func TestNewReportsStoreFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "signin_code.txt"), []byte("Your code: {{.Code"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An empty database that is not migrated: loading the keys fails.
	both := testConfig(sqltest.SQLiteURL(t), nil)
	both.SkipMigrations = true
	both.MailURL, both.Console, both.TemplatesDir = "console:", io.Discard, broken
	if g, err := gatehouse.New(ctx, both); err == nil {
		g.Close()
		t.Fatal("New started on an empty database with a broken template")
	} else if !strings.Contains(err.Error(), "load signing keys") || strings.Contains(err.Error(), "GATEHOUSE_TEMPLATES_DIR") {
		t.Errorf("New = %v, want the store's error alone", err)
	}
	build := both
	build.DatabaseURL, build.SkipMigrations = sqltest.SQLiteURL(t), false
	if g, err := gatehouse.New(ctx, build); err == nil {
		g.Close()
		t.Fatal("New started with a broken template")
	} else if !strings.HasPrefix(err.Error(), "GATEHOUSE_TEMPLATES_DIR: ") {
		t.Errorf("New = %v, want the template's error", err)
	}
}

// TestDevCookies: the session cookie drops Secure only in dev mode on a
// plain-http localhost public URL.
func TestDevCookies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dev       bool
		publicURL string
		secure    bool
	}{
		{false, "https://auth.example.test", true},
		{false, "http://localhost:3000", true},
		{true, "https://auth.example.test", true},
		{true, "http://auth.example.test", true},
		{true, "http://localhost:3000", false},
		{true, "http://127.0.0.1:3000", false},
	} {
		t.Run(fmt.Sprintf("dev=%v %s", tc.dev, tc.publicURL), func(t *testing.T) {
			t.Parallel()
			s := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
				c.Dev, c.PublicURL = tc.dev, tc.publicURL
			}))
			g := s.G
			s.SignUp(t, "cookie@example.com", "")
			cookie, _ := s.Session(t, "cookie@example.com", auth.Client{}, auth.MethodOTP)
			req := httptest.NewRequest("POST", "/v1/logout", nil)
			req.AddCookie(&http.Cookie{Name: g.Config().SessionCookieName, Value: cookie})
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			cs := rec.Result().Cookies()
			if rec.Code != http.StatusNoContent || len(cs) != 1 {
				t.Fatalf("logout: %d, cookies %v", rec.Code, rec.Header().Values("Set-Cookie"))
			}
			wantName := "gatehouse_session"
			if strings.HasPrefix(tc.publicURL, "https://") {
				wantName = "__Host-gatehouse_session" // over https the cookie takes the prefix
			}
			if cs[0].Name != wantName || cs[0].Path != "/" || cs[0].Domain != "" {
				t.Errorf("cookie %q, want %s with Path=/ and no Domain", rec.Header().Get("Set-Cookie"), wantName)
			}
			if cs[0].Secure != tc.secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode {
				t.Errorf("dev=%v %s: Set-Cookie %q, want Secure=%v", tc.dev, tc.publicURL, rec.Header().Get("Set-Cookie"), tc.secure)
			}
		})
	}
}

// TestCookieDomain: with GATEHOUSE_COOKIE_DOMAIN the session cookie is
// the parent domain's, with the __Secure- prefix (__Host- forbids a
// domain), and the pages of the apps single sign-on joins
// (GATEHOUSE_ALLOWED_REDIRECTS under that domain, wildcards included) may
// post to Gatehouse; other sites still may not.
func TestCookieDomain(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.PublicURL, c.CookieDomain = "https://auth.example.test", "Example.Test."
		c.AllowedRedirects = []string{"https://auth.example.test", "https://*.example.test", "https://partner.test"}
	}))
	if got := s.G.Config().SessionCookieName; got != "__Secure-gatehouse_session" {
		t.Errorf("cookie name %q, want __Secure-gatehouse_session", got)
	}
	s.SignUp(t, "sso@example.com", "")
	cookie, _ := s.Session(t, "sso@example.com", auth.Client{}, auth.MethodOTP)
	req := httptest.NewRequest("POST", "/v1/logout", nil)
	req.AddCookie(&http.Cookie{Name: s.G.Config().SessionCookieName, Value: cookie})
	rec := httptest.NewRecorder()
	s.G.ServeHTTP(rec, req)
	cs := rec.Result().Cookies()
	if rec.Code != http.StatusNoContent || len(cs) != 1 {
		t.Fatalf("logout: %d, cookies %v", rec.Code, rec.Header().Values("Set-Cookie"))
	}
	if c := cs[0]; c.Domain != "example.test" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("Set-Cookie %q, want Domain=example.test, Secure, HttpOnly, Path=/, SameSite=Lax", rec.Header().Get("Set-Cookie"))
	}

	for _, tc := range []struct {
		origin string
		status int
	}{
		{"https://app.example.test", http.StatusUnauthorized}, // joined: the API answers (no session)
		{"https://a.b.example.test", http.StatusUnauthorized},
		{"https://evil.test", http.StatusForbidden},
		{"https://example.test.evil.test", http.StatusForbidden},
		{"http://app.example.test", http.StatusForbidden}, // another scheme
		{"https://partner.test", http.StatusForbidden},    // allowed as a redirect, outside the cookie's domain
	} {
		r := s.Do(t, "POST", "/v1/logout", nil, gatehousetest.Header("Sec-Fetch-Site", "same-site"), gatehousetest.Header("Origin", tc.origin))
		if r.Status != tc.status {
			t.Errorf("POST from %s: %d, want %d", tc.origin, r.Status, tc.status)
		}
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dev          bool
		format       string
		level        string
		json, debugs bool
	}{
		{false, "", "info", true, false},
		{true, "", "info", false, false},
		{true, "json", "debug", true, true},
		{false, "text", "warn", false, false},
	} {
		f, err := os.CreateTemp(t.TempDir(), "log")
		if err != nil {
			t.Fatal(err)
		}
		cfg := gatehouse.DefaultConfig()
		cfg.Dev, cfg.LogFormat, cfg.LogLevel = tc.dev, tc.format, tc.level
		l := gatehouse.NewLogger(cfg, f)
		l.Debug("debug line")
		l.Warn("warn line", "k", "v")
		f.Close()
		b, _ := os.ReadFile(filepath.Clean(f.Name()))
		lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		if (len(lines) == 2) != tc.debugs {
			t.Errorf("%+v: %d lines: %s", tc, len(lines), b)
		}
		isJSON := json.Valid(lines[len(lines)-1])
		if isJSON != tc.json {
			t.Errorf("%+v: JSON=%v: %s", tc, isJSON, b)
		}
	}
}

// TestCheapPasswordHashing: the environment cannot turn cheap hashing on,
// and a server started without it signs in an account whose password was
// hashed cheaply (hashes carry their parameters), re-hashing it at the
// production cost.
func TestCheapPasswordHashing(t *testing.T) {
	t.Parallel()
	if f, ok := reflect.TypeFor[gatehouse.Config]().FieldByName("CheapPasswordHashing"); !ok || f.Tag.Get("env") != "-" {
		t.Fatalf("CheapPasswordHashing has env tag %q, want none (\"-\")", f.Tag.Get("env"))
	}
	ctx := context.Background()
	cheap := gatehousetest.Start(t)
	cheap.SignUp(t, "cheap@example.com", gatehousetest.Password)
	hash := func(s *gatehousetest.Server) string {
		t.Helper()
		u, err := s.G.Auth().AdminUserByEmail(ctx, "cheap@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	if h := hash(cheap); !strings.Contains(h, "m=8,t=1,p=1") {
		t.Fatalf("a cheap hash %q", h)
	}
	cheap.Close(t)

	full := gatehousetest.Start(t, gatehousetest.WithDatabaseURL(cheap.Config.DatabaseURL), gatehousetest.RealHashing())
	full.SignIn(t, "cheap@example.com", gatehousetest.Password)
	if h := hash(full); !strings.Contains(h, "m=19456,t=2,p=1") {
		t.Errorf("after a sign-in at the production cost the hash is %q", h)
	}
}
