package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// DefaultTimeout is the deadline of every store call when Options.Timeout
// is zero. A healthy database answers each of the store's statements in
// milliseconds, even with SQLite's writers queueing on their one
// connection during a sign-in storm, so three seconds is far beyond any
// real answer; and it is short enough that a client of a database that
// has stopped answering (a stalled disk, a lock pile-up) gets its 503
// before a browser, a proxy or a load balancer gives up on us, and that
// the requests waiting on it cannot pile up for long.
const DefaultTimeout = 3 * time.Second

// A pool holds at most max(minCalls, callsPerConn × its connections) calls
// at once, running or waiting for a connection. A healthy database clears
// such a queue well within the deadline (even SQLite's one writer, at a
// millisecond or so a write), so only a database that has stopped
// answering fills it; then every further call fails at once rather than
// adding a goroutine (and the request behind it) to the heap for a whole
// Timeout.
const (
	minCalls     = 1024
	callsPerConn = 64
)

// errBusy is the error of a call refused because the pool's queue is full.
var errBusy = fmt.Errorf("sqlstore: too many calls wait on the database: %w: %w", auth.ErrUnavailable, context.DeadlineExceeded)

// conn is a *sql.DB whose every statement runs under the store's
// deadline: the one place the store applies it, so that no method can
// forget it. The deadline covers the wait for a free connection of the
// pool, dialling a new one and the statement itself; a query's deadline
// lasts until its rows are closed or its row is scanned. conn also bounds
// how many calls may hold or wait for the pool at once.
type conn struct {
	db      *sql.DB
	system  string // the database, as spans name it: "sqlite", "postgresql"
	timeout time.Duration
	calls   chan struct{} // one token per call in progress

	// keep is set where the driver parses a statement's text anew at every
	// call (SQLite's): the hottest statements are then prepared once per
	// connection and kept (stmts, query → *sql.Stmt). pgx keeps its own.
	keep  bool
	stmts sync.Map
}

func newConn(db *sql.DB, system string, maxOpen int, timeout time.Duration) *conn {
	db.SetMaxOpenConns(maxOpen)
	return &conn{db: db, system: system, timeout: timeout, calls: make(chan struct{}, max(minCalls, maxOpen*callsPerConn))}
}

// bound returns ctx with the store's deadline (or with ctx's own when that
// comes sooner) and the function that ends the call; it answers errBusy
// when the pool's queue is full. The call's place in the queue is given
// back when its context ends, so a call that is never ended (rows left
// open) holds it until the deadline at most.
func (c *conn) bound(ctx context.Context) (context.Context, context.CancelFunc, error) {
	select {
	case c.calls <- struct{}{}:
	default:
		return ctx, func() {}, errBusy
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	context.AfterFunc(ctx, func() { <-c.calls })
	return ctx, cancel, nil
}

// traced is bound with a span around the call (while the
// request is traced): it ends when the call does, so it covers the wait
// for a connection, the statement and the reading of its rows.
// tx is "" for a statement, whose span spanName names; a transaction has no
// one query and is named by its operation.
func (c *conn) traced(ctx context.Context, tx, query string) (context.Context, context.CancelFunc, error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return c.bound(ctx) // untraced: not even the attributes are built
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", c.system)}
	name := "db tx " + tx
	if tx == "" {
		name = spanName(query)
		attrs = append(attrs, attribute.String("db.query.text", query))
	}
	ctx, end := tracing.Start(ctx, name, attrs...)
	ctx, done, err := c.bound(ctx)
	return ctx, func() { done(); end(err) }, err
}

// spanName names a statement's span by its operation (SELECT, UPDATE,
// …): the statements are the store's own, never built from input.
func spanName(query string) string {
	op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	return "db " + strings.ToUpper(op)
}

// prepared returns query prepared on the pool, preparing it at the first
// call; *sql.Stmt then prepares it once on each connection it runs on and
// keeps it there. It answers nil, and no error, when the pool keeps no
// statements: the caller then runs the text. Only the store's own fixed
// queries come here, so the cache stays as small as the store's SQL.
func (c *conn) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if !c.keep {
		return nil, nil
	}
	if st, ok := c.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	ctx, done, err := c.bound(ctx)
	defer done()
	if err != nil {
		return nil, err
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRowKept is QueryRowContext through a kept statement (see prepared).
func (c *conn) queryRowKept(ctx context.Context, query string, args ...any) *boundRow {
	ctx, done, err := c.traced(ctx, "", query)
	if err != nil {
		return &boundRow{err: err, done: done}
	}
	st, err := c.prepared(ctx, query)
	switch {
	case err != nil:
		return &boundRow{err: err, done: done}
	case st == nil:
		return &boundRow{Row: c.db.QueryRowContext(ctx, query, args...), done: done}
	}
	return &boundRow{Row: st.QueryRowContext(ctx, args...), done: done}
}

// queryRowPgx runs a query of one row on a PostgreSQL connection of the
// pool through pgx's own interface rather than database/sql's, and scans
// it into dest; no row is sql.ErrNoRows, as with QueryRowContext. The
// connection, the deadline, the call cap and the span are the pool's as
// for every other statement; what it skips is database/sql's driver
// layer (its argument conversion and its row wrappers), a quarter of a
// refresh's allocations on PostgreSQL, and a tenth of the server's CPU
// per refresh (docs/benchmarks.md). Only the hottest statement takes it.
func (c *conn) queryRowPgx(ctx context.Context, query string, args []any, dest ...any) error {
	ctx, done, err := c.traced(ctx, "", query)
	defer done()
	if err != nil {
		return err
	}
	// A connection can break while idle in the pool (the server
	// restarted; a deadline closes a connection a moment after its call
	// returned it): rawQueryRow says so before it sends anything.
	err = c.onAnotherConn(ctx, func() error { return c.rawQueryRow(ctx, query, args, dest...) })
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

// errStaleConn is a pool connection found broken before anything was sent
// on it. It wraps driver.ErrBadConn, so that database/sql discards the
// connection rather than hand it out again.
var errStaleConn = fmt.Errorf("sqlstore: connection broken before the query: %w", driver.ErrBadConn)

// rawQueryRow runs query on one connection of the pool through pgx.
func (c *conn) rawQueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	sc, err := c.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	return sc.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: %T is not a pgx connection", dc)
		}
		if pc.Conn().IsClosed() {
			return errStaleConn
		}
		err := pc.Conn().QueryRow(ctx, query, args...).Scan(dest...)
		if err != nil && pgconn.SafeToRetry(err) {
			return fmt.Errorf("%w: %w", errStaleConn, err)
		}
		return err
	})
}

