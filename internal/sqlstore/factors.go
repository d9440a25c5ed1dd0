package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var (
	_ auth.FactorStore               = (*Store)(nil)
	_ auth.MFATokenStore             = (*Store)(nil)
	_ auth.MFAEmailCodeMessageSetter = (*Store)(nil)
)

func scanFactor(row scanner) (*auth.Factor, error) {
	var f auth.Factor
	err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Secret, &f.LastStep,
		timeCol{&f.CreatedAt}, nullTimeCol{&f.ConfirmedAt})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// PutFactor inserts f in place of the unconfirmed factor (an enrolment
// under way) of its user and kind, if any, whether f is confirmed or not.
// When the user has a confirmed factor of f's kind already it returns
// auth.ErrFactorExists and stores nothing: a factor is replaced only by
// deleting it first. A user that does not exist returns auth.ErrNotFound. A
// nil or empty f.Secret stores none.
//
// It runs in one transaction that first locks the user's row (on
// PostgreSQL; SQLite's transactions run one at a time anyway), as
// ConfirmFactor does, so concurrent enrolments and confirmations of one
// user take turns: two enrolments leave one, two confirmed factors of one
// kind cannot both go in.
func (s *Store) PutFactor(ctx context.Context, f *auth.Factor) error {
	return s.inTx(ctx, "put factor", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockUser(ctx, tx, "put factor", f.UserID); err != nil {
			return err
		}
		var one int
		switch err := tx.QueryRowContext(ctx, s.q.confirmedFactorExists, f.UserID, f.Kind).Scan(&one); {
		case err == nil:
			return fmt.Errorf("sqlstore: put factor: %w", auth.ErrFactorExists)
		case !errors.Is(err, sql.ErrNoRows):
			return s.fail("put factor", err)
		}
		if _, err := tx.ExecContext(ctx, s.q.deletePendingFactors, f.UserID, f.Kind); err != nil {
			return s.fail("put factor", err)
		}
		d := s.d
		_, err := tx.ExecContext(ctx, s.q.insertFactor,
			f.ID, f.UserID, f.Kind, nullBytes(f.Secret), f.LastStep, d.time(f.CreatedAt), d.nullTime(f.ConfirmedAt))
		if err != nil {
			return s.fail("put factor", err)
		}
		return nil
	})
}

// Factors returns every factor of the user, confirmed or not, oldest first
// (by CreatedAt, then ID); none for an unknown user.
func (s *Store) Factors(ctx context.Context, userID string) ([]auth.Factor, error) {
	rows, err := s.r.QueryContext(ctx, s.q.factors, userID)
	return collect(s, "factors", rows, err, scanFactor)
}

// ConfirmFactor marks the unconfirmed factor id confirmed at now with the
// TOTP step that confirmed it and, when backupHashes is not empty, replaces
// every backup code of its user with them, in one transaction. An empty
// backupHashes leaves the user's codes as they are (turning on a second
// factor need not kill codes the user holds; ReplaceBackupCodes with none
// removes them). A factor that does not exist or is confirmed already
// returns auth.ErrNotFound; one whose user already has a confirmed factor
// of its kind returns auth.ErrFactorExists. Either way nothing changes.
func (s *Store) ConfirmFactor(ctx context.Context, id string, step int64, now time.Time, backupHashes [][]byte) error {
	return s.inTx(ctx, "confirm factor", func(ctx context.Context, tx *sql.Tx) error {
		var userID string
		if err := s.rowErr(tx.QueryRowContext(ctx, s.q.lockFactorUser, id).Scan(&userID), "factor "+id, "confirm factor"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q.confirmFactor, s.d.time(now), step, id)
		if err := s.oneRow("confirm factor", "unconfirmed factor "+id, res, err); err != nil {
			return err
		}
		if len(backupHashes) == 0 {
			return nil
		}
		return s.replaceBackupCodes(ctx, tx, userID, backupHashes, now)
	})
}

// UseTOTPStep records step as the factor's last accepted TOTP step when it
// is later than the last one, and returns true; it returns false, changing
// nothing, for a step not later (a replay). Of concurrent calls with one
// step exactly one returns true. An unknown ID is auth.ErrNotFound.
func (s *Store) UseTOTPStep(ctx context.Context, factorID string, step int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q.useTOTPStep, step, factorID, step)
	return s.changed(ctx, "use totp step", s.q.factorExists, "factor "+factorID, factorID, res, err)
}

