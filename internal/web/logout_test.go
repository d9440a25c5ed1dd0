package web_test

// Tests of signing out (/logout).

import (
	"net/http"
	"net/url"
	"testing"
)

// TestLogout: a GET only asks; the POST ends the session and removes the
// cookie, and the old cookie no longer passes /v1/check.
func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "annie@example.com"
	e.signUp(t, addr)
	b := e.browser()
	b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")
	cookie := b.cookie()
	p := b.get(t, "/logout").want(http.StatusOK).contains(addr, `action="/logout"`, `method="post"`)
	signinPageRules(t, p)
	if st, _ := signinCheck(t, e, cookie, ""); st != http.StatusOK {
		t.Fatalf("GET /logout signed out: check %d", st)
	}
	b.post(t, "/logout", url.Values{}, crossSite()).want(http.StatusForbidden)
	if st, _ := signinCheck(t, e, cookie, ""); st != http.StatusOK {
		t.Fatalf("a cross-site POST /logout signed out: check %d", st)
	}
	b.post(t, "/logout", url.Values{}).redirectsTo("/login?signed_out=1")
	if b.cookie() != "" {
		t.Fatal("the cookie is still there")
	}
	if st, _ := signinCheck(t, e, cookie, ""); st != http.StatusUnauthorized {
		t.Fatalf("the old cookie answers %d at /v1/check", st)
	}
	b.get(t, "/login?signed_out=1").want(http.StatusOK).contains("You are signed out.")
	// Signed out already: nothing to end, same answer.
	b.post(t, "/logout", url.Values{}, htmx()).redirectsTo("/login?signed_out=1")
}