// execInTx runs query in tx, through st when the pool keeps statements
// (st from prepared, before tx began: on SQLite's one writer connection a
// statement cannot be prepared while tx holds it), else as text.
func execInTx(ctx context.Context, tx *sql.Tx, st *sql.Stmt, query string, args ...any) (sql.Result, error) {
	if st == nil {
		return tx.ExecContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// ExecContext runs a statement that returns no rows.
func (c *conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, done, err := c.traced(ctx, "", query)
	defer done()
	if err != nil {
		return nil, err
	}
	return c.db.ExecContext(ctx, query, args...)
}

// QueryContext runs a query; the deadline holds until the rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args ...any) (*boundRows, error) {
	ctx, done, err := c.traced(ctx, "", query)
	if err != nil {
		return nil, err
	}
	rs, err := c.db.QueryContext(ctx, query, args...)
	if err != nil {
		done()
		return nil, err
	}
	return &boundRows{Rows: rs, done: done}, nil
}

// QueryRowContext runs a query of at most one row; the deadline holds
// until the row is scanned.
func (c *conn) QueryRowContext(ctx context.Context, query string, args ...any) *boundRow {
	ctx, done, err := c.traced(ctx, "", query)
	if err != nil {
		return &boundRow{err: err, done: done}
	}
	return &boundRow{Row: c.db.QueryRowContext(ctx, query, args...), done: done}
}

// PingContext checks that the database answers within the deadline.
func (c *conn) PingContext(ctx context.Context) error {
	ctx, done, err := c.bound(ctx)
	defer done()
	if err != nil {
		return err
	}
	// A ping that found its connection broken discarded it: try the next.
	err = c.onAnotherConn(ctx, func() error { return c.db.PingContext(ctx) })
	if errors.Is(err, driver.ErrBadConn) && ctx.Err() != nil {
		// pgx answers a ping that ran out of time as a bad connection;
		// say it was the time, as every statement does.
		return fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return err
}

// onAnotherConn runs call, and again while it answers driver.ErrBadConn
// and ctx lasts, up to as many times as the pool has connections and one
// more. database/sql does so for a statement whose pooled connection
// turns out broken before anything was sent, but not for Ping or Raw: a
// readiness probe would fail once for each connection that broke while
// idle, and so would a call through pgx's own interface.
func (c *conn) onAnotherConn(ctx context.Context, call func() error) error {
	for tries := c.db.Stats().MaxOpenConnections + 1; ; tries-- {
		err := call()
		if !errors.Is(err, driver.ErrBadConn) || tries <= 1 || ctx.Err() != nil {
			return err
		}
	}
}

// Close closes the kept statements and the pool.
func (c *conn) Close() error {
	c.stmts.Range(func(_, st any) bool {
		_ = st.(*sql.Stmt).Close()
		return true
	})
	return c.db.Close()
}

// boundRows is *sql.Rows that ends its query's deadline when closed.
type boundRows struct {
	*sql.Rows
	done func()
}

// Close closes the rows and ends the call. It may be called more than
// once, as *sql.Rows' Close may.
func (r *boundRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

// boundRow is *sql.Row that ends its query's deadline when scanned.
type boundRow struct {
	*sql.Row
	err  error // the call was refused before it reached the pool
	done func()
}

// Scan copies the row's columns into dest and ends the call; call it once.
func (r *boundRow) Scan(dest ...any) error {
	defer r.done()
	if r.err != nil {
		return r.err
	}
	return r.Row.Scan(dest...)
}

// inTx runs fn in a write transaction and commits it when fn answers nil.
// The whole transaction, from the wait for the connection to the commit,
// shares one deadline: fn must run its statements with the context it is
// given, not its caller's, or a statement of a database that has stopped
// answering would hold the transaction (and, on SQLite, every writer)
// past it. fn answers errors already wrapped for the caller.
func (s *Store) inTx(ctx context.Context, op string, fn func(context.Context, *sql.Tx) error) error {
	ctx, done, err := s.w.traced(ctx, op, "")
	defer done()
	if err != nil {
		return s.fail(op, err)
	}
	tx, err := s.w.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err)
	}
	return nil
}