// DeleteFactor removes the user's factors of kind, confirmed or not (an
// enrolment under way goes too). None returns auth.ErrNotFound. Backup
// codes stay: whether they go with the last factor is the caller's call.
func (s *Store) DeleteFactor(ctx context.Context, userID, kind string) error {
	res, err := s.w.ExecContext(ctx, s.q.deleteFactor, userID, kind)
	return s.oneRow("delete factor", kind+" factor of user "+userID, res, err)
}

// ReplaceBackupCodes replaces every backup code of the user, used or not,
// with hashes (none when it is empty), in one transaction; concurrent
// replacements leave one whole set. The port passes no time, so the new
// codes' creation time is the store's clock. An unknown user returns
// auth.ErrNotFound.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return s.inTx(ctx, "replace backup codes", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockUser(ctx, tx, "replace backup codes", userID); err != nil {
			return err
		}
		return s.replaceBackupCodes(ctx, tx, userID, hashes, time.Now())
	})
}

// lockUser locks the user's row until the end of tx (see dialect.lockRow),
// and returns auth.ErrNotFound when there is no such user. Every
// transaction that changes a user's factors or backup codes takes it first,
// in the order DeleteUser takes its locks (the user, then the cascade), so
// such transactions of one user run one after the other and cannot
// deadlock with a deletion.
func (s *Store) lockUser(ctx context.Context, tx *sql.Tx, op, userID string) error {
	var id string
	return s.rowErr(tx.QueryRowContext(ctx, s.q.lockUser, userID).Scan(&id), "user "+userID, op)
}

// replaceBackupCodes deletes the user's codes and inserts hashes, within
// the caller's transaction, which holds the lock on the user's row.
func (s *Store) replaceBackupCodes(ctx context.Context, tx *sql.Tx, userID string, hashes [][]byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q.deleteBackupCodes, userID); err != nil {
		return s.fail("delete backup codes", err)
	}
	t := s.d.time(now)
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.q.insertBackupCode, randomID(), userID, nonNilBytes(h), t); err != nil {
			return s.fail("insert backup code", err)
		}
	}
	return nil
}

// UseBackupCode marks the user's unused backup code with hash used at now
// and returns true, or false when the user has no such unused code; either
// way it returns how many unused codes remain. Of concurrent uses of one
// code exactly one returns true.
func (s *Store) UseBackupCode(ctx context.Context, userID string, hash []byte, now time.Time) (used bool, remaining int, err error) {
	err = s.inTx(ctx, "use backup code", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.useBackupCode, s.d.time(now), userID, nonNilBytes(hash))
		if err != nil {
			return s.fail("use backup code", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("use backup code", err)
		}
		used = n == 1
		if err := tx.QueryRowContext(ctx, s.q.backupCodesLeft, userID).Scan(&remaining); err != nil {
			return s.fail("count backup codes", err)
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return used, remaining, nil
}

// BackupCodesLeft returns how many unused backup codes the user has (0 for
// an unknown user).
func (s *Store) BackupCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.q.backupCodesLeft, userID).Scan(&n); err != nil {
		return 0, s.fail("count backup codes", err)
	}
	return n, nil
}

func scanMFAToken(row scanner) (*auth.MFAToken, error) {
	var (
		t   auth.MFAToken
		amr string
	)
	err := row.Scan(&t.ID, &t.UserID, &t.Hash, &amr, &t.Attempts, &t.EmailCodeHash,
		nullTimeCol{&t.EmailCodeExpiresAt}, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt},
		nullTimeCol{&t.ConsumedAt}, &t.Browser, &t.RedirectTo, nullStringCol{&t.SessionID})
	if err != nil {
		return nil, err
	}
	t.AMR = strings.Fields(amr)
	return &t, nil
}

