package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var _ auth.IdentityStore = (*Store)(nil)

func scanIdentity(row scanner) (*auth.LinkedIdentity, error) {
	var i auth.LinkedIdentity
	err := row.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &i.EmailVerified, &i.Name,
		timeCol{&i.CreatedAt}, nullTimeCol{&i.LastUsedAt}, &i.HasTokens)
	if err != nil {
		return nil, err
	}
	return &i, nil
}

// AddIdentity inserts i. A (provider, subject) stored already, for any
// user, returns auth.ErrIdentityTaken; the unique key decides, so of
// concurrent adds exactly one succeeds. A user that does not exist
// returns auth.ErrNotFound.
func (s *Store) AddIdentity(ctx context.Context, i *auth.LinkedIdentity) error {
	d := s.d
	_, err := s.w.ExecContext(ctx, s.q.addIdentity, i.ID, i.UserID, i.Provider, i.Subject, i.Email, i.EmailVerified,
		i.Name, d.time(i.CreatedAt), d.nullTime(i.LastUsedAt))
	if err != nil {
		return s.fail("add identity", err)
	}
	return nil
}

// IdentityBySubject returns the identity of provider and subject, matched
// exactly (byte-wise), whoever's it is.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (*auth.LinkedIdentity, error) {
	i, err := scanIdentity(s.r.QueryRowContext(ctx, s.q.identityBySubject, provider, subject))
	// The subject is the provider's user ID, not secret, but it is kept
	// out of errors all the same: some providers use the email.
	return found(s, i, err, "identity of provider "+provider, "identity by subject")
}

// Identities returns the user's identities oldest first (by CreatedAt,
// then ID); none, as an empty list, for an unknown user.
func (s *Store) Identities(ctx context.Context, userID string) ([]auth.LinkedIdentity, error) {
	rows, err := s.r.QueryContext(ctx, s.q.identities, userID)
	return collect(s, "identities", rows, err, scanIdentity)
}

// UseIdentity records a sign-in with identity id at at and what the
// provider said then. An unknown ID returns auth.ErrNotFound.
func (s *Store) UseIdentity(ctx context.Context, id, email string, emailVerified bool, name string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.useIdentity, email, emailVerified, name, s.d.time(at), id)
	return s.oneRow("use identity", "identity "+id, res, err)
}

// DeleteIdentity removes the user's identity id. Another user's identity,
// or none, returns auth.ErrNotFound.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id string) error {
	res, err := s.w.ExecContext(ctx, s.q.deleteIdentity, id, userID)
	return s.oneRow("delete identity", "identity "+id+" of user "+userID, res, err)
}

// SetIdentityTokens keeps sealed as identity id's provider tokens, or
// forgets them when sealed is nil. An unknown ID returns auth.ErrNotFound.
func (s *Store) SetIdentityTokens(ctx context.Context, id string, sealed []byte) error {
	var v any // NULL, not an empty value, for drivers that bind a nil slice as one
	if sealed != nil {
		v = sealed
	}
	res, err := s.w.ExecContext(ctx, s.q.setIdentityTokens, v, id)
	return s.oneRow("set identity tokens", "identity "+id, res, err)
}

// IdentityTokens returns the sealed provider tokens of the user's identity
// id, nil when none are kept. Another user's identity, or none, returns
// auth.ErrNotFound.
func (s *Store) IdentityTokens(ctx context.Context, userID, id string) ([]byte, error) {
	var sealed []byte
	err := s.r.QueryRowContext(ctx, s.q.identityTokens, id, userID).Scan(&sealed)
	return found(s, sealed, err, "identity "+id+" of user "+userID, "identity tokens")
}
