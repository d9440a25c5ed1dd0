package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// TestRefreshAndRotateBehindALock makes concurrent RefreshAndRotate calls
// of one token overlap for sure on PostgreSQL: another transaction holds
// the token's row lock until every call has read the token (live and
// unrotated, in its snapshot) and waits on that lock; then exactly one
// call must rotate and none fail. The conformance suite's race test
// starts the calls together but cannot make them overlap.
func TestRefreshAndRotateBehindALock(t *testing.T) {
	u := sqltest.PostgresURL(t)
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, u, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	user := &auth.User{ID: newHex(), Email: "lock@example.com", Name: "Lock", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	sess := &auth.Session{ID: newHex(), UserID: user.ID, AAL: auth.AAL1, AMR: []string{auth.MethodPassword},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour)}
	old := &auth.RefreshToken{ID: newHex(), SessionID: sess.ID, Hash: []byte(newHex()), CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}
	if err := s.CreateSession(ctx, sess, old); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	locker, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Rollback()
	if _, err := locker.ExecContext(ctx, `SELECT 1 FROM refresh_tokens WHERE id = $1 FOR UPDATE`, old.ID); err != nil {
		t.Fatal(err)
	}

	const n = 4              // within the store's pool (8 on one core)
	hash := []byte(newHex()) // auth offers one successor value per token
	type result struct {
		rotated bool
		err     error
	}
	results := make(chan result, n)
	at := now.Add(time.Minute)
	for range n {
		go func() {
			next := &auth.RefreshToken{ID: newHex(), Hash: hash, CreatedAt: at}
			_, _, _, rotated, err := s.RefreshAndRotate(context.WithoutCancel(ctx), old.Hash, next, at, at.Add(time.Hour))
			results <- result{rotated, err}
		}()
	}
	// Every call waits on the row lock: it has read the token already.
	waitForLockWaiters(t, db, n)
	if err := locker.Commit(); err != nil {
		t.Fatal(err)
	}
	won := 0
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("RefreshAndRotate: %v", r.err)
		}
		if r.rotated {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d calls rotated the token; want exactly 1", won)
	}
	got, err := s.RefreshTokenByHash(ctx, hash)
	if err != nil {
		t.Fatalf("the successor: %v", err)
	}
	if stored, err := s.RefreshTokenByHash(ctx, old.Hash); err != nil || stored.SuccessorID != got.ID {
		t.Fatalf("the old token's successor = %v, %v; want %s", stored, err, got.ID)
	}
}

// waitForLockWaiters returns once n backends of db's database wait on a
// lock. It polls rather than sleeps a fixed time: the test's own deadline
// bounds it.
func waitForLockWaiters(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	for {
		var waiting int
		err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestPostgresPoolKeepsIdle: every connection the PostgreSQL pool opened
// stays open when its call ends, so a steady load of as many concurrent
// calls as the pool holds dials nothing anew (each dial is a new backend
// process on the server).
func TestPostgresPoolKeepsIdle(t *testing.T) {
	ctx := t.Context()
	const n = 6
	s, err := sqlstore.Open(ctx, sqltest.PostgresURL(t), sqlstore.Options{MaxConns: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db := s.Pools()["writer"]
	useConns(t, db, n)
	if st := db.Stats(); st.Idle != n || st.MaxIdleClosed != 0 {
		t.Fatalf("after %d calls ended: %d idle, %d closed for want of an idle slot; want %d, 0", n, st.Idle, st.MaxIdleClosed, n)
	}
}

// TestPostgresPingAfterBackendsEnd: a ping right after every pooled
// connection's backend ended (a server restart, an administrator's
// pg_terminate_backend) answers from a new connection rather than failing
// on a dead one: database/sql retries a statement on another connection
// but not a ping, so the store does (a readiness probe would otherwise
// fail once per dead connection).
func TestPostgresPingAfterBackendsEnd(t *testing.T) {
	ctx := t.Context()
	u := sqltest.PostgresURL(t)
	const n = 4
	s, err := sqlstore.Open(ctx, u, sqlstore.Options{MaxConns: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db := s.Pools()["writer"]
	// Twice: the second time pgx checks each pooled connection and marks
	// it fresh, so the ping below takes a dead one without checking it.
	for range 2 {
		useConns(t, db, n)
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		var left int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends still there", left)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the pool's backends ended: %v", err)
	}
}

// useConns takes n connections of db at once, so that the pool opens n,
// and gives them back.
func useConns(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	var conns []*sql.Conn
	for range n {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
