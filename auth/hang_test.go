//go:build linux

package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// TestFrozenDatabase runs flows against a PostgreSQL server of the test's
// own frozen with SIGSTOP (it accepts connections and never answers), the
// hang an outside probe found: password sign-in and the admin user list
// waited more than 90 s. Each must answer unavailable, with a message and
// Retry-After (the API's 503), within the store's deadline and some slack,
// also many at once; and sign-in works again once the server goes on.
func TestFrozenDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own; skipped with -short")
	}
	t.Parallel()
	const (
		timeout = 500 * time.Millisecond
		bound   = 3 * time.Second
	)
	pg := sqltest.StartPostgres(t)
	st, err := sqlstore.Open(t.Context(), pg.URL, sqlstore.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	_, g := e.newUser("frozen")
	p := e.bearer(g.AccessToken)
	addr := email("frozen")
	e.signUp(addr, goodPassword)

	flows := map[string]func(context.Context) error{
		"password sign-in": func(ctx context.Context) error {
			_, err := passwordGrant(ctx, e.svc, addr, goodPassword, client())
			return err
		},
		"admin user list": func(ctx context.Context) error {
			_, _, err := e.svc.AdminUsers(ctx, auth.UserQuery{})
			return err
		},
		"refresh": func(ctx context.Context) error {
			_, err := e.svc.RefreshGrant(ctx, g.RefreshToken, client())
			return err
		},
		"session list": func(ctx context.Context) error {
			_, err := e.svc.Sessions(ctx, p)
			return err
		},
	}
	unavailable := func(name string, err error, took time.Duration) {
		t.Helper()
		var ae *auth.Error
		switch {
		case !errors.As(err, &ae) || ae.Kind != auth.KindUnavailable:
			t.Errorf("%s on a frozen database = %v; want unavailable", name, err)
		case ae.Message == "" || ae.RetryAfter <= 0:
			t.Errorf("%s on a frozen database = %+v; want a message for the client and Retry-After", name, ae)
		}
		if took > bound {
			t.Errorf("%s on a frozen database took %v; want at most %v (store deadline %v)", name, took, bound, timeout)
		}
	}

	pg.Freeze(t)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			pg.Thaw(t)
		}
	})
	for name, flow := range flows {
		start := time.Now()
		err := flow(e.ctx)
		unavailable(name, err, time.Since(start))
	}
	// Twenty sign-ins at once: more than the pool's connections, so most
	// wait for one, and none may wait past the deadline.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = flows["password sign-in"](e.ctx) })
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		unavailable("concurrent password sign-in", err, took)
	}

	pg.Thaw(t)
	thawed = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := flows["password sign-in"](e.ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("password sign-in after the thaw: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
