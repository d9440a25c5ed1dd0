package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse"
)

// forwardAuthApp is an app behind a proxy that asks Gatehouse's check
// about every request, as Traefik's ForwardAuth does: the browser's
// cookies and X-Forwarded-Proto/Host/Uri go to /v1/check; a 200 serves the
// page (with the X-Auth-* headers the check answered), anything else is
// passed back to the browser as the check answered it (status and
// Location), so the check's redirects reach the browser.
func forwardAuthApp(t *testing.T, checkURL *atomic.Pointer[string]) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, *checkURL.Load(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for _, h := range []string{"Cookie", "Accept", "User-Agent"} {
			req.Header.Set(h, r.Header.Get(h))
		}
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", r.Host)
		req.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			if loc := res.Header.Get("Location"); loc != "" {
				w.Header().Set("Location", loc)
			}
			w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
			w.WriteHeader(res.StatusCode)
			_, _ = io.Copy(w, res.Body)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><title>App</title><h1 id="app">The billing page</h1>`+
			`<p>Session <span id="sid">`+html.EscapeString(res.Header.Get("X-Auth-Session-Id"))+`</span>`+
			` at <span id="aal">`+html.EscapeString(res.Header.Get("X-Auth-AAL"))+`</span></p>`)
	}))
	t.Cleanup(app.Close)
	// The same host as the server's (localhost): a cookie belongs to a
	// host, whatever the port, so the browser sends Gatehouse's cookie to
	// the app, as it sends a parent domain's to every subdomain.
	app.URL = strings.Replace(app.URL, "127.0.0.1", "localhost", 1)
	return app
}

// TestBrowserStepUp: an app behind the proxy asks aal2 of its /billing
// pages. A browser signed in with a password (aal1) opens one, is sent to
// the step-up page, enters its authenticator's code and is back on the
// page, in the same session, now at aal2.
func TestBrowserStepUp(t *testing.T) {
	t.Parallel()
	var checkURL atomic.Pointer[string]
	app := forwardAuthApp(t, &checkURL)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("- host: localhost\n  paths: [/billing]\n  require: {aal: aal2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *gatehouse.Config) {
		c.AccessRulesFile = rules
		c.AllowedRedirects = append(c.AllowedRedirects, app.URL)
	})
	check := e.URL + "/v1/check"
	checkURL.Store(&check)
	const email = "step.browser@example.com"
	e.signUp(t, email)

	ctx := newTab(t)
	passwordSignIn(t, ctx, e.URL, email, "#profile")
	cookie := sessionCookie(t, ctx, e)
	p, err := e.G.Auth().CookiePrincipal(t.Context(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	if p.Session.AAL != "aal1" {
		t.Fatalf("signed in at %s; want aal1", p.Session.AAL)
	}
	secret := turnOnTOTP(t, e, p) // added after signing in: the session stays aal1

	// An aal1 page of the app is served as it is.
	step(t, ctx, "an ordinary page of the app",
		chromedp.Navigate(app.URL+"/home"),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
	if aal := value(t, ctx, "aal", chromedp.Text(chromedp.CSS("#aal"))); aal != "aal1" {
		t.Errorf("the app saw %q; want aal1", aal)
	}
	step(t, ctx, "the billing page sends the browser to step up",
		chromedp.Navigate(app.URL+"/billing?tab=invoices"),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.URL+"/step-up?redirect_to=") {
		t.Fatalf("at %s; want the step-up page", loc)
	}
	if h := value(t, ctx, "heading", chromedp.Text(chromedp.CSS("h1"))); h != "Confirm it’s you" {
		t.Errorf("step-up heading %q", h)
	}
	screenshot(t, ctx, "step-up")
	step(t, ctx, "the authenticator's code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action$="/login/mfa"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
	if loc := location(t, ctx); loc != app.URL+"/billing?tab=invoices" {
		t.Errorf("back at %s; want the billing page", loc)
	}
	if aal := value(t, ctx, "aal", chromedp.Text(chromedp.CSS("#aal"))); aal != "aal2" {
		t.Errorf("the app saw %q after the step-up; want aal2", aal)
	}
	if sid := value(t, ctx, "session", chromedp.Text(chromedp.CSS("#sid"))); sid != p.Session.ID {
		t.Errorf("the app saw session %q; want the same session %s", sid, p.Session.ID)
	}
	if now := sessionCookie(t, ctx, e); now == cookie {
		t.Error("the session cookie is the one from before the step-up")
	}
}

// sessionCookie answers the value of the tab's session cookie for the
// server, and marks it secret for the log check.
func sessionCookie(t *testing.T, ctx context.Context, e *env) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Call(sctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.URL + "/"}})
	if err != nil {
		t.Fatalf("Network.getCookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == e.Config.SessionCookieName {
			e.Logs.Secret(c.Value)
			return c.Value
		}
	}
	t.Fatalf("no %s cookie in the tab", e.Config.SessionCookieName)
	return ""
}