// CreateMFAToken inserts t. A user that does not exist returns
// auth.ErrNotFound; a nil EmailCodeHash stores no code.
func (s *Store) CreateMFAToken(ctx context.Context, t *auth.MFAToken) error {
	d := s.d
	// AMR values are RFC 8176 method names, which hold no spaces.
	_, err := s.w.ExecContext(ctx, s.q.createMFAToken,
		t.ID, t.UserID, nonNilBytes(t.Hash), strings.Join(t.AMR, " "), t.Attempts, nullBytes(t.EmailCodeHash),
		d.nullTime(t.EmailCodeExpiresAt), d.time(t.CreatedAt), d.time(t.ExpiresAt), d.nullTime(t.ConsumedAt),
		t.Browser, t.RedirectTo, nullString(t.SessionID))
	if err != nil {
		return s.fail("create mfa token", err)
	}
	return nil
}

// MFATokenByHash returns the MFA token whose value hashes to hash, consumed
// or expired ones included: the caller decides. No hash finds nothing.
func (s *Store) MFATokenByHash(ctx context.Context, hash []byte) (*auth.MFAToken, error) {
	if len(hash) == 0 {
		return nil, notFound("mfa token by hash")
	}
	t, err := scanMFAToken(s.r.QueryRowContext(ctx, s.q.mfaTokenByHash, hash))
	return found(s, t, err, "mfa token by hash", "mfa token by hash")
}

// FailMFAToken counts one wrong second-factor code against the token and
// returns the new count. The database does the increment, so every one of
// concurrent calls counts. An unknown ID is auth.ErrNotFound.
func (s *Store) FailMFAToken(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, s.q.failMFAToken, id).Scan(&n)
	return found(s, n, err, "mfa token "+id, "fail mfa token")
}

// SetMFAEmailCode records hash as the token's emailed code, valid until
// expires, in place of any earlier one (a nil hash clears it). An unknown
// ID is auth.ErrNotFound.
func (s *Store) SetMFAEmailCode(ctx context.Context, id string, hash []byte, expires time.Time) error {
	return s.setMFAEmailCode(ctx, s.w, id, hash, expires)
}

// SetMFAEmailCodeWithMessage is SetMFAEmailCode and Enqueue of m in one
// transaction: the code is stored only if its message is, and the other way
// round. An unknown ID is auth.ErrNotFound and enqueues nothing.
func (s *Store) SetMFAEmailCodeWithMessage(ctx context.Context, id string, hash []byte, expires time.Time, m *auth.Message) error {
	return s.inTx(ctx, "set mfa email code", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.setMFAEmailCode(ctx, tx, id, hash, expires); err != nil {
			return err
		}
		return s.addMessage(ctx, tx, m)
	})
}

func (s *Store) setMFAEmailCode(ctx context.Context, x execer, id string, hash []byte, expires time.Time) error {
	exp := s.d.zeroNullTime(expires)
	if len(hash) == 0 {
		exp = nil
	}
	res, err := x.ExecContext(ctx, s.q.setMFAEmailCode, nullBytes(hash), exp, id)
	return s.oneRow("set mfa email code", "mfa token "+id, res, err)
}

// ConsumeMFAToken marks the token used at now. It returns false when it was
// used already, and auth.ErrNotFound when it does not exist. Of concurrent
// calls for one token exactly one returns true.
func (s *Store) ConsumeMFAToken(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q.consumeMFAToken, s.d.time(now), id)
	return s.changed(ctx, "consume mfa token", s.q.mfaTokenExists, "mfa token "+id, id, res, err)
}

// DeleteUserMFATokens removes every MFA token of the user, pending or not;
// none (an unknown user) is not an error.
func (s *Store) DeleteUserMFATokens(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, s.q.deleteUserMFATokens, userID); err != nil {
		return s.fail("delete user mfa tokens", err)
	}
	return nil
}

// changed finishes a conditional UPDATE of one row by ID: true when it
// changed the row, false when its condition kept it from doing so, and
// auth.ErrNotFound (through exists) when there is no such row.
func (s *Store) changed(ctx context.Context, op, existsQuery, what string, id any, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, s.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail(op, err)
	}
	if n == 1 {
		return true, nil
	}
	if err := s.exists(ctx, existsQuery, what, id); err != nil {
		return false, err
	}
	return false, nil
}

// randomID returns a new random row ID (128 bits, hex), for rows whose
// callers give none.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
