package httpauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind auth.Kind
		want int
	}{
		{auth.KindInvalidRequest, 400}, {auth.KindWeakPassword, 400}, {auth.KindInvalidCredential, 400},
		{auth.KindConflict, 409},
		{auth.KindEmailTaken, 409}, {auth.KindPhoneTaken, 409},
		{auth.KindInvalidCredentials, 401}, {auth.KindInvalidCode, 401}, {auth.KindCodeExpired, 401},
		{auth.KindUnauthorized, 401}, {auth.KindTokenExpired, 401}, {auth.KindTokenRevoked, 401},
		{auth.KindForbidden, 403}, {auth.KindNotFound, 404},
		{auth.KindTooManyAttempts, 429}, {auth.KindRateLimited, 429},
		{auth.KindUnavailable, 503}, {"", 503}, {"no_such_kind", 503},
	} {
		if got := httpauth.Status(tc.kind); got != tc.want {
			t.Errorf("Status(%q) = %d, want %d", tc.kind, got, tc.want)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ remote, ip string }{
		{"192.0.2.7:51234", "192.0.2.7"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"192.0.2.8", "192.0.2.8"}, // no port: kept whole
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("User-Agent", "test/1")
		// A forwarding header is the client's word, never its address.
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		for name, c := range map[string]auth.Client{
			"ClientFrom":                auth.ClientFrom(httpauth.WithClient(r).Context()),
			"ClientOf":                  httpauth.ClientOf(r),
			"ClientOf after WithClient": httpauth.ClientOf(httpauth.WithClient(r)),
		} {
			if c.IP != tc.ip || c.UserAgent != "test/1" {
				t.Errorf("%s %s: %+v, want IP %s", name, tc.remote, c, tc.ip)
			}
		}
	}
	if c := auth.ClientFrom(context.Background()); c != (auth.Client{}) {
		t.Errorf("an empty context: %+v", c)
	}
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	if p := httpauth.PrincipalFrom(context.Background()); p != nil {
		t.Errorf("an empty context: %+v", p)
	}
	p := &auth.Principal{User: auth.User{ID: "u1"}}
	if got := httpauth.PrincipalFrom(httpauth.WithPrincipal(context.Background(), p)); got != p {
		t.Errorf("got %p, want %p", got, p)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Millisecond, "2"},
		{59*time.Second + 500*time.Millisecond, "60"},
		{time.Hour, "3600"},
	} {
		if got := httpauth.RetryAfter(tc.d); got != tc.want {
			t.Errorf("RetryAfter(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
