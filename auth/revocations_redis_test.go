package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
)

// redisNodes wires two services over st, each with Revocations on its own
// Client of url (two nodes of one deployment), trusting a view for an hour
// while their Revocations are live.
func redisNodes(t *testing.T, st *sqlstore.Store, url string) (a, b *env, ra, rb *redisstore.Revocations) {
	t.Helper()
	clients := redistest.Nodes(t, url, 2)
	ra, rb = redisstore.NewRevocations(clients[0]), redisstore.NewRevocations(clients[1])
	longTrust := withConfig(func(c *auth.Config) { c.LiveCacheTTL = time.Hour })
	a = newEnv(t, st, withRevocations(ra), longTrust)
	b = newEnv(t, st, withRevocations(rb), longTrust)
	return a, b, ra, rb
}

// failsWithin polls check until it answers err, for at most limit of real
// time (the fake clocks stand still, so no TTL runs out meanwhile), and
// answers how long that took.
func failsWithin(t *testing.T, what string, limit time.Duration, check func() error, want *auth.Error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err != nil {
			checkErr(t, what, err, want)
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: still accepted after %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitUntil waits for cond, for at most 10 s of real time.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A revocation made on node A reaches node B's view through Redis at
// once, for access tokens and cookies: B trusts its view for an hour, and
// its clock stands still, so only the push can explain the 401.
func TestRedisRevocationReachesEveryNode(t *testing.T) {
	url := redistest.URL(t)
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		a, b, _, rb := redisNodes(t, st, url)
		if !rb.Live() {
			t.Fatal("B's revocations are not live")
		}
		u, g := a.newUser("pushed")
		p := a.bearer(g.AccessToken)
		cookie, cp := a.cookieSession(u)
		_, behind := a.newUser("behind")
		b.bearer(g.AccessToken)
		b.bearer(behind.AccessToken)
		if _, err := b.svc.CookiePrincipal(b.ctx, cookie); err != nil {
			t.Fatalf("B's cookie check: %v", err)
		}

		// Live, B trusts its view past CacheTTL: a session revoked in the
		// store behind its back, with nothing published, still passes.
		if err := st.RevokeSession(t.Context(), behind.Session.ID, a.now()); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(10 * time.Second)
		if _, err := b.svc.BearerPrincipal(b.ctx, behind.AccessToken); err != nil {
			t.Fatalf("B's view past CacheTTL while live = %v; want it still trusted (LiveCacheTTL)", err)
		}

		if err := a.svc.Logout(a.ctx, p, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout on A: %v", err)
		}
		took := failsWithin(t, "B's bearer check after A's logout", time.Second, func() error {
			_, err := b.svc.BearerPrincipal(b.ctx, g.AccessToken)
			return err
		}, errSessionEnded)
		t.Logf("B's bearer check failed %v after A's logout returned", took)

		if err := a.svc.Logout(a.ctx, cp, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout of the cookie session on A: %v", err)
		}
		took = failsWithin(t, "B's cookie check after A's logout", time.Second, func() error {
			_, err := b.svc.CookiePrincipal(b.ctx, cookie)
			return err
		}, errSessionEnded)
		t.Logf("B's cookie check failed %v after A's logout returned", took)
	})
}

