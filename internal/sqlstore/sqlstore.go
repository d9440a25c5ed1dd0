// Package sqlstore is Gatehouse's persistent store: one database/sql
// implementation of auth's durable ports (auth.Store, auth.KeyStore,
// auth.FactorStore, auth.AuditStore, auth.PasskeyStore,
// auth.IdentityStore), of its codes and
// ceremonies (auth.ChallengeStore, auth.MFATokenStore, with their optional
// one-transaction forms that enqueue a message beside the code, and
// auth.CeremonyStore), of auth.MessageQueue and of the outbox's
// notify.Store, for SQLite (the embedded default) and PostgreSQL (for
// several nodes), with hand-written portable SQL. The few differences
// between the two live in one unexported dialect type; the schema lives in
// embedded goose migrations, one folder per database.
//
// Times are kept at microsecond precision (what PostgreSQL's timestamptz
// holds) and always returned in UTC: a time written is truncated to the
// microsecond, so what a caller reads back equals
// t.Truncate(time.Microsecond).UTC().
//
// Errors follow auth.Store: a missing row matches auth.ErrNotFound, a taken
// email or phone auth.ErrEmailTaken or auth.ErrPhoneTaken, a second
// confirmed factor of a kind auth.ErrFactorExists, a credential ID stored
// already auth.ErrPasskeyExists, a (provider, subject) linked already
// auth.ErrIdentityTaken, and anything the database could not
// answer (down, closed, busy, timed out, cancelled) matches
// auth.ErrUnavailable and still wraps the driver's error.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// Options tunes Open. The zero value is what a server should use.
type Options struct {
	// ConnectTimeout bounds each new connection and the ping at Open, so a
	// database that is down or unreachable fails start-up (or a request) in
	// seconds instead of hanging. Default 5s.
	ConnectTimeout time.Duration
	// MaxConns caps the PostgreSQL pool (default 2×GOMAXPROCS+4) or the
	// SQLite reader pool (default max(4, GOMAXPROCS)). SQLite always has
	// exactly one writer connection, so writers queue in the process instead
	// of fighting over the file lock.
	MaxConns int
	// Timeout is the deadline of every call to the store (DefaultTimeout
	// when zero): the wait for a pooled connection, dialling one, every
	// statement, a whole transaction. Past it a call answers an error
	// matching auth.ErrUnavailable, so a database that accepts connections
	// but never answers costs a request Timeout, not a hang. On SQLite it
	// is also how long a statement waits for a lock another process holds.
	Timeout time.Duration
}

const (
	defaultConnectTimeout = 5 * time.Second
	// migrationTable is not goose's default so that Gatehouse can share a
	// database with an application that runs its own goose migrations.
	migrationTable = "gatehouse_migrations"
	// migrationLockID is the PostgreSQL advisory lock that serialises
	// Migrate across nodes ("gatehous" in ASCII).
	migrationLockID int64 = 0x6761746568_6f7573
)

// Store is the SQL implementation of auth.Store. It is safe for concurrent
// use; make one per process and Close it at shutdown.
type Store struct {
	d *dialect
	// w takes every write and transaction (and on SQLite is a single
	// connection with BEGIN IMMEDIATE); r serves plain reads (on SQLite a
	// pool of query_only connections that WAL lets run beside the writer; on
	// PostgreSQL the same pool as w).
	w, r *conn
	q    *queries

	closeOnce sync.Once
	closeErr  error
}

var (
	_ auth.Store          = (*Store)(nil)
	_ auth.KeyStore       = (*Store)(nil)
	_ auth.RefreshRotator = (*Store)(nil)
)

// Open connects to the database named by url, the value of
// GATEHOUSE_DATABASE_URL: sqlite:PATH (also sqlite://PATH or file:PATH;
// sqlite::memory: for a throw-away database) or postgres://… /
// postgresql://…. It pings the database before returning, so a database
// that is down is reported here, within opts.ConnectTimeout. Open does not
// change the schema: call Migrate.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = defaultConnectTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url, opts)
	case strings.HasPrefix(url, "sqlite:"), strings.HasPrefix(url, "file:"):
		return openSQLite(ctx, url, opts)
	}
	scheme, _, ok := strings.Cut(url, ":")
	if !ok || url == "" {
		scheme = url
	}
	if len(scheme) > 20 {
		scheme = scheme[:20] + "…"
	}
	// Only the scheme is quoted: the rest of a URL may hold a password.
	return nil, fmt.Errorf("sqlstore: GATEHOUSE_DATABASE_URL: unsupported database %q: want sqlite:PATH or postgres://…", scheme)
}

