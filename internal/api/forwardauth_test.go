package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func withoutForwardAuthRedirect() option {
	return withConfig(func(c *gatehouse.Config) { c.ForwardAuthRedirect = false })
}

// forwardCheck asks /v1/check as a forward-auth proxy does, without
// following a redirect (the sign-in page is on testIssuer, which does not
// resolve).
func (e *env) forwardCheck(t testing.TB, opts ...reqOpt) *response {
	t.Helper()
	return e.do(t, http.MethodGet, "/v1/check", nil, opts...)
}

// What browsers send when they navigate, and what each proxy adds.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func browser() reqOpt { return header("Accept", browserAccept) }

// traefik sets the X-Forwarded-* headers Traefik's ForwardAuth (and
// Caddy's forward_auth) send.
func traefik(proto, host, uri string) reqOpt {
	return func(r *http.Request) {
		for k, v := range map[string]string{"X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
	}
}

func nginx(original string) reqOpt { return header("X-Original-URL", original) }

func opts(o ...reqOpt) []reqOpt { return o }

// wantCheckBasics holds what every answer of the check has: no caching,
// no cookie, and identity headers only on a 200.
func wantCheckBasics(t *testing.T, name string, r *response) {
	t.Helper()
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", name, cc)
	}
	if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("%s: the check set a cookie: %q", name, sc)
	}
	if r.Status != http.StatusOK {
		for _, h := range []string{"X-Auth-User-Id", "X-Auth-Email", "X-Auth-Session-Id"} {
			if v := r.Header.Values(h); len(v) > 0 {
				t.Errorf("%s: %s %q on a %d", name, h, v, r.Status)
			}
		}
	}
}

// wantSignIn checks a redirect to the sign-in page: 302 for Traefik and
// Caddy, 401 with the same Location for nginx (auth_request takes no 3xx).
func wantSignIn(t *testing.T, name string, r *response, status int, code, location string) {
	t.Helper()
	wantCheckBasics(t, name, r)
	switch status {
	case http.StatusFound:
		if r.Status != http.StatusFound {
			t.Errorf("%s: status %d, want 302; body %s", name, r.Status, r.Body)
		} else if len(r.Body) != 0 {
			t.Errorf("%s: a 302 with a body: %s", name, r.Body)
		}
	default:
		r.WantProblem(status, code)
	}
	if got := r.Header.Get("Location"); got != location {
		t.Errorf("%s: Location %q, want %q", name, got, location)
	}
}

