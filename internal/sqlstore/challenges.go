package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var (
	_ auth.ChallengeStore         = (*Store)(nil)
	_ auth.ChallengeMessagePutter = (*Store)(nil)
)

func scanChallenge(row scanner) (*auth.Challenge, error) {
	var c auth.Challenge
	err := row.Scan(&c.ID, &c.Purpose, &c.Address, nullStringCol{&c.UserID}, &c.CodeHash, &c.LinkHash,
		&c.RedirectTo, &c.Attempts, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt},
		zeroTimeCol{&c.LinkExpiresAt}, nullTimeCol{&c.ConsumedAt}, &c.Target, &c.SignUp)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// PutChallenge stores c in place of any challenge of the same purpose and
// address, in one statement: the old challenge is gone only if the new one
// is in. An empty c.UserID stores no user; a c.UserID that does not exist
// returns auth.ErrNotFound. A zero c.LinkExpiresAt and a nil c.LinkHash
// store none.
func (s *Store) PutChallenge(ctx context.Context, c *auth.Challenge) error {
	return s.putChallenge(ctx, s.w, c)
}

// PutChallengeWithMessage is PutChallenge and Enqueue of m in one
// transaction: either both are stored or neither is.
func (s *Store) PutChallengeWithMessage(ctx context.Context, c *auth.Challenge, m *auth.Message) error {
	return s.inTx(ctx, "put challenge", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.putChallenge(ctx, tx, c); err != nil {
			return err
		}
		return s.addMessage(ctx, tx, m)
	})
}

func (s *Store) putChallenge(ctx context.Context, x execer, c *auth.Challenge) error {
	d := s.d
	_, err := x.ExecContext(ctx, s.q.putChallenge,
		c.ID, c.Purpose, c.Address, nullString(c.UserID), nonNilBytes(c.CodeHash), nullBytes(c.LinkHash),
		c.RedirectTo, c.Attempts, d.time(c.CreatedAt), d.time(c.ExpiresAt),
		d.zeroNullTime(c.LinkExpiresAt), d.nullTime(c.ConsumedAt), c.Target, c.SignUp)
	if err != nil {
		return s.fail("put challenge", err)
	}
	return nil
}

// ChallengeByAddress returns the challenge of purpose for address, consumed
// or expired ones included: the caller decides.
func (s *Store) ChallengeByAddress(ctx context.Context, purpose, address string) (*auth.Challenge, error) {
	// The address stays out of the error: errors end up in logs.
	c, err := scanChallenge(s.r.QueryRowContext(ctx, s.q.challengeByAddress, purpose, address))
	return found(s, c, err, "challenge by address", "challenge by address")
}

// ChallengeByLinkHash returns the challenge whose link hashes to hash,
// consumed or expired ones included. No hash finds nothing.
func (s *Store) ChallengeByLinkHash(ctx context.Context, hash []byte) (*auth.Challenge, error) {
	if len(hash) == 0 {
		return nil, notFound("challenge by link")
	}
	c, err := scanChallenge(s.r.QueryRowContext(ctx, s.q.challengeByLinkHash, hash))
	return found(s, c, err, "challenge by link", "challenge by link")
}

// FailChallenge counts one wrong code against the challenge and returns the
// new count. The database does the increment, so every one of concurrent
// calls counts. An unknown ID (or one a new request replaced) is
// auth.ErrNotFound.
func (s *Store) FailChallenge(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, s.q.failChallenge, id).Scan(&n)
	return found(s, n, err, "challenge "+id, "fail challenge")
}

// ConsumeChallenge marks the challenge used at now. It returns false when
// it was used already, and auth.ErrNotFound when it does not exist (or a
// new request replaced it). Of concurrent calls for one challenge exactly
// one returns true: the UPDATE changes the row only while consumed_at is
// NULL, and the database lets one UPDATE of a row happen at a time.
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q.consumeChallenge, s.d.time(now), id)
	if err != nil {
		return false, s.fail("consume challenge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail("consume challenge", err)
	}
	if n == 1 {
		return true, nil
	}
	if err := s.exists(ctx, s.q.challengeExists, "challenge "+id, id); err != nil {
		return false, err
	}
	return false, nil
}

// exists returns nil when query (SELECT 1 … WHERE id = ?) finds a row, and
// an error matching auth.ErrNotFound naming what when it does not: it tells
// a conditional UPDATE that changed nothing because of its condition from
// one that found no such row. id is the row's key, a string or, for a
// passkey, bytes.
func (s *Store) exists(ctx context.Context, query, what string, id any) error {
	var one int
	return s.rowErr(s.r.QueryRowContext(ctx, query, id).Scan(&one), what, "look up "+what)
}

// nonNilBytes stores a nil slice as an empty one, for NOT NULL byte
// columns.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
