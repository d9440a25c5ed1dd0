package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	_ "modernc.org/sqlite"
)

// hangTimeout is the store deadline of these tests, and hangBound the
// most a call may take with it: generous, so that a loaded machine does
// not fail the test, yet far below the hang it guards against.
const (
	hangTimeout = 500 * time.Millisecond
	hangBound   = 3 * time.Second
)

// wantUnavailable checks that a call on a database that does not answer
// failed as auth.ErrUnavailable within hangBound.
func wantUnavailable(t *testing.T, name string, err error, took time.Duration) {
	t.Helper()
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("%s on a database that does not answer = %v; want an error matching auth.ErrUnavailable", name, err)
	}
	if took > hangBound {
		t.Errorf("%s on a database that does not answer took %v; want at most %v (deadline %v)", name, took, hangBound, hangTimeout)
	}
}

// lockedSQLite returns a migrated SQLite store with the hangTimeout
// deadline and another connection to its file that holds the write lock
// (BEGIN IMMEDIATE), as another process may; the lock is released when
// the test ends or when the caller rolls it back.
func lockedSQLite(t *testing.T) (*sqlstore.Store, *sql.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{Timeout: hangTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return s, lock
}

// TestLockedSQLite holds SQLite's write lock from another connection, as
// another process (a backup, a second server on the same file) may, and
// checks that a write gives up as unavailable within the store's deadline
// while reads go on, and that the write succeeds once the lock is gone.
func TestLockedSQLite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, lock := lockedSQLite(t)

	at := time.Now().UTC()
	write := func(id string) error {
		return s.CreateUser(ctx, &auth.User{ID: id, Name: "Locked", CreatedAt: at, UpdatedAt: at})
	}
	start := time.Now()
	err := write("u-locked")
	wantUnavailable(t, "CreateUser", err, time.Since(start))
	if _, err := s.ListUsers(ctx, auth.UserQuery{Limit: 10}); err != nil {
		t.Errorf("ListUsers while another connection holds the write lock: %v", err)
	}

	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	if err := write("u-unlocked"); err != nil {
		t.Errorf("CreateUser once the lock is gone: %v", err)
	}
}

// TestCallCap holds SQLite's write lock from another connection so that
// writes wait for it, and checks that once the writer's queue holds as
// many calls as its cap, further calls fail at once as unavailable rather
// than wait: a database that hangs cannot pile up goroutines without
// bound.
func TestCallCap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := lockedSQLite(t)
	const limit = 4
	s.LimitCalls(limit)

	at := time.Now().UTC()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		busy int
	)
	for i := range 5 * limit {
		wg.Go(func() {
			start := time.Now()
			err := s.CreateUser(ctx, &auth.User{ID: fmt.Sprintf("u-cap-%d", i), Name: "Cap", CreatedAt: at, UpdatedAt: at})
			took := time.Since(start)
			wantUnavailable(t, "CreateUser", err, took)
			if errors.Is(err, sqlstore.ErrBusy) {
				if took >= hangTimeout {
					t.Errorf("a call refused for a full queue took %v; want it refused at once", took)
				}
				mu.Lock()
				busy++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if busy == 0 {
		t.Errorf("%d writes at once with a cap of %d: none was refused for a full queue", 5*limit, limit)
	}
	t.Logf("%d of %d writes refused at once for a full queue", busy, 5*limit)
}
