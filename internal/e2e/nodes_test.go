package e2e_test

// Two nodes on one PostgreSQL database and one Redis, each a real
// gatehouse.New served over HTTP: what one node does, the other sees (a
// revocation within a second, limits counted once), and an outage of
// Redis leaves both serving.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
)

// twoNodes starts nodes A and B on one fresh PostgreSQL database, one
// clock, one SMTP server and the Redis at redisURL under a prefix of this
// test's own.
func twoNodes(t *testing.T, redisURL string) (a, b *gatehousetest.Server) {
	t.Helper()
	db := sqltest.PostgresURL(t)
	prefix := redistest.Prefix(t)
	clock := gatehousetest.NewClock()
	smtp := smtptest.Start(t, smtptest.Config{})
	logs := gatehousetest.NewLogs(t)
	opts := []gatehousetest.Option{
		gatehousetest.WithDatabaseURL(db), gatehousetest.WithRedis(redisURL, prefix),
		gatehousetest.WithClock(clock), gatehousetest.WithSMTP(smtp), gatehousetest.WithLogs(logs),
	}
	return gatehousetest.Start(t, opts...), gatehousetest.Start(t, opts...)
}

// within polls check until it is true or limit passes, and returns how
// long it took (or fails t).
func within(t *testing.T, limit time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestTwoNodesShareRevocations(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, redistest.URL(t))
	tok := a.Account(t, "nodes-revoke@example.com")
	// B has seen the session (its view holds it) before A revokes it.
	b.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(tok.AccessToken)).Want(http.StatusOK)
	a.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(tok.AccessToken)).Want(http.StatusOK)
	b.Do(t, "POST", "/v1/logout", map[string]string{"scope": "local"}, gatehousetest.Bearer(tok.AccessToken)).Want(http.StatusNoContent)
	took := within(t, time.Second, "A's check after B's logout", func() bool {
		return a.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(tok.AccessToken)).Status == http.StatusUnauthorized
	})
	t.Logf("revoked on B, 401 on A after %v", took)

	// A whole user's sessions (a password change) the same way.
	tok2 := a.SignIn(t, "nodes-revoke@example.com", gatehousetest.Password)
	other := b.SignIn(t, "nodes-revoke@example.com", gatehousetest.Password)
	a.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(other.AccessToken)).Want(http.StatusOK)
	b.Do(t, "POST", "/v1/user/password", map[string]string{"current_password": gatehousetest.Password, "new_password": "another long passphrase 7"},
		gatehousetest.Bearer(tok2.AccessToken)).Want(http.StatusNoContent)
	within(t, time.Second, "A's check of B's other session after a password change", func() bool {
		return a.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(other.AccessToken)).Status == http.StatusUnauthorized
	})
}

// Wrong passwords alternated between the nodes lock the account at the
// count one node would: five, then 429 on either node even for the right
// password. Two code requests for one address, on A then B: the second is
// limited.
func TestTwoNodesShareLimits(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, redistest.URL(t))
	const addr = "nodes-limits@example.com"
	a.SignUp(t, addr, gatehousetest.Password)
	nodes := []*gatehousetest.Server{a, b}
	for i := range 5 {
		nodes[i%2].PasswordGrant(t, addr, "not the password at all").WantProblem(http.StatusUnauthorized, "invalid_credentials")
	}
	for _, n := range nodes {
		n.PasswordGrant(t, addr, gatehousetest.Password).WantProblem(http.StatusTooManyRequests, "rate_limited")
	}

	const other = "nodes-codes@example.com"
	a.Do(t, "POST", "/v1/otp", map[string]string{"email": other}).Want(http.StatusAccepted)
	b.Do(t, "POST", "/v1/otp", map[string]string{"email": other}).WantProblem(http.StatusTooManyRequests, "rate_limited")
}

// Redis goes away: both nodes keep signing in and checking, /readyz stays
// 200 and says "redis":"down", gatehouse_redis_up is 0. Redis comes back:
// the nodes notice by themselves and share limits again.
func TestTwoNodesSurviveARedisOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := twoNodes(t, srv.URL)
	tok := a.Account(t, "nodes-outage@example.com")
	readyz := func(n *gatehousetest.Server) string {
		r := n.Do(t, "GET", "/readyz", nil).Want(http.StatusOK)
		return string(r.Body)
	}
	if body := readyz(a); !strings.Contains(body, `"redis":"up"`) {
		t.Fatalf("/readyz with Redis up: %s", body)
	}

	srv.Stop()
	for _, n := range []*gatehousetest.Server{a, b} {
		n.SignIn(t, "nodes-outage@example.com", gatehousetest.Password)
		n.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(tok.AccessToken)).Want(http.StatusOK)
		n.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": n.SignIn(t, "nodes-outage@example.com", gatehousetest.Password).RefreshToken}).Want(http.StatusOK)
	}
	within(t, 5*time.Second, "/readyz saying redis is down", func() bool { return strings.Contains(readyz(a), `"redis":"down"`) })
	if m := string(a.Do(t, "GET", "/metrics", nil).Want(http.StatusOK).Body); !strings.Contains(m, "gatehouse_redis_up 0") {
		t.Error("/metrics does not say gatehouse_redis_up 0 during the outage")
	}

	srv.Start()
	within(t, 5*time.Second, "both nodes seeing Redis back", func() bool {
		return strings.Contains(readyz(a), `"redis":"up"`) && strings.Contains(readyz(b), `"redis":"up"`)
	})
	const addr = "nodes-after@example.com"
	a.Do(t, "POST", "/v1/otp", map[string]string{"email": addr}).Want(http.StatusAccepted)
	b.Do(t, "POST", "/v1/otp", map[string]string{"email": addr}).WantProblem(http.StatusTooManyRequests, "rate_limited")
}

// TestTwoNodesShareRoleChanges: roles given on node B reach node A's check
// of a session A has already cached, within a second, without a new
// sign-in; and so does taking them away.
func TestTwoNodesShareRoleChanges(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, redistest.URL(t))
	tok := a.Account(t, "nodes-roles@example.com")
	roles := func() string {
		r := a.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(tok.AccessToken)).Want(http.StatusOK)
		return r.Header.Get("X-Auth-Roles")
	}
	if got := roles(); got != "" {
		t.Fatalf("X-Auth-Roles before any role: %q", got)
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{{[]string{"ops", "admin"}, "admin,ops"}, {[]string{}, ""}} {
		b.Do(t, "PUT", "/v1/admin/users/"+tok.User.ID+"/roles", map[string]any{"roles": tc.set}, gatehousetest.Admin()).Want(http.StatusOK)
		took := within(t, time.Second, "A's check after B set roles "+tc.want, func() bool { return roles() == tc.want })
		t.Logf("roles %q set on B, seen on A after %v", tc.want, took)
	}
}
