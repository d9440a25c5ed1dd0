package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// refreshRow is what a refresh token's columns (refreshCols) scan into.
type refreshRow struct{ rt auth.RefreshToken }

func (r *refreshRow) dest() []any {
	rt := &r.rt
	return []any{&rt.ID, &rt.SessionID, &rt.Hash, timeCol{&rt.CreatedAt}, timeCol{&rt.ExpiresAt},
		nullTimeCol{&rt.RotatedAt}, nullStringCol{&rt.SuccessorID}}
}

func scanRefresh(row scanner) (*auth.RefreshToken, error) {
	var r refreshRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return &r.rt, nil
}

// refreshArgs returns rt's values in the order of refreshCols, as every
// statement that inserts a refresh token takes them.
func (d *dialect) refreshArgs(rt *auth.RefreshToken) []any {
	return []any{rt.ID, rt.SessionID, rt.Hash, d.time(rt.CreatedAt), d.time(rt.ExpiresAt), d.nullTime(rt.RotatedAt), nullString(rt.SuccessorID)}
}

func (s *Store) insertRefresh(ctx context.Context, x execer, rt *auth.RefreshToken) error {
	_, err := x.ExecContext(ctx, s.q.createRefresh, s.d.refreshArgs(rt)...)
	if err != nil {
		return s.fail("insert refresh token", err)
	}
	return nil
}

// RefreshTokenByHash returns the refresh token whose value hashes to hash,
// rotated or expired ones included: presenting a rotated token is how the
// caller detects reuse.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (*auth.RefreshToken, error) {
	rt, err := scanRefresh(s.r.QueryRowContext(ctx, s.q.refreshByHash, hash))
	return found(s, rt, err, "refresh token by hash", "refresh token by hash")
}

// RefreshTokenSession returns the refresh token whose value hashes to hash
// (rotated or expired ones included, as RefreshTokenByHash), its session and
// the session's user, read by one query: a refresh needs all three, and one
// round trip where three took three. A token whose session or user is gone
// is auth.ErrNotFound, as the token itself would be.
func (s *Store) RefreshTokenSession(ctx context.Context, hash []byte) (*auth.RefreshToken, *auth.Session, *auth.User, error) {
	var (
		rr refreshRow
		sr sessionRow
		ur userRow
	)
	dest := append(append(rr.dest(), sr.dest()...), ur.dest()...)
	err := s.r.queryRowKept(ctx, s.q.refreshSession, hash).Scan(dest...)
	if err := s.rowErr(err, "refresh token by hash", "refresh token session"); err != nil {
		return nil, nil, nil, err
	}
	return &rr.rt, sr.value(), ur.value(), nil
}

// RefreshAndRotate reads the refresh token whose value hashes to hash, its
// session and its user, and rotates the token when a refresh may (see
// auth.RefreshRotator): on PostgreSQL in one statement, one round trip
// where RefreshTokenSession and RotateRefreshToken take two, run through
// pgx's own interface (see conn.queryRowPgx); on SQLite as
// those two, the read on a reader and the rotation on the writer, so that
// reads never queue behind the one writer.
func (s *Store) RefreshAndRotate(ctx context.Context, hash []byte, next *auth.RefreshToken, now, slideTo time.Time) (*auth.RefreshToken, *auth.Session, *auth.User, bool, error) {
	if s.q.refreshAndRotate == "" {
		rt, sess, u, err := s.RefreshTokenSession(ctx, hash)
		if err != nil {
			return nil, nil, nil, false, err
		}
		if !rt.Rotatable(sess, u, now) {
			return rt, sess, u, false, nil
		}
		n := *next
		n.SessionID, n.ExpiresAt = sess.ID, sess.AbsoluteExpiresAt
		expiresAt := sess.AbsoluteExpiresAt
		if slideTo.Before(expiresAt) {
			expiresAt = slideTo
		}
		rotated, err := s.RotateRefreshToken(ctx, rt.ID, &n, now, expiresAt)
		if err != nil {
			return nil, nil, nil, false, err
		}
		return rt, sess, u, rotated, nil
	}
	var (
		rr      refreshRow
		sr      sessionRow
		ur      userRow
		rotated int
	)
	dest := append(append(append([]any{discard{}, discard{}, discard{}}, rr.dest()...), sr.dest()...), ur.dest()...)
	d := s.d
	err := s.w.queryRowPgx(ctx, s.q.refreshAndRotate, []any{hash, d.time(now), next.ID, next.Hash, d.time(slideTo)},
		append(dest, &rotated)...)
	if err := s.rowErr(err, "refresh token by hash", "refresh and rotate"); err != nil {
		return nil, nil, nil, false, err
	}
	return &rr.rt, sr.value(), ur.value(), rotated == 1, nil
}