func TestForwardAuthRedirect(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := newEnv(t, db)
		off := newEnv(t, db, withoutForwardAuthRedirect())
		const login = testIssuer + "/login?redirect_to="
		for _, tc := range []struct {
			name     string
			opts     []reqOpt
			status   int
			location string // "" for none
		}{
			{"traefik", opts(browser(), traefik("https", "app.example.test", "/docs/a?b=1&c=%20d")),
				http.StatusFound, login + "https%3A%2F%2Fapp.example.test%2Fdocs%2Fa%3Fb%3D1%26c%3D%2520d"},
			{"traefik, proto and uri default", opts(browser(), traefik("", "app.example.test", "")),
				http.StatusFound, login + "https%3A%2F%2Fapp.example.test%2F"},
			{"traefik, http with a port", opts(browser(), traefik("HTTP", "app.example.test:8080", "/x")),
				http.StatusFound, login + "http%3A%2F%2Fapp.example.test%3A8080%2Fx"},
			{"chained proxies: the first value", opts(browser(), traefik("https, http", "app.example.test, inner.local", "/")),
				http.StatusFound, login + "https%3A%2F%2Fapp.example.test%2F"},
			{"accept with parameters", opts(header("Accept", "TEXT/HTML; charset=utf-8"), traefik("https", "app.example.test", "/")),
				http.StatusFound, login + "https%3A%2F%2Fapp.example.test%2F"},
			{"nginx", opts(browser(), nginx("https://app.example.test/a/b?c=d&e=%2F#top")),
				http.StatusUnauthorized, login + "https%3A%2F%2Fapp.example.test%2Fa%2Fb%3Fc%3Dd%26e%3D%252F%23top"},
			{"both conventions, agreeing", opts(browser(), nginx("https://app.example.test/n"), traefik("https", "app.example.test", "/n")),
				http.StatusUnauthorized, login + "https%3A%2F%2Fapp.example.test%2Fn"},

			// API clients and requests no proxy forwarded keep the 401.
			{name: "JSON accept", opts: opts(header("Accept", "application/json"), traefik("https", "app.example.test", "/"))},
			{name: "curl's accept", opts: opts(header("Accept", "*/*"), traefik("https", "app.example.test", "/"))},
			{name: "no accept", opts: opts(traefik("https", "app.example.test", "/"))},
			{name: "html refused with q=0", opts: opts(header("Accept", "text/html;q=0, */*"), traefik("https", "app.example.test", "/"))},
			{name: "not forwarded", opts: opts(browser())},
			{name: "not forwarded, only a proto", opts: opts(browser(), traefik("https", "", ""))},
			{name: "bad bearer", opts: opts(browser(), bearer("garbage"), traefik("https", "app.example.test", "/"))},
			{name: "bad bearer, nginx", opts: opts(browser(), bearer("garbage"), nginx("https://app.example.test/"))},
			{name: "other scheme", opts: opts(browser(), header("Authorization", "Basic YTpi"), traefik("https", "app.example.test", "/"))},

			// Forwarded values that are not a plain absolute http(s) URL.
			{name: "tab in the uri", opts: opts(browser(), traefik("https", "app.example.test", "/a\tb"))},
			{name: "space in the uri", opts: opts(browser(), traefik("https", "app.example.test", "/a b"))},
			{name: "tab in X-Original-URL", opts: opts(browser(), nginx("https://app.example.test/a\tb"))},
			{name: "relative uri", opts: opts(browser(), traefik("https", "app.example.test", "x.example.test/"))},
			{name: "uri without a host", opts: opts(browser(), traefik("https", "", "/only/a/path"))},
			{name: "relative X-Original-URL", opts: opts(browser(), nginx("/docs"))},
			{name: "scheme-relative X-Original-URL", opts: opts(browser(), nginx("//evil.example.test/"))},
			{name: "javascript X-Original-URL", opts: opts(browser(), nginx("javascript:alert(document.cookie)"))},
			{name: "javascript proto", opts: opts(browser(), traefik("javascript", "alert(1)", "/"))},
			{name: "ftp proto", opts: opts(browser(), traefik("ftp", "app.example.test", "/"))},
			// One of them forged: they name different requests.
			{name: "both conventions, other hosts", opts: opts(browser(), nginx("https://app.example.test/n"), traefik("https", "other.example.test", "/n"))},
			{name: "both conventions, other paths", opts: opts(browser(), nginx("https://app.example.test/n"), traefik("https", "app.example.test", "/t"))},
			{name: "user info in the host", opts: opts(browser(), traefik("https", "app.example.test@evil.example.test", "/"))},
			{name: "path in the host", opts: opts(browser(), traefik("https", "evil.example.test/x", "/"))},
			{name: "user info in X-Original-URL", opts: opts(browser(), nginx("https://u:p@app.example.test/"))},
			{name: "opaque X-Original-URL", opts: opts(browser(), nginx("https:app.example.test"))},
			{name: "over-long uri", opts: opts(browser(), traefik("https", "app.example.test", "/"+strings.Repeat("a", 2048)))},
		} {
			r := e.forwardCheck(t, tc.opts...)
			if tc.location == "" {
				wantSignIn(t, tc.name, r, http.StatusUnauthorized, "unauthorized", "")
				continue
			}
			wantSignIn(t, tc.name, r, tc.status, "unauthorized", tc.location)
			// With the setting off, the same request is a plain 401.
			wantSignIn(t, tc.name+", redirects off", off.forwardCheck(t, tc.opts...), http.StatusUnauthorized, "unauthorized", "")
		}
	})
}