// sqlitePath extracts the file path from a sqlite:, sqlite:// or file: URL.
// The path is taken literally (no percent-decoding, no query parameters):
// the store chooses every connection setting itself.
func sqlitePath(u string) (string, error) {
	var p string
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		p = strings.TrimPrefix(u, "sqlite://")
	case strings.HasPrefix(u, "sqlite:"):
		p = strings.TrimPrefix(u, "sqlite:")
	case strings.HasPrefix(u, "file://"):
		p = strings.TrimPrefix(u, "file://")
	default:
		p = strings.TrimPrefix(u, "file:")
	}
	switch {
	case p == "":
		return "", errors.New("sqlstore: GATEHOUSE_DATABASE_URL: sqlite URL names no file (want sqlite:PATH)")
	case strings.ContainsAny(p, "?#"):
		return "", errors.New("sqlstore: GATEHOUSE_DATABASE_URL: sqlite URL must not carry parameters; the store sets WAL, foreign keys and timeouts itself")
	}
	return p, nil
}

func openSQLite(ctx context.Context, u string, opts Options) (*Store, error) {
	path, err := sqlitePath(u)
	if err != nil {
		return nil, err
	}
	memory := path == ":memory:"
	if !memory {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
	}
	// A lock another process holds is waited for no longer than a call may
	// take: SQLite's busy handler sleeps inside the driver, where the
	// call's context does not reach.
	busy := fmt.Sprint(opts.Timeout.Milliseconds())
	// The writer: one connection, so writes queue in Go rather than spin on
	// SQLITE_BUSY, and every transaction takes the write lock up front
	// (BEGIN IMMEDIATE) so a read-then-write transaction cannot deadlock.
	wdsn := path + "?_txlock=immediate&_busy_timeout=" + busy +
		"&_foreign_keys=1&_synchronous=NORMAL"
	if !memory {
		wdsn += "&_journal_mode=WAL"
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	wc := newConn(w, "sqlite", 1, opts.Timeout)
	wc.keep = true
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := ping(ctx, w, opts.ConnectTimeout); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite database %s: %w: %w", path, auth.ErrUnavailable, err)
	}
	s := &Store{d: sqliteDialect, w: wc, r: wc}
	if !memory {
		// Readers open after the writer has switched the file to WAL, which
		// a query_only connection could not do.
		r, err := sql.Open("sqlite", path+"?_busy_timeout="+busy+"&_query_only=1")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite readers: %w", err)
		}
		n := opts.MaxConns
		if n <= 0 {
			n = max(4, runtime.GOMAXPROCS(0))
		}
		rc := newConn(r, "sqlite", n, opts.Timeout)
		rc.keep = true
		r.SetMaxIdleConns(n)
		r.SetConnMaxIdleTime(5 * time.Minute)
		if err := ping(ctx, r, opts.ConnectTimeout); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite readers %s: %w: %w", path, auth.ErrUnavailable, err)
		}
		s.r = rc
	}
	s.q = newQueries(s.d)
	return s, nil
}

// createPrivate creates the database file, and its directory if missing,
// readable by this user only: it holds password hashes, token hashes and
// sealed keys. SQLite gives its -wal and -shm files the same permissions.
// An existing file is left as it is.
func createPrivate(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("sqlstore: create directory for the sqlite database: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlstore: create the sqlite database: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlstore: create the sqlite database: %w", err)
	}
	return nil
}

func openPostgres(ctx context.Context, u string, opts Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("sqlstore: GATEHOUSE_DATABASE_URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = opts.ConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = 2*runtime.GOMAXPROCS(0) + 4
	}
	c := newConn(db, "postgresql", n, opts.Timeout)
	// Every connection the pool opens may stay idle: with fewer idle slots
	// than open connections, a load of more concurrent calls than slots
	// closes a connection at nearly every return and dials a new one (a new
	// PostgreSQL backend process, its start-up and authentication) soon
	// after. At 8 concurrent refreshes that churn was half of PostgreSQL's
	// CPU per refresh (docs/benchmarks.md). Idle connections still close
	// after five minutes unused.
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Recycle connections now and then so a fail-over or a load balancer
	// in front of PostgreSQL gets a chance to move them.
	db.SetConnMaxLifetime(time.Hour)
	if err := ping(ctx, db, opts.ConnectTimeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres %s:%d/%s: %w: %w", cfg.Host, cfg.Port, cfg.Database, auth.ErrUnavailable, err)
	}
	s := &Store{d: postgresDialect, w: c, r: c}
	s.q = newQueries(s.d)
	return s, nil
}

func ping(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return db.PingContext(ctx)
}

// Dialect returns "sqlite" or "postgres", for log lines and for code that
// must know which database it shares (e.g. a job queue's driver).
func (s *Store) Dialect() string { return s.d.name }

// Pools returns the database handles by role, for their pool statistics:
// "writer" takes writes and transactions, "reader" plain reads. Where one
// pool serves both (PostgreSQL) only "writer" is there.
func (s *Store) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{"writer": s.w.db}
	if s.r != s.w {
		pools["reader"] = s.r.db
	}
	return pools
}

