package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var (
	_ auth.PasskeyStore  = (*Store)(nil)
	_ auth.CeremonyStore = (*Store)(nil)
)

func scanPasskey(row scanner) (*auth.Passkey, error) {
	var (
		p          auth.Passkey
		signCount  int64
		transports string
	)
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AttestationFormat, &p.AAGUID, &signCount,
		&transports, &p.UserVerified, &p.BackupEligible, &p.BackupState, timeCol{&p.CreatedAt}, nullTimeCol{&p.LastUsedAt})
	if err != nil {
		return nil, err
	}
	// The column's CHECK keeps it within a uint32.
	p.SignCount = uint32(signCount)
	if p.Transports, err = decodeTransports(transports); err != nil {
		return nil, err
	}
	return &p, nil
}

// encodeTransports stores transports as a JSON array, "[]" for none: the
// browser reports them as free strings, so no separator is safe.
func encodeTransports(ts []string) string {
	if len(ts) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ts) // a []string always marshals
	return string(b)
}

// decodeTransports reads what encodeTransports stored; none is nil, as
// auth.Passkey documents.
func decodeTransports(s string) ([]string, error) {
	var ts []string
	if err := json.Unmarshal([]byte(s), &ts); err != nil {
		return nil, fmt.Errorf("sqlstore: passkey transports %q: %w", s, err)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return ts, nil
}

// passkeyName names a passkey in errors: its credential ID as WebAuthn
// writes it (base64url), which is no secret.
func passkeyName(id []byte) string {
	return "passkey " + base64.RawURLEncoding.EncodeToString(id)
}

// AddPasskey inserts p. A credential ID stored already (any user's)
// returns auth.ErrPasskeyExists, a user that does not exist
// auth.ErrNotFound; either way nothing is stored. Transports are kept as a
// JSON array.
func (s *Store) AddPasskey(ctx context.Context, p *auth.Passkey) error {
	d := s.d
	_, err := s.w.ExecContext(ctx, s.q.addPasskey,
		nonNilBytes(p.ID), p.UserID, p.Name, nonNilBytes(p.PublicKey), p.AttestationFormat, nonNilBytes(p.AAGUID),
		int64(p.SignCount), encodeTransports(p.Transports), p.UserVerified, p.BackupEligible, p.BackupState,
		d.time(p.CreatedAt), d.nullTime(p.LastUsedAt))
	if err != nil {
		return s.fail("add passkey", err)
	}
	return nil
}

// Passkeys returns the user's passkeys oldest first (by CreatedAt, then
// by ID, byte-wise); none, as an empty list, for an unknown user.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	rows, err := s.r.QueryContext(ctx, s.q.passkeys, userID)
	return collect(s, "passkeys", rows, err, scanPasskey)
}

// PasskeyByID returns the passkey with credential ID id, whoever's it is.
func (s *Store) PasskeyByID(ctx context.Context, id []byte) (*auth.Passkey, error) {
	if len(id) == 0 {
		return nil, notFound("passkey by id")
	}
	p, err := scanPasskey(s.r.QueryRowContext(ctx, s.q.passkeyByID, id))
	return found(s, p, err, passkeyName(id), "passkey by id")
}

// UsePasskey records a sign-in with the passkey at at: its new signature
// counter and backup state. It returns false, changing nothing, when the
// stored counter is not below signCount and either of them is not zero;
// both zero (an authenticator that keeps no counter) is always accepted.
// One UPDATE checks and writes, so of concurrent uses of one non-zero
// counter value exactly one returns true. An unknown ID is
// auth.ErrNotFound.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) (bool, error) {
	if len(id) == 0 {
		return false, notFound("use passkey")
	}
	n := int64(signCount)
	res, err := s.w.ExecContext(ctx, s.q.usePasskey, n, backupState, s.d.time(at), id, n, n)
	return s.changed(ctx, "use passkey", s.q.passkeyExists, passkeyName(id), id, res, err)
}

// RenamePasskey sets the name of the user's passkey id. Another user's
// passkey, or none, returns auth.ErrNotFound.
func (s *Store) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	res, err := s.w.ExecContext(ctx, s.q.renamePasskey, name, nonNilBytes(id), userID)
	return s.oneRow("rename passkey", passkeyName(id)+" of user "+userID, res, err)
}

// DeletePasskey removes the user's passkey id. Another user's passkey, or
// none, returns auth.ErrNotFound.
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	res, err := s.w.ExecContext(ctx, s.q.deletePasskey, nonNilBytes(id), userID)
	return s.oneRow("delete passkey", passkeyName(id)+" of user "+userID, res, err)
}

func scanCeremony(row scanner) (*auth.Ceremony, error) {
	var c auth.Ceremony
	err := row.Scan(&c.ID, &c.Purpose, nullStringCol{&c.UserID}, nullStringCol{&c.MFATokenID}, &c.Data,
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// PutCeremony inserts c. An empty c.UserID or c.MFATokenID stores none; a
// c.UserID that does not exist returns auth.ErrNotFound (a deleted user
// takes its ceremonies along).
func (s *Store) PutCeremony(ctx context.Context, c *auth.Ceremony) error {
	d := s.d
	_, err := s.w.ExecContext(ctx, s.q.putCeremony,
		c.ID, c.Purpose, nullString(c.UserID), nullString(c.MFATokenID), nonNilBytes(c.Data),
		d.time(c.CreatedAt), d.time(c.ExpiresAt))
	if err != nil {
		return s.fail("put ceremony", err)
	}
	return nil
}

// TakeCeremony removes the ceremony id and returns it when it has purpose
// and has not expired at now (now is before its ExpiresAt). One DELETE …
// RETURNING takes it, so of concurrent takes exactly one gets it. One that
// is unknown, taken already, of another purpose or expired returns
// auth.ErrNotFound; the last two are removed all the same, so a ceremony
// is never tried twice.
func (s *Store) TakeCeremony(ctx context.Context, id, purpose string, now time.Time) (*auth.Ceremony, error) {
	c, err := scanCeremony(s.w.QueryRowContext(ctx, s.q.takeCeremony, id))
	if err := s.rowErr(err, "ceremony "+id, "take ceremony"); err != nil {
		return nil, err
	}
	switch {
	case c.Purpose != purpose:
		return nil, notFound("ceremony " + id + " of purpose " + purpose)
	case !now.Before(c.ExpiresAt):
		return nil, notFound("unexpired ceremony " + id)
	}
	return c, nil
}
