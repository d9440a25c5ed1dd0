package httpauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCookiePolicy(t *testing.T) {
	t.Parallel()
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		p      CookiePolicy
		secure bool
	}{{CookiePolicy{Name: "__Host-gatehouse_session"}, true}, {CookiePolicy{Name: "gatehouse_session", Insecure: true}, false}} {
		set := tc.p.New("v1", exp).String()
		for _, want := range []string{tc.p.Name + "=v1", "Path=/", "HttpOnly", "SameSite=Lax", "Expires=Thu, 02 Jan 2031 03:04:05 GMT"} {
			if !strings.Contains(set, want) {
				t.Errorf("New: %q lacks %q", set, want)
			}
		}
		if strings.Contains(set, "Secure") != tc.secure || strings.Contains(set, "Domain") {
			t.Errorf("New: %q, want Secure %v and no Domain", set, tc.secure)
		}
		if clear := tc.p.Clear().String(); !strings.Contains(clear, "Max-Age=0") || !strings.Contains(clear, tc.p.Name+"=;") {
			t.Errorf("Clear: %q", clear)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if v := tc.p.Value(r); v != "" {
			t.Errorf("Value without a cookie: %q", v)
		}
		r.AddCookie(&http.Cookie{Name: tc.p.Name, Value: "abc"})
		if v := tc.p.Value(r); v != "abc" {
			t.Errorf("Value: %q", v)
		}
	}
}

// TestCookiePolicyDomain: with a domain both the cookie and its removal
// name it (a removal without it would leave the shared cookie in place).
func TestCookiePolicyDomain(t *testing.T) {
	t.Parallel()
	p := CookiePolicy{Name: "__Secure-gatehouse_session", Domain: "example.com"}
	for _, c := range []*http.Cookie{p.New("v", time.Now().Add(time.Hour)), p.Clear()} {
		if s := c.String(); !strings.Contains(s, "Domain=example.com") || !strings.Contains(s, "Secure") || !strings.Contains(s, "HttpOnly") {
			t.Errorf("%q, want Domain=example.com, Secure, HttpOnly", s)
		}
	}
}
