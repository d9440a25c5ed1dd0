package auth

import (
	"context"
	"errors"
)

// User returns the principal's account as stored now (not the cached view).
func (s *Service) User(ctx context.Context, p *Principal) (*User, error) {
	u, err := s.store.UserByID(ctx, p.User.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, errTokenRevoked
	} else if err != nil {
		return nil, storeErr("find user", err)
	}
	return u, nil
}

// ProfileUpdate holds the fields a user may change; nil leaves a field as is.
type ProfileUpdate struct {
	Name *string
}

// UpdateProfile changes the principal's own profile.
func (s *Service) UpdateProfile(ctx context.Context, p *Principal, in ProfileUpdate) (*User, error) {
	u, err := s.User(ctx, p)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		name, ferr := nameField(*in.Name)
		if ferr != nil {
			return nil, ferr
		}
		u.Name = name
	}
	u.UpdatedAt = s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, storeErr("update user", err)
	}
	s.forgetUser(ctx, u.ID)
	return u, nil
}

var errWrongPassword = &Error{Kind: KindInvalidCredentials, Message: "The current password is not correct.", Fields: []FieldError{{"current_password", "is not correct"}}}

// ChangePassword sets a new password. When one is set already the current
// one must be given (and wrong guesses count towards the account's sign-in
// throttle); every other session of the user is revoked.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, c Client) error {
	u, err := s.User(ctx, p)
	if err != nil {
		return err
	}
	nextErr := fieldError("new_password", "is required")
	if next != "" {
		nextErr = s.checkPassword("new_password", next)
	}
	var currentErr *Error
	if u.HasPassword() && current == "" {
		currentErr = fieldError("current_password", "is required")
	}
	if ferr := collect(currentErr, nextErr); ferr != nil {
		return ferr
	}
	if u.HasPassword() {
		keys := throttleKeys(u, u.Email, c.IP)
		if err := s.throttled(ctx, keys); err != nil {
			return err
		}
		ok, err := s.hasher.Verify(ctx, u.PasswordHash, current)
		if err != nil {
			return hashErr(err)
		}
		if !ok {
			s.fail(ctx, keys, u, c)
			return errWrongPassword
		}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return hashErr(err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, s.now()); err != nil {
		return storeErr("set password", err)
	}
	s.forgetUser(ctx, u.ID) // has_password may have changed
	return s.revokeUser(ctx, u.ID, p.Session.ID)
}