// Close releases every connection. Calls after the first return the first
// result; methods called after Close return an error matching
// auth.ErrUnavailable.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlstore: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping checks that the database responds, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return s.fail("ping readers", err)
		}
	}
	return nil
}

// migrator returns a goose provider over the migrations of the store's
// dialect, on the writer connection, taking PostgreSQL's advisory lock.
func (s *Store) migrator() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationsFS, s.d.migrations)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(migrationTable),
	}
	if s.d == postgresDialect {
		opts = append(opts, goose.WithSessionLocker(advisoryLock{id: migrationLockID}))
	}
	return goose.NewProvider(s.d.goose, s.w.db, fsys, opts...)
}

// Migrate brings the schema up to date with the migrations embedded in this
// build. It is a no-op when nothing is pending, so servers call it at every
// start. On PostgreSQL an advisory lock makes nodes that start together run
// it one after the other; on SQLite the single writer connection serialises
// it within the process (run one process's migration at a time per file).
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.d.name, err)
	}
	return nil
}

// advisoryLock is a goose SessionLocker that waits on a PostgreSQL
// session-level advisory lock. Unlike goose's own locker, which polls every
// few seconds, pg_advisory_lock returns the moment the other node is done
// and gives up when ctx does.
type advisoryLock struct{ id int64 }

// SessionLock waits for the lock on conn, the connection goose migrates on.
func (l advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

// SessionUnlock releases the lock; goose calls it with a context that is
// not cancelled, so a cancelled Migrate still lets the next node in.
func (l advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", l.id).Scan(&ok); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !ok {
		return errors.New("release migration lock: lock was not held")
	}
	return nil
}

// fail wraps a driver error from operation op into the error auth.Store
// promises.
func (s *Store) fail(op string, err error) error {
	switch s.d.classify(err) {
	case errEmailTaken:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrEmailTaken)
	case errPhoneTaken:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrPhoneTaken)
	case errFactorExists:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrFactorExists)
	case errPasskeyExists:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrPasskeyExists)
	case errIdentityTaken:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrIdentityTaken)
	case errMissingRef:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, auth.ErrNotFound, err)
	case errConstraint:
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return fmt.Errorf("sqlstore: %s: %w: %w", op, auth.ErrUnavailable, err)
}

// rowErr returns the error of a lookup of one row: auth.ErrNotFound naming
// missing when there was no row, the store's failure of op (see fail) for
// any other error, and nil for none. missing must not hold an address or a
// number: errors end up in logs.
func (s *Store) rowErr(err error, missing, op string) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(missing)
	case err != nil:
		return s.fail(op, err)
	}
	return nil
}

// found returns v, or the zero value and rowErr's error when the lookup
// that produced v failed.
func found[T any](s *Store, v T, err error, missing, op string) (T, error) {
	if err := s.rowErr(err, missing, op); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// rowSet is what collect reads: the rows of a query under the store's
// deadline (*boundRows) or of one inside a transaction (*sql.Rows).
type rowSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// collect reads every row of a query through scan and closes rows; the
// error of the query (err), of a scan, of the iteration or of the close is
// the store's failure of op. The close is checked because a statement that
// writes (UPDATE … RETURNING) may report its failure only there. A query
// that finds nothing returns an empty list, not nil.
func collect[T any](s *Store, op string, rows rowSet, err error, scan func(scanner) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, *x)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	if err := rows.Close(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// pageSize returns limit for a page of a list: def when it is not
// positive, and at most most.
func pageSize(limit, def, most int) int {
	switch {
	case limit <= 0:
		return def
	case limit > most:
		return most
	}
	return limit
}

// pageQueries are the four queries of a newest-first list filtered by one
// value: every row or only those of the value, each from the newest or
// after a cursor. Each takes its arguments in the order of newestFirst.
type pageQueries struct{ all, before, of, ofBefore string }

// newestFirst runs the query of q that fits: of value unless it is empty,
// after the row with ID before unless it is empty, at most limit rows.
func (s *Store) newestFirst(ctx context.Context, q pageQueries, value, before string, limit int) (*boundRows, error) {
	switch {
	case value == "" && before == "":
		return s.r.QueryContext(ctx, q.all, limit)
	case value == "":
		return s.r.QueryContext(ctx, q.before, before, limit)
	case before == "":
		return s.r.QueryContext(ctx, q.of, value, limit)
	}
	return s.r.QueryContext(ctx, q.ofBefore, value, before, limit)
}

// notFound is the error for a row that does not exist.
func notFound(what string) error {
	return fmt.Errorf("sqlstore: %s: %w", what, auth.ErrNotFound)
}