// Redis stops: B's revocations are no longer live, so B trusts its views
// for a second at most and a revocation made meanwhile shows by reload;
// checks keep working. Redis starts again: revocations are pushed again.
func TestRedisDownFallsBackToShortTrust(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		srv := redistest.Start(t)
		a, b, ra, rb := redisNodes(t, st, srv.URL)
		_, g := a.newUser("outage")
		p := a.bearer(g.AccessToken)
		_, behind := a.newUser("behind")
		b.bearer(g.AccessToken)
		b.bearer(behind.AccessToken)
		if err := st.RevokeSession(t.Context(), behind.Session.ID, a.now()); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(1500 * time.Millisecond)
		if _, err := b.svc.BearerPrincipal(b.ctx, behind.AccessToken); err != nil {
			t.Fatalf("B's view 1.5 s old while live = %v; want it trusted", err)
		}

		srv.Stop()
		waitUntil(t, "not live on B", func() bool { return !rb.Live() })
		// The same view, as old, is no longer trusted: B reloads it.
		_, err := b.svc.BearerPrincipal(b.ctx, behind.AccessToken)
		checkErr(t, "B's 1.5 s old view with Redis down", err, errSessionEnded)

		// A logout on A cannot be published; B's view of the session is
		// past a second, so B reloads it and sees the revocation.
		if err := a.svc.Logout(a.ctx, p, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout on A with Redis down: %v", err)
		}
		_, err = b.svc.BearerPrincipal(b.ctx, g.AccessToken)
		checkErr(t, "B's check after A's logout with Redis down", err, errSessionEnded)

		// A session signed in during the outage: B loads it from the
		// store (checks keep working) and trusts that view for a second.
		_, g2 := a.newUser("during")
		b.bearer(g2.AccessToken)
		if err := st.RevokeSession(t.Context(), g2.Session.ID, a.now()); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.BearerPrincipal(b.ctx, g2.AccessToken); err != nil {
			t.Errorf("B's fresh view with Redis down = %v; want it trusted", err)
		}
		b.clock.Advance(time.Second + time.Millisecond)
		_, err = b.svc.BearerPrincipal(b.ctx, g2.AccessToken)
		checkErr(t, "B's view past a second with Redis down", err, errSessionEnded)

		srv.Start()
		waitUntil(t, "both nodes live", func() bool { return ra.Live() && rb.Live() })
		_, g3 := a.newUser("after")
		p3 := a.bearer(g3.AccessToken)
		b.bearer(g3.AccessToken)
		b.clock.Advance(10 * time.Second) // live again: trusted past a second
		b.bearer(g3.AccessToken)
		if err := a.svc.Logout(a.ctx, p3, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout on A after the outage: %v", err)
		}
		failsWithin(t, "B's check after A's logout, Redis back", time.Second, func() error {
			_, err := b.svc.BearerPrincipal(b.ctx, g3.AccessToken)
			return err
		}, errSessionEnded)
	})
}

// A session slid on node A is not idle-expired on node B, whose view was
// loaded before A slid it and is still trusted (revocations are live, and
// slides are not published): B asks the store once its view says the
// session reached its idle expiry.
func TestSlideOnAnotherNode(t *testing.T) {
	url := redistest.URL(t)
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		clients := redistest.Nodes(t, url, 2)
		short := withConfig(func(c *auth.Config) { c.LiveCacheTTL, c.SessionTTL = time.Hour, 30*time.Minute })
		a := newEnv(t, st, withRevocations(redisstore.NewRevocations(clients[0])), short)
		b := newEnv(t, st, withRevocations(redisstore.NewRevocations(clients[1])), short)
		u, _ := a.newUser("slid")
		cookie, _ := a.cookieSession(u)
		if _, err := b.svc.CookiePrincipal(b.ctx, cookie); err != nil {
			t.Fatalf("B's first check: %v", err)
		}
		both := func(d time.Duration) { a.clock.Advance(d); b.clock.Advance(d) }
		both(20 * time.Minute)
		if _, err := a.svc.CookiePrincipal(a.ctx, cookie); err != nil { // slides to +50 min
			t.Fatalf("A's check: %v", err)
		}
		both(15 * time.Minute) // past the expiry B's view holds, before the slid one
		if _, err := b.svc.CookiePrincipal(b.ctx, cookie); err != nil {
			t.Errorf("B's check of a session A slid: %v", err)
		}
		both(40 * time.Minute) // past the slid expiry too
		if _, err := b.svc.CookiePrincipal(b.ctx, cookie); auth.KindOf(err) != auth.KindTokenExpired {
			t.Errorf("B's check past the slid expiry: %v, want token_expired", err)
		}
	})
}
