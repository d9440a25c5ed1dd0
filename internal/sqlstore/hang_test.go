//go:build linux

package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// hangCalls are store calls of every shape the store makes: a plain read,
// a write, a list (rows), a transaction, a ping.
func hangCalls(s *sqlstore.Store, at time.Time) map[string]func(context.Context, int) error {
	return map[string]func(context.Context, int) error{
		"read": func(ctx context.Context, _ int) error {
			_, err := s.UserByEmail(ctx, "frozen@example.com")
			return err
		},
		"write": func(ctx context.Context, i int) error {
			return s.CreateUser(ctx, &auth.User{ID: fmt.Sprintf("u-hang-%d", i), Name: "Hang", CreatedAt: at, UpdatedAt: at})
		},
		"list": func(ctx context.Context, _ int) error {
			_, err := s.ListUsers(ctx, auth.UserQuery{Limit: 10})
			return err
		},
		"transaction": func(ctx context.Context, i int) error {
			return s.PutFactor(ctx, &auth.Factor{ID: fmt.Sprintf("f-hang-%d", i), UserID: "u-frozen", Kind: "email", CreatedAt: at})
		},
		"ping": func(ctx context.Context, _ int) error { return s.Ping(ctx) },
		// A refresh: on PostgreSQL one statement through pgx's own interface.
		"refresh": func(ctx context.Context, _ int) error {
			_, _, _, _, err := s.RefreshAndRotate(ctx, []byte("frozen"), &auth.RefreshToken{ID: "r-hang"}, at, at)
			if errors.Is(err, auth.ErrNotFound) {
				return nil // an answer: no such token
			}
			return err
		},
	}
}

// TestFrozenPostgres stops a PostgreSQL server of the test's own with
// SIGSTOP, as a stalled disk or a lock pile-up leaves it (connections are
// accepted, nothing answers), and checks that every kind of store call
// fails as unavailable within the store's deadline, one at a time and many
// at once (more than the pool holds, so some wait for a connection and
// some dial new ones), and that the store works again once the server
// goes on.
func TestFrozenPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own; skipped with -short")
	}
	t.Parallel()
	pg := sqltest.StartPostgres(t)
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, pg.URL, sqlstore.Options{Timeout: hangTimeout, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateUser(ctx, &auth.User{ID: "u-frozen", Email: "frozen@example.com", Name: "Frozen", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	calls := hangCalls(s, at)
	// Fill the pool with open connections, so the frozen server holds
	// some mid-statement and the rest are new dials.
	for name, call := range calls {
		if err := call(ctx, -1); err != nil && name != "write" && name != "transaction" {
			t.Fatalf("%s before the freeze: %v", name, err)
		}
	}

	pg.Freeze(t)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			pg.Thaw(t)
		}
	})

	for name, call := range calls {
		start := time.Now()
		err := call(ctx, 0)
		wantUnavailable(t, name, err, time.Since(start))
		// What /readyz reports as a timeout rather than as unreachable.
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a frozen database = %v; want it to wrap context.DeadlineExceeded", name, err)
		}
	}

	// Many at once: four connections, ten calls of each kind.
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := map[string]int{}
	for i := range 10 {
		for name, call := range calls {
			wg.Go(func() {
				if err := call(ctx, i+1); errors.Is(err, auth.ErrUnavailable) {
					mu.Lock()
					failed[name]++
					mu.Unlock()
				} else {
					t.Errorf("%s #%d on a frozen database = %v; want unavailable", name, i, err)
				}
			})
		}
	}
	wg.Wait()
	if took := time.Since(start); took > 2*hangBound {
		t.Errorf("%d concurrent calls on a frozen database took %v; want at most %v", 10*len(calls), took, 2*hangBound)
	}
	t.Logf("concurrent calls on the frozen database failed as unavailable: %v, in %v", failed, time.Since(start))

	pg.Thaw(t)
	thawed = true
	// The connections the deadlines broke are dropped; new ones must
	// serve as soon as the server answers again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.UserByEmail(ctx, "frozen@example.com")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("UserByEmail after the thaw: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.CreateUser(ctx, &auth.User{ID: "u-after", Name: "After", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Errorf("CreateUser after the thaw: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the thaw: %v", err)
	}
}
