package gatehouse_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// TestSignInThrottleBehindProxy is the attack the proxy setting closes:
// behind a reverse proxy every client's peer is the proxy, so 5 wrong
// passwords from one stranger used to lock everyone out. With the proxy
// trusted (the harness's peer is 127.0.0.1), the throttle counts the
// client X-Forwarded-For names; without it, the header is the client's
// word and the stranger's failures land on the shared peer (the control
// that shows the test can fail).
func TestSignInThrottleBehindProxy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		proxies []string
		// victim is the status of the victim's right password after the
		// stranger's 5 wrong ones.
		victim int
	}{
		{"trusted proxy", []string{"127.0.0.0/8", "::1"}, http.StatusOK},
		{"untrusted proxy", nil, http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
				c.TrustedProxies = tc.proxies
			}))
			srv.SignUp(t, "victim@example.test", gatehousetest.Password)
			// The stranger spoofs a leftmost entry too; the proxy appends
			// the address it saw.
			stranger := gatehousetest.Header("X-Forwarded-For", "192.0.2.77, 198.51.100.66")
			victim := gatehousetest.Header("X-Forwarded-For", "203.0.113.5")
			for i := range 5 {
				// Other accounts each time, so only the client's count fills.
				srv.PasswordGrant(t, fmt.Sprintf("nobody%d@example.test", i), "wrong password "+fmt.Sprint(i), stranger).
					WantProblem(http.StatusUnauthorized, "invalid_credentials")
			}
			srv.PasswordGrant(t, "nobody9@example.test", "wrong password 9", stranger).
				WantProblem(http.StatusTooManyRequests, "rate_limited")
			r := srv.PasswordGrant(t, "victim@example.test", gatehousetest.Password, victim)
			if r.Status != tc.victim {
				t.Fatalf("victim's right password: %d %s, want %d", r.Status, r.Body, tc.victim)
			}
			// Whatever the stranger writes at the left of the chain, the
			// proxy's own entry is what counts: still refused.
			if tc.victim == http.StatusOK {
				srv.PasswordGrant(t, "nobody8@example.test", "wrong password 8",
					gatehousetest.Header("X-Forwarded-For", "203.0.113.5, 198.51.100.66")).
					WantProblem(http.StatusTooManyRequests, "rate_limited")
			}
		})
	}
}

// TestUntrustedForwarderWarns: a peer that sends X-Forwarded-For without
// being trusted is told about in the log, naming the setting, once.
func TestUntrustedForwarderWarns(t *testing.T) {
	t.Parallel()
	srv := gatehousetest.Start(t)
	for range 3 {
		srv.Do(t, "GET", "/healthz", nil, gatehousetest.Header("X-Forwarded-For", "203.0.113.5")).Want(http.StatusOK)
	}
	if n := strings.Count(srv.Logs.String(), "GATEHOUSE_TRUSTED_PROXIES"); n != 1 {
		t.Errorf("%d warnings naming GATEHOUSE_TRUSTED_PROXIES, want 1:\n%s", n, srv.Logs.String())
	}
}
