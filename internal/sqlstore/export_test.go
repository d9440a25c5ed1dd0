package sqlstore

import (
	"context"
	"time"
)

// QueryString runs a one-value query on the writer (reader false) or a
// reader connection, for tests that check connection settings and the
// migration table.
func (s *Store) QueryString(ctx context.Context, reader bool, q string) (string, error) {
	db := s.w
	if reader {
		db = s.r
	}
	var v string
	err := db.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

// MigrateTo migrates the schema up to version and no further, for tests
// that upgrade a database holding rows of an older schema, with the
// provider Migrate uses.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// MigrateDownTo rolls the schema back to version, for tests of a down
// migration.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// Exec runs q on the writer, with its portable ? placeholders rebound for
// the dialect and every time.Time argument converted the way the store
// writes times, for tests that write rows of an older schema by hand.
func (s *Store) Exec(ctx context.Context, q string, args ...any) error {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			args[i] = s.d.time(t)
		}
	}
	_, err := s.w.ExecContext(ctx, s.d.rebind(q), args...)
	return err
}

// ErrBusy is the error of a call refused because its pool's queue is full.
var ErrBusy = errBusy

// LimitCalls caps the calls each of s's pools holds at once at n, for
// tests of the cap; call it before the store is used.
func (s *Store) LimitCalls(n int) {
	s.w.calls = make(chan struct{}, n)
	if s.r != s.w {
		s.r.calls = make(chan struct{}, n)
	}
}
