package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

func scanRefresh(row scanner) (*auth.RefreshToken, error) {
	var rt auth.RefreshToken
	err := row.Scan(&rt.ID, &rt.SessionID, &rt.Hash, timeCol{&rt.CreatedAt}, timeCol{&rt.ExpiresAt},
		nullTimeCol{&rt.RotatedAt}, nullStringCol{&rt.SuccessorID})
	if err != nil {
		return nil, err
	}
	return &rt, nil
}

func (s *Store) insertRefresh(ctx context.Context, x execer, rt *auth.RefreshToken) error {
	d := s.d
	_, err := x.ExecContext(ctx, s.q.createRefresh, rt.ID, rt.SessionID, rt.Hash,
		d.time(rt.CreatedAt), d.time(rt.ExpiresAt), d.nullTime(rt.RotatedAt), nullString(rt.SuccessorID))
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

// RotateRefreshToken marks oldID rotated at now with successor next and
// inserts next, in one write transaction. It returns false, inserting
// nothing, when oldID was already rotated, and auth.ErrNotFound when oldID
// does not exist. Of concurrent calls for one token exactly one returns
// true: on SQLite the single writer runs them one at a time; on PostgreSQL
// the row lock makes the losers re-check rotated_at and update nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next *auth.RefreshToken, now time.Time) (bool, error) {
	var rotated bool
	err := s.inTx(ctx, "rotate refresh token", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.rotateRefresh, s.d.time(now), next.ID, oldID)
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
			return nil // lost the race, or a replay: insert nothing
		}
		if err := s.insertRefresh(ctx, tx, next); err != nil {
			return err
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