// TestForwardAuthSession: a live session passes whatever the request
// looks like; an ended one sends the browser to sign in again.
func TestForwardAuthSession(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.signUp(t, "fa@example.com", testPassword)
		nav := traefik("https", "app.example.test", "/inbox")
		const login = testIssuer + "/login?redirect_to=https%3A%2F%2Fapp.example.test%2Finbox"
		const nginxLogin = testIssuer + "/login?redirect_to=https%3A%2F%2Fapp.example.test%2Fn"

		cookie := e.browserSession(t, "fa@example.com")
		for name, o := range map[string][]reqOpt{
			"cookie, traefik": opts(browser(), nav, e.cookie(cookie)),
			"cookie, nginx":   opts(browser(), nginx("https://app.example.test/n"), e.cookie(cookie)),
			"cookie, JSON":    opts(header("Accept", "application/json"), nav, e.cookie(cookie)),
		} {
			r := e.forwardCheck(t, o...).Want(http.StatusOK)
			wantCheckBasics(t, name, r)
			if r.Header.Get("X-Auth-User-Id") != u.ID || r.Header.Get("X-Auth-Email") != "fa@example.com" || r.Header.Get("X-Auth-Session-Id") == "" {
				t.Errorf("%s: headers %v", name, r.Header)
			}
			if loc := r.Header.Values("Location"); len(loc) > 0 {
				t.Errorf("%s: Location %q on a 200", name, loc)
			}
		}
		// The session slides on the server; still no cookie is set.
		e.Clock.Advance(2 * time.Hour)
		wantCheckBasics(t, "slid", e.forwardCheck(t, browser(), nav, e.cookie(cookie)).Want(http.StatusOK))

		// A cookie that names no session, or an ended one, sends the browser
		// to sign in again, and an API client gets the 401 that says why.
		wantSignIn(t, "garbage cookie", e.forwardCheck(t, browser(), nav, e.cookie("garbage")), http.StatusFound, "", login)
		e.do(t, "POST", "/v1/logout", nil, e.cookie(cookie)).Want(http.StatusNoContent)
		wantSignIn(t, "revoked", e.forwardCheck(t, browser(), nav, e.cookie(cookie)), http.StatusFound, "", login)
		wantSignIn(t, "revoked, nginx", e.forwardCheck(t, browser(), nginx("https://app.example.test/n"), e.cookie(cookie)),
			http.StatusUnauthorized, "token_revoked", nginxLogin)
		wantSignIn(t, "revoked, JSON", e.forwardCheck(t, header("Accept", "application/json"), nav, e.cookie(cookie)),
			http.StatusUnauthorized, "token_revoked", "")

		idle := e.browserSession(t, "fa@example.com")
		e.forwardCheck(t, browser(), nav, e.cookie(idle)).Want(http.StatusOK)
		e.Clock.Advance(e.Config.SessionTTL + time.Minute)
		wantSignIn(t, "expired", e.forwardCheck(t, browser(), nav, e.cookie(idle)), http.StatusFound, "", login)
		wantSignIn(t, "expired, JSON", e.forwardCheck(t, header("Accept", "application/json"), nav, e.cookie(idle)),
			http.StatusUnauthorized, "token_expired", "")

		// A valid access token passes too; an expired one is never
		// redirected, even with a browser's Accept.
		tok := e.signIn(t, "fa@example.com", testPassword)
		wantCheckBasics(t, "bearer", e.forwardCheck(t, browser(), nav, bearer(tok.AccessToken)).Want(http.StatusOK))
		e.Clock.Advance(e.Config.AccessTokenTTL)
		wantSignIn(t, "expired bearer", e.forwardCheck(t, browser(), nav, bearer(tok.AccessToken)), http.StatusUnauthorized, "token_expired", "")
	})
}

// FuzzForwardAuth sends arbitrary forwarded headers to the check, as a
// proxy would pass them on (control characters included: this bypasses
// the HTTP parser). Whatever they hold, the answer is a 302 or a 401, and a
// sign-in Location only ever names Gatehouse's own sign-in page with an
// absolute http(s) URL of plain characters to return to.
//
//	go test -run '^$' -fuzz '^FuzzForwardAuth$' -fuzztime 30s ./api/
func FuzzForwardAuth(f *testing.F) {
	e := newEnv(f, sqliteDB, withoutLog())
	f.Add(browserAccept, "", "https", "app.example.test", "/a?b=1&c=%20")
	f.Add(browserAccept, "https://app.example.test/x#y", "", "", "")
	f.Add("text/html;q=0", "", "http", "app.example.test:8080", "/")
	f.Add(browserAccept, "javascript:alert(1)", "", "", "")
	f.Add(browserAccept, "", "https", "app.example.test@evil.example.test", "/")
	f.Add(browserAccept, "", "https", "app.example.test", "evil.example.test/")
	f.Add(browserAccept, "", "https", "app.example.test", "/a\r\nSet-Cookie: x=y")
	f.Add(browserAccept, "https://app.example.test/\x00", "", "", "")
	f.Add(browserAccept, "", "HTTPS, http", "[::1]:8443, inner", "//evil.example.test/")
	const login = testIssuer + "/login?redirect_to="
	f.Fuzz(func(t *testing.T, accept, original, proto, host, uri string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/check", nil)
		for k, v := range map[string]string{"Accept": accept, "X-Original-URL": original, "X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		e.G.ServeHTTP(rec, req)
		h := rec.Header()
		if rec.Code != http.StatusFound && rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Auth-User-Id") != "" || len(h.Values("Set-Cookie")) > 0 {
			t.Fatalf("headers %v", h)
		}
		loc := h.Get("Location")
		if loc == "" {
			if rec.Code == http.StatusFound {
				t.Fatal("a 302 without Location")
			}
			return
		}
		if (rec.Code == http.StatusFound) != (original == "") {
			t.Fatalf("status %d with X-Original-URL %q", rec.Code, original)
		}
		escaped, ok := strings.CutPrefix(loc, login)
		back, err := url.QueryUnescape(escaped)
		if !ok || err != nil || url.QueryEscape(back) != escaped {
			t.Fatalf("Location %q", loc)
		}
		u, err := url.Parse(back)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(back) > 2048 ||
			strings.IndexFunc(back, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
			t.Fatalf("redirect_to %q from accept %q, original %q, proto %q, host %q, uri %q", back, accept, original, proto, host, uri)
		}
	})
}
