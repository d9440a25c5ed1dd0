package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// requestLink asks the API for an emailed sign-in link (or, when recover,
// a password reset) to address.
func requestLink(t *testing.T, e *env, address string, recover bool) {
	t.Helper()
	path, body := "/v1/otp", map[string]string{"email": address, "type": "link"}
	if recover {
		path, body = "/v1/recover", map[string]string{"email": address}
	}
	e.Do(t, "POST", path, body).Accepted()
}

// linkPath returns the path and query of an emailed link to this server.
func linkPath(t *testing.T, e *env, link string) string {
	t.Helper()
	if !strings.HasPrefix(link, e.URL+"/v1/verify?token=") {
		t.Fatalf("link %q", link)
	}
	return strings.TrimPrefix(link, e.URL)
}

// TestVerifyPages: the pages an emailed link opens (sign-in, password
// reset, a dead link) and the second-factor step they lead to are the
// pages' own: their layout and stylesheet, their headers, and their
// Content-Security-Policy, which lets the pages' own scripts run (a
// passkey step needs them) and nothing inline.
func TestVerifyPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "lovelace@example.test"
	secret := totpUser(t, e, addr)
	b := e.browser()
	look := func(t *testing.T, what string, p *page) {
		t.Helper()
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", what, csp)
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if got := p.header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", what, h, got, want)
			}
		}
		p.contains(`<link rel="stylesheet" href="/static/style.css?v=`, `<main id="main"`, `<section class="card narrow"`, `<footer class="foot">`).
			lacks("<style", " style=", "<script>")
	}

	dead := b.get(t, "/v1/verify?token=nonsense").want(http.StatusNotFound)
	look(t, "dead link", dead)
	dead.contains("This link does not work", `class="alert error"`, `href="/login"`).lacks("<button")

	requestLink(t, e, addr, false)
	_, link := e.mailCode(t, addr, 2) // 1 proved the email at sign-up
	path := linkPath(t, e, link)
	token := strings.TrimPrefix(path, "/v1/verify?token=")
	p := b.get(t, path).want(http.StatusOK)
	look(t, "sign-in link", p)
	p.contains("<h1 id=\"verify-title\">Sign in to Gatehouse as l***@example.test</h1>", "Continue to sign in on this device as l***@example.test.", `action="/v1/verify"`, `name="token" value="`+token+`"`)
	if n := strings.Count(p.body, "<button"); n != 1 {
		t.Errorf("sign-in link page: %d buttons, want 1", n)
	}
	if b.cookie() != "" {
		t.Error("opening the link set a cookie")
	}

	// The button leads to the pages' one second-factor step.
	mfa := b.post(t, "/v1/verify", url.Values{"token": {token}}).want(http.StatusOK)
	look(t, "second factor", mfa)
	mfa.contains("One more step", `action="/login/mfa"`, `<input type="hidden" name="factor" value="totp">`, `class="code"`)
	if b.cookie() != "" {
		t.Error("the second-factor step set a cookie")
	}
	b.post(t, "/login/mfa", url.Values{"mfa_token": {signinHidden(t, mfa, "mfa_token")}, "factor": {"totp"}, "code": {totpCode(t, secret, e.Clock.Now())}}).redirectsTo("/")
	if b.cookie() == "" {
		t.Error("no session cookie after the second factor")
	}
	// The link works once.
	e.browser().post(t, "/v1/verify", url.Values{"token": {token}}).want(http.StatusBadRequest).
		contains("This link does not work", "It may have been used already").lacks("<button")

	e.Clock.Advance(61 * time.Second) // one message a minute per address
	requestLink(t, e, addr, true)
	_, link = e.mailCode(t, addr, 3)
	p = e.browser().get(t, linkPath(t, e, link)).want(http.StatusOK)
	look(t, "recovery link", p)
	p.contains("Choose a new password", `name="new_password" type="password"`)
	if n := strings.Count(p.body, "<button"); n != 1 {
		t.Errorf("recovery link page: %d buttons, want 1", n)
	}
}
