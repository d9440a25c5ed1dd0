package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// sessionRow is what a session's columns (sessionCols) scan into.
type sessionRow struct {
	s   auth.Session
	amr string
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &s.CookieHash, &s.IP, &s.UserAgent, &s.AAL, &r.amr,
		timeCol{&s.CreatedAt}, timeCol{&s.LastSeenAt}, timeCol{&s.ExpiresAt},
		timeCol{&s.AbsoluteExpiresAt}, nullTimeCol{&s.RevokedAt}}
}

// value answers the session once its row has been scanned.
func (r *sessionRow) value() *auth.Session {
	r.s.AMR = strings.Fields(r.amr)
	return &r.s
}

func scanSession(row scanner) (*auth.Session, error) {
	var r sessionRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.value(), nil
}

// sessionArgs returns sess's values in the order of sessionCols, as every
// statement that inserts a session takes them.
func (d *dialect) sessionArgs(sess *auth.Session) []any {
	// AMR values are RFC 8176 method names, which hold no spaces.
	return []any{sess.ID, sess.UserID, nullBytes(sess.CookieHash), sess.IP, sess.UserAgent, sess.AAL,
		strings.Join(sess.AMR, " "), d.time(sess.CreatedAt), d.time(sess.LastSeenAt),
		d.time(sess.ExpiresAt), d.time(sess.AbsoluteExpiresAt), d.nullTime(sess.RevokedAt)}
}

// CreateSession inserts sess and, when rt is not nil, its first refresh
// token in the same transaction. A session for a user that does not exist
// returns auth.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session, rt *auth.RefreshToken) error {
	insert := func(ctx context.Context, x execer) error {
		_, err := x.ExecContext(ctx, s.q.createSession, s.d.sessionArgs(sess)...)
		if err != nil {
			return s.fail("create session", err)
		}
		return nil
	}
	if rt == nil {
		return insert(ctx, s.w)
	}
	if s.q.createSessionAndRefresh != "" {
		// One statement is one round trip where a transaction takes four:
		// every sign-in runs this.
		_, err := s.w.ExecContext(ctx, s.q.createSessionAndRefresh, append(s.d.sessionArgs(sess), s.d.refreshArgs(rt)...)...)
		if err != nil {
			return s.fail("create session", err)
		}
		return nil
	}
	return s.inTx(ctx, "create session", func(ctx context.Context, tx *sql.Tx) error {
		if err := insert(ctx, tx); err != nil {
			return err
		}
		return s.insertRefresh(ctx, tx, rt)
	})
}

// SessionByID returns the session with that ID, revoked or expired ones
// included: the caller decides with Session.Live.
func (s *Store) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	sess, err := scanSession(s.r.QueryRowContext(ctx, s.q.sessionByID, id))
	return found(s, sess, err, "session "+id, "session by id")
}

// SessionByCookieHash returns the session whose cookie hashes to hash,
// revoked or expired ones included.
func (s *Store) SessionByCookieHash(ctx context.Context, hash []byte) (*auth.Session, error) {
	sess, err := scanSession(s.r.QueryRowContext(ctx, s.q.sessionByCookieHash, hash))
	return found(s, sess, err, "session by cookie", "session by cookie")
}

// ListSessions returns the user's sessions that are live at now (not
// revoked, before both expiries), newest first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	t := s.d.time(now)
	rows, err := s.r.QueryContext(ctx, s.q.listSessions, userID, t, t)
	return collect(s, "list sessions", rows, err, scanSession)
}

// TouchSession records a use of the session: lastSeen and the slid
// expiresAt (the caller keeps it within the absolute lifetime).
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.touchSession, s.d.time(lastSeen), s.d.time(expiresAt), id)
	return s.oneRow("touch session", "session "+id, res, err)
}

// RevokeSession marks the session revoked at now. Revoking it again keeps
// the first time and is not an error; an unknown ID is auth.ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.revokeSession, s.d.time(now), id)
	return s.oneRow("revoke session", "session "+id, res, err)
}

// RevokeUserSessions revokes every session of the user that is live at now,
// except keepID, and returns the revoked IDs in ascending order (none, for
// an unknown user).
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keepID string, now time.Time) ([]string, error) {
	t := s.d.time(now)
	rows, err := s.w.QueryContext(ctx, s.q.revokeUserSessions, t, userID, keepID, t, t)
	ids, err := collect(s, "revoke user sessions", rows, err, func(row scanner) (*string, error) {
		var id string
		err := row.Scan(&id)
		return &id, err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// RaiseSession sets a live session's AAL and AMR and, in the same
// transaction, its new cookie hash (when cookieHash is not nil) or its new
// refresh token (when next is not nil: every unrotated token of the
// session is marked rotated with next as successor first). It returns
// false, changing nothing, when the session is revoked, expired at now or
// unknown.
func (s *Store) RaiseSession(ctx context.Context, id, aal string, amr []string, cookieHash []byte, next *auth.RefreshToken, now time.Time) (bool, error) {
	var raised bool
	err := s.inTx(ctx, "raise session", func(ctx context.Context, tx *sql.Tx) error {
		d := s.d
		t := d.time(now)
		// AMR values are RFC 8176 method names, which hold no spaces.
		res, err := tx.ExecContext(ctx, s.q.raiseSession, aal, strings.Join(amr, " "), nullBytes(cookieHash), id, t, t)
		if err != nil {
			return s.fail("raise session", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("raise session", err)
		}
		if n == 0 || next == nil {
			raised = n > 0
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q.retireRefresh, t, next.ID, id); err != nil {
			return s.fail("retire refresh tokens", err)
		}
		if err := s.insertRefresh(ctx, tx, next); err != nil {
			return err
		}
		raised = true
		return nil
	})
	return raised, err
}

// execer is *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