// discard scans a column the caller does not need.
type discard struct{}

func (discard) Scan(any) error { return nil }

// RotateRefreshToken marks oldID rotated at now with successor next,
// inserts next and records the use of next's session (last seen at now,
// expiring at expiresAt), atomically. It returns false, writing nothing,
// when oldID was already rotated, and auth.ErrNotFound when oldID does not
// exist. Of concurrent calls for one token exactly one returns true: on
// SQLite the single writer runs them one at a time; on PostgreSQL the row
// lock makes the losers re-check rotated_at and update nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next *auth.RefreshToken, now, expiresAt time.Time) (bool, error) {
	d := s.d
	if s.q.rotateRefreshAll != "" {
		// One statement, one round trip (and, see the query, no wait for
		// the WAL flush) where the transaction below takes five.
		var rotated, exists int
		args := append([]any{d.time(now), next.ID, oldID}, d.refreshArgs(next)...)
		err := s.w.QueryRowContext(ctx, s.q.rotateRefreshAll,
			append(args, d.time(now), d.time(expiresAt), oldID)...).Scan(&rotated, &exists)
		if err != nil {
			return false, s.fail("rotate refresh token", err)
		}
		if exists == 0 {
			return false, notFound("refresh token " + oldID)
		}
		return rotated == 1, nil
	}
	var kept [3]*sql.Stmt
	for i, q := range []string{s.q.rotateRefresh, s.q.createRefresh, s.q.touchSession} {
		st, err := s.w.prepared(ctx, q)
		if err != nil {
			return false, s.fail("rotate refresh token", err)
		}
		kept[i] = st
	}
	var rotated bool
	err := s.inTx(ctx, "rotate refresh token", func(ctx context.Context, tx *sql.Tx) error {
		res, err := execInTx(ctx, tx, kept[0], s.q.rotateRefresh, d.time(now), next.ID, oldID)
		if err != nil {
			return s.fail("rotate refresh token", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("rotate refresh token", err)
		}
		if n == 0 {
			var one int
			if err := s.rowErr(tx.QueryRowContext(ctx, s.q.refreshExists, oldID).Scan(&one), "refresh token "+oldID, "rotate refresh token"); err != nil {
				return err
			}
			return nil // lost the race, or a replay: write nothing
		}
		if _, err := execInTx(ctx, tx, kept[1], s.q.createRefresh, d.refreshArgs(next)...); err != nil {
			return s.fail("insert refresh token", err)
		}
		if _, err := execInTx(ctx, tx, kept[2], s.q.touchSession, d.time(now), d.time(expiresAt), next.SessionID); err != nil {
			return s.fail("touch session", err)
		}
		rotated = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return rotated, nil
}

// SigningKeys returns every stored signing key, oldest first, retired ones
// included so that verifiers keep trusting tokens they signed.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, s.q.signingKeys)
	return collect(s, "signing keys", rows, err, func(row scanner) (*auth.SigningKey, error) {
		var k auth.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public,
			timeCol{&k.CreatedAt}, nullTimeCol{&k.RetiredAt})
		return &k, err
	})
}

// AddSigningKey retires every unretired key at k.CreatedAt and inserts k,
// in one transaction, so that exactly one key signs at any time, even when
// several nodes add a key at once (the last to commit signs).
func (s *Store) AddSigningKey(ctx context.Context, k *auth.SigningKey) error {
	return s.inTx(ctx, "add signing key", func(ctx context.Context, tx *sql.Tx) error {
		d := s.d
		if s.q.lockSigningKeys != "" {
			if _, err := tx.ExecContext(ctx, s.q.lockSigningKeys); err != nil {
				return s.fail("lock signing keys", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q.retireSigningKeys, d.time(k.CreatedAt)); err != nil {
			return s.fail("retire signing keys", err)
		}
		if _, err := tx.ExecContext(ctx, s.q.addSigningKey, k.ID, k.Algorithm, k.Private, k.Public,
			d.time(k.CreatedAt), d.nullTime(k.RetiredAt)); err != nil {
			return s.fail("add signing key", err)
		}
		return nil
	})
}
