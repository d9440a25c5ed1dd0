package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// Purge deletes rows that can no longer be used, so tables stay the size
// of what is live: challenges whose code and link both expired before
// before, MFA tokens and WebAuthn ceremonies that expired before it,
// authenticator enrolments never confirmed and started before it, and
// sessions (with their refresh tokens)
// that ended before it; and, before keepUntil, messages no longer pending
// and refresh tokens rotated so long ago that a replay of them is no longer
// worth detecting. It returns how many rows went.
//
// Each statement has purgeTimeout rather than the store's deadline: the
// first purge after a long outage may delete far more than an hour's
// worth, and under the short deadline it would fail the same way every
// hour and never catch up. It runs in the background, never for a request.
func (s *Store) Purge(ctx context.Context, before, keepUntil time.Time) (int64, error) {
	b, k := s.d.time(before), s.d.time(keepUntil)
	var total int64
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM challenges WHERE expires_at < ? AND (link_expires_at IS NULL OR link_expires_at < ?)`, []any{b, b}},
		{`DELETE FROM mfa_tokens WHERE expires_at < ?`, []any{b}},
		{`DELETE FROM webauthn_ceremonies WHERE expires_at < ?`, []any{b}},
		{`DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < ?`, []any{b}},
		{`DELETE FROM sessions WHERE revoked_at < ? OR expires_at < ? OR absolute_expires_at < ?`, []any{b, b, b}},
		{`DELETE FROM messages WHERE status <> 'pending' AND created_at < ?`, []any{k}},
		{`DELETE FROM refresh_tokens WHERE rotated_at < ?`, []any{k}},
	} {
		res, err := s.purge(ctx, st.sql, st.args)
		if err != nil {
			return total, s.fail("purge", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// purgeTimeout bounds each of Purge's statements.
const purgeTimeout = time.Minute

// purge runs one of Purge's statements under purgeTimeout.
func (s *Store) purge(ctx context.Context, q string, args []any) (sql.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, purgeTimeout)
	defer cancel()
	return s.w.db.ExecContext(ctx, s.d.rebind(q), args...)
}
