// Package sqltest gives tests of any package a real, migrated store of their
// own, on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL is
// set, so that flows and handlers are tested against the databases they run
// on rather than against a fake. Every store is isolated (its own temporary
// file or its own freshly created database with a random name), so tests in
// one process and test binaries of several packages run in parallel.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgresEnv names the variable that holds the URL of a PostgreSQL server
// for tests (CI sets it). Its role must be allowed to create databases; the
// database it names is used only to create and drop the test databases.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// setupTimeout bounds creating, migrating and dropping one test database,
// so a database that is down fails the test rather than hanging it.
const setupTimeout = 30 * time.Second

// SQLiteURL returns a GATEHOUSE_DATABASE_URL for a new SQLite file in a
// temporary directory that is removed when tb ends, for tests that need to
// open (or migrate) the database themselves, like the CLI's.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "gatehouse.db")
}

// SQLite returns a migrated store on a new SQLite file, closed when tb ends.
func SQLite(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	return open(tb, SQLiteURL(tb))
}

// PostgresURL creates an empty database with a random name on the server of
// GATEHOUSE_TEST_POSTGRES_URL and returns its URL; the database is dropped
// when tb ends. It skips tb when the variable is unset, and fails it when
// the server cannot be reached: a configured database that is down is a
// broken test set-up, not a reason to skip.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Skipf("sqltest: %s is not set; skipping the PostgreSQL test (e.g. %s='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable')", PostgresEnv, PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("sqltest: %s must be a postgres:// URL", PostgresEnv)
	}
	name := "gh_test_" + randomHex(8)

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := adminDB(ctx, base)
	if err != nil {
		tb.Fatalf("sqltest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("sqltest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		admin, err := adminDB(ctx, base)
		if err != nil {
			tb.Errorf("sqltest: drop database %s: %v", name, err)
			return
		}
		defer admin.Close()
		// FORCE ends connections a test leaked rather than failing on them.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("sqltest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Postgres returns a migrated store on a new PostgreSQL database, closed and
// dropped when tb ends. It skips tb when GATEHOUSE_TEST_POSTGRES_URL is
// unset.
func Postgres(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	return open(tb, PostgresURL(tb))
}

// Each runs fn as subtest "sqlite" and subtest "postgres" (skipped when
// GATEHOUSE_TEST_POSTGRES_URL is unset), each with a fresh migrated store,
// so one test body covers both databases.
func Each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// DB is a kind of database a test server can run on: its subtest name and
// a function that returns the URL of a fresh, empty database of that kind.
type DB struct {
	Name string
	URL  func(testing.TB) string
}

// The two kinds of database, for tests that start whole servers (which
// open and migrate the database themselves) rather than take a store.
var (
	SQLiteDB   = DB{"sqlite", SQLiteURL}
	PostgresDB = DB{"postgres", PostgresURL}
)

// EachDB runs fn as parallel subtests "sqlite" and "postgres", the second
// skipped when GATEHOUSE_TEST_POSTGRES_URL is unset: Each for tests that
// want a database URL rather than an open store.
func EachDB(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	for _, db := range []DB{SQLiteDB, PostgresDB} {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			if db.Name == PostgresDB.Name && os.Getenv(PostgresEnv) == "" {
				t.Skipf("%s is not set", PostgresEnv)
			}
			fn(t, db)
		})
	}
}

func open(tb testing.TB, dbURL string) *sqlstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := sqlstore.Open(ctx, dbURL, sqlstore.Options{})
	if err != nil {
		tb.Fatalf("sqltest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("sqltest: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("sqltest: %v", err)
	}
	return s
}

// adminDB connects to the database named in the environment variable, to
// create and drop test databases in it.
func adminDB(ctx context.Context, base string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PostgresEnv, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", PostgresEnv, err)
	}
	return db, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
