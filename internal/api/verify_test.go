package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestVerifyPageLook: the pages an emailed link opens (sign-in, password
// reset, the second-factor step, a dead link) share the web pages' look
// through their stylesheet, with nothing inline, so their
// Content-Security-Policy can refuse inline styles.
func TestVerifyPageLook(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, sqliteDB, true)
	const addr = "lovelace@example.com"
	tok := e.account(t, addr)
	look := func(t *testing.T, what string, r *response) {
		t.Helper()
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", what, csp)
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", what, h, got, want)
			}
		}
		body := string(r.body)
		for _, want := range []string{`<link rel="stylesheet" href="/static/style.css">`, `<main id="main"`, `<section class="card narrow"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %s:\n%s", what, want, body)
			}
		}
		for _, bad := range []string{"<style", " style=", "<script"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page holds %s:\n%s", what, bad, body)
			}
		}
	}

	r := e.do(t, "GET", "/v1/verify?token=nonsense", nil).want(http.StatusNotFound)
	look(t, "dead link", r)
	if body := string(r.body); !strings.Contains(body, `class="alert error"`) || !strings.Contains(body, `href="/login"`) {
		t.Errorf("dead link page:\n%s", body)
	}
	// The stylesheet the pages link to is served.
	css := e.do(t, "GET", "/static/style.css", nil).want(http.StatusOK)
	if ct := css.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") || !strings.Contains(string(css.body), ".card") {
		t.Errorf("/static/style.css: %q", ct)
	}

	e.do(t, "POST", "/v1/otp", map[string]string{"email": addr, "type": "link"}).want(http.StatusAccepted)
	link := e.nextMail(t, addr).Token
	look(t, "sign-in link", e.do(t, "GET", "/v1/verify?token="+link, nil).want(http.StatusOK))

	e.enrolTOTP(t, addr, bearer(tok.AccessToken))
	r = e.form(t, "/v1/verify", url.Values{"token": {link}})
	e.mfaPage(t, r, "totp", "backup_code")
	look(t, "second factor", r)
	if body := string(r.body); !strings.Contains(body, `<label class="choice"><input type="radio" name="factor"`) || !strings.Contains(body, `class="code"`) {
		t.Errorf("second-factor page:\n%s", body)
	}

	e.clock.Advance(61 * time.Second) // one message a minute per address
	e.do(t, "POST", "/v1/recover", map[string]string{"email": addr}).want(http.StatusAccepted)
	rec := e.nextMail(t, addr)
	look(t, "recovery link", e.do(t, "GET", "/v1/verify?token="+rec.Token, nil).want(http.StatusOK))
}
