package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// TestSignInCookieDropped: on a public URL served over plain http outside
// dev mode (as behind a proxy wrongly said to end TLS) the session cookie
// is Secure and a browser drops it (Go's cookie jar, like a browser, sends
// a Secure cookie only over https). A right password then lands back on
// the sign-in page, which must say why instead of nothing.
func TestSignInCookieDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *gatehouse.Config) { c.Dev = false })
	const addr = "dropped@example.com"
	e.signUp(t, addr)

	// A browser on plain http keeps the marker, which is not Secure, and
	// drops the Secure session cookie (Go's cookie jar, like Chrome, treats
	// 127.0.0.1 as secure, so the dropping is done here by hand).
	signIn := func() *http.Cookie {
		t.Helper()
		r := e.Do(t, "POST", "/login/password", url.Values{"address": {addr}, "password": {testPassword}}, gatehousetest.SameOrigin())
		r.Want(http.StatusSeeOther)
		if s := r.SetCookie(e.Config.SessionCookieName); s == nil || !s.Secure {
			t.Fatalf("session cookie %v, want Secure", s)
		}
		m := r.SetCookie("gatehouse_signed_in")
		if m == nil || m.Secure || m.Value != "check" {
			t.Fatalf("marker %v, want one without Secure", m)
		}
		return m
	}
	const hint = "did not keep the session cookie"
	m := signIn()
	r := e.Do(t, "GET", "/login", nil, gatehousetest.WithCookie(m.Name, m.Value))
	page := string(r.Want(http.StatusOK).Body)
	for _, s := range []string{hint, "GATEHOUSE_PUBLIC_URL", "GATEHOUSE_TLS_TERMINATED_BY_PROXY"} {
		if !strings.Contains(page, s) {
			t.Errorf("sign-in page without the session cookie lacks %q", s)
		}
	}
	// The hint clears the marker, so it is said once.
	if c := r.SetCookie("gatehouse_signed_in"); c == nil || c.MaxAge >= 0 {
		t.Errorf("marker not cleared: %v", c)
	}

	// No sign-in before: no hint.
	if page := string(e.Do(t, "GET", "/login", nil).Want(http.StatusOK).Body); strings.Contains(page, hint) {
		t.Error("hint without a sign-in")
	}
	// The session cookie came back (a browser over https): signed in, no hint.
	m = signIn()
	s := e.Do(t, "POST", "/login/password", url.Values{"address": {addr}, "password": {testPassword}}, gatehousetest.SameOrigin()).SetCookie(e.Config.SessionCookieName)
	e.Do(t, "GET", "/login", nil, gatehousetest.WithCookie(m.Name, m.Value), e.Cookie(s.Value)).Want(http.StatusSeeOther)
	// Signed out on purpose: no hint.
	if page := string(e.Do(t, "GET", "/login?signed_out=1", nil, gatehousetest.WithCookie(m.Name, m.Value)).Want(http.StatusOK).Body); strings.Contains(page, hint) {
		t.Error("hint after signing out")
	}
}

// TestSignInCookieKept: where the cookie comes back (dev mode on
// localhost, no Secure), there is no marker and no hint.
func TestSignInCookieKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "kept@example.com"
	e.signUp(t, addr)
	b := e.browser()
	p := b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gatehouse_signed_in=") {
			t.Errorf("marker set where the session cookie is not Secure: %s", c)
		}
	}
	if b.cookie() == "" {
		t.Fatal("no session cookie")
	}
}
