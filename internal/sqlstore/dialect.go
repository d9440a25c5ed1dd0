package sqlstore

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds every difference between SQLite and PostgreSQL that the
// store's SQL cares about, so the queries themselves stay portable. What is
// already spelled alike on both (ON CONFLICT … DO NOTHING/UPDATE, RETURNING,
// LIKE … ESCAPE, []byte for BLOB/bytea) needs no entry here.
type dialect struct {
	name       string        // "sqlite" or "postgres", returned by Store.Dialect
	goose      goose.Dialect // for the migration provider
	migrations string        // folder of migrationsFS holding this dialect's files
	dollar     bool          // placeholders are $1, $2, … rather than ?
	unixMicros bool          // times are INTEGER microseconds rather than timestamptz
}

var (
	sqliteDialect = &dialect{
		name:       "sqlite",
		goose:      goose.DialectSQLite3,
		migrations: "migrations/sqlite",
		unixMicros: true,
	}
	postgresDialect = &dialect{
		name:       "postgres",
		goose:      goose.DialectPostgres,
		migrations: "migrations/postgres",
		dollar:     true,
	}
)

// rebind rewrites the portable ? placeholders of q into the dialect's own.
// It runs once per query at Open, never per call. A ? inside a quoted string
// or identifier is left alone.
func (d *dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// time converts t into the value the dialect stores. Times keep microsecond
// precision on both databases; t is truncated (not rounded) so that a value
// read back equals t.Truncate(time.Microsecond).
func (d *dialect) time(t time.Time) any {
	if d.unixMicros {
		return t.UnixMicro()
	}
	return t.Truncate(time.Microsecond).UTC()
}

// nullTime is time for a nullable column: nil stores NULL.
func (d *dialect) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.time(*t)
}

// zeroNullTime is time for a nullable column whose field is a time.Time
// rather than a pointer: the zero time stores NULL.
func (d *dialect) zeroNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.time(t)
}

// lockTable returns the statement that, run first in a write transaction,
// makes concurrent transactions that do the same wait for this one to end,
// while plain reads go on; "" when the dialect needs none. SQLite's
// transactions already run one at a time (BEGIN IMMEDIATE on the one writer
// connection); PostgreSQL's READ COMMITTED lets two "retire the others, then
// insert" transactions miss each other's insert without it.
func (d *dialect) lockTable(table string) string {
	if d.unixMicros {
		return ""
	}
	return "LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE"
}

// insertInWith returns q, a statement with an INSERT inside a WITH, or ""
// on SQLite, which allows none.
func (d *dialect) insertInWith(q string) string {
	if d.name == "sqlite" {
		return ""
	}
	return q
}

// skipLocked returns the locking clause that ends the SELECT picking the
// messages a worker claims: on PostgreSQL FOR UPDATE SKIP LOCKED, so that
// workers on several nodes each lock different rows instead of queueing
// behind (or double-claiming) the same ones; "" on SQLite, where a writing
// statement holds the database's one write lock from start to end, so two
// claims cannot interleave at all.
func (d *dialect) skipLocked() string {
	if d.unixMicros {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

// lockRow returns the locking clause that ends a SELECT of one row to make
// concurrent transactions that lock the same row wait for this one to end:
// on PostgreSQL FOR NO KEY UPDATE, which (unlike FOR UPDATE) still lets
// other transactions insert rows that reference the locked one; "" on
// SQLite, whose write transactions already run one at a time.
func (d *dialect) lockRow() string {
	if d.unixMicros {
		return ""
	}
	return " FOR NO KEY UPDATE"
}

// errClass is what a driver error means to the store.
type errClass int

const (
	errOther         errClass = iota // the database could not answer: ErrUnavailable
	errEmailTaken                    // unique violation on users.email
	errPhoneTaken                    // unique violation on users.phone
	errMissingRef                    // foreign key violation: the parent row is gone
	errFactorExists                  // unique violation on factors (user_id, kind)
	errPasskeyExists                 // primary key violation on passkeys.id
	errIdentityTaken                 // unique violation on identities (provider, subject)
	errConstraint                    // any other constraint: a caller bug, not an outage
)

// classify maps a driver error to its errClass, by SQLite extended result
// code and message or by PostgreSQL SQLSTATE and constraint name.
func (d *dialect) classify(err error) errClass {
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch code := le.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// A credential ID registered already: SQLite reports the
			// primary key as "UNIQUE constraint failed: passkeys.id".
			// Any other table's duplicate ID is a caller bug.
			if strings.Contains(le.Error(), "passkeys.id") {
				return errPasskeyExists
			}
			return errConstraint
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			// SQLite names the columns, not the constraint:
			// "UNIQUE constraint failed: users.email".
			msg := le.Error()
			switch {
			case strings.Contains(msg, "users.email"):
				return errEmailTaken
			case strings.Contains(msg, "users.phone"):
				return errPhoneTaken
			case strings.Contains(msg, "identities.provider, identities.subject"):
				return errIdentityTaken
			case strings.Contains(msg, "factors.user_id, factors.kind"):
				// Either partial index; only factors_confirmed_key can
				// be violated, as PutFactor deletes the unconfirmed
				// factor before it inserts.
				return errFactorExists
			}
			return errConstraint
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errMissingRef
		case code&0xff == sqlite3.SQLITE_CONSTRAINT:
			return errConstraint
		}
		return errOther
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			switch pe.ConstraintName {
			case "users_email_key":
				return errEmailTaken
			case "users_phone_key":
				return errPhoneTaken
			case "factors_confirmed_key":
				return errFactorExists
			case "passkeys_pkey":
				return errPasskeyExists
			case "identities_provider_subject_key":
				return errIdentityTaken
			}
			return errConstraint
		case pe.Code == "23503": // foreign_key_violation
			return errMissingRef
		case strings.HasPrefix(pe.Code, "23"): // integrity_constraint_violation
			return errConstraint
		}
	}
	return errOther
}
