package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Admin flows. The caller has already proved the admin key (the api
// package) or checked AdminAccess (the admin pages); these methods only
// enforce the domain rules.

var errUserNotFound = &Error{Kind: KindNotFound, Message: "No such user."}

func (s *Service) userByID(ctx context.Context, id string) (*User, error) {
	if !validID(id) {
		return nil, errUserNotFound
	}
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errUserNotFound
	} else if err != nil {
		return nil, storeErr("find user", err)
	}
	return u, nil
}

// AdminUser returns one user by ID.
func (s *Service) AdminUser(ctx context.Context, id string) (*User, error) {
	return s.userByID(ctx, id)
}

// maxQueryLength bounds an admin search string.
const maxQueryLength = 200

// AdminUsers returns one page of users matching q and the cursor of the next
// page ("" on the last page).
func (s *Service) AdminUsers(ctx context.Context, q UserQuery) ([]User, string, error) {
	q.Query = strings.TrimSpace(q.Query)
	var queryErr, cursorErr *Error
	if utf8.RuneCountInString(q.Query) > maxQueryLength || !utf8.ValidString(q.Query) || strings.ContainsRune(q.Query, 0) {
		queryErr = fieldError("query", "must be at most 200 characters of text")
	}
	if q.After != "" && !validID(q.After) {
		cursorErr = fieldError("cursor", "must be the next_cursor of a previous page")
	}
	if ferr := collect(queryErr, cursorErr); ferr != nil {
		return nil, "", ferr
	}
	// The store returns at most 200 rows and one more than a page tells
	// whether another follows, so a page holds at most 199.
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 199)
	limit := q.Limit
	q.Limit++ // one more tells whether another page follows
	users, err := s.store.ListUsers(ctx, q)
	if err != nil {
		return nil, "", storeErr("list users", err)
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	return users, next, nil
}

// AdminUpdate holds what an admin may change; nil leaves a field as is.
type AdminUpdate struct {
	Name          *string
	EmailVerified *bool
	Disabled      *bool
	// Admin grants (true) or takes away (false) the admin role.
	Admin *bool
}

// AdminUpdateUser changes a user. Disabling one also revokes every session
// and refresh token at once, so the user stops passing the check endpoint.
// A change of role takes effect on this node at once: the user's cached
// sessions are forgotten, so the next request sees the stored role.
func (s *Service) AdminUpdateUser(ctx context.Context, id string, in AdminUpdate) (*User, error) {
	u, err := s.userByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Name != nil || in.EmailVerified != nil {
		if in.Name != nil {
			name, ferr := nameField(*in.Name)
			if ferr != nil {
				return nil, ferr
			}
			u.Name = name
		}
		if in.EmailVerified != nil {
			u.EmailVerified = *in.EmailVerified
		}
		u.UpdatedAt = s.now()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return nil, storeErr("update user", err)
		}
		s.forgetUser(ctx, u.ID)
	}
	if in.Admin != nil && *in.Admin != u.Admin {
		roles := slices.DeleteFunc(slices.Clone(u.Roles), func(r string) bool { return r == RoleAdmin })
		if *in.Admin {
			roles = append(roles, RoleAdmin)
			slices.Sort(roles)
		}
		if err := s.setRoles(ctx, u, roles, Client{}); err != nil {
			return nil, err
		}
	}
	if in.Disabled != nil && *in.Disabled != u.Disabled() {
		if *in.Disabled {
			now := s.now()
			if err := s.store.SetUserDisabled(ctx, u.ID, &now); err != nil {
				return nil, storeErr("disable user", err)
			}
			u.DisabledAt = &now
			if err := s.revokeUser(ctx, u.ID, ""); err != nil {
				return nil, err
			}
		} else {
			if err := s.store.SetUserDisabled(ctx, u.ID, nil); err != nil {
				return nil, storeErr("enable user", err)
			}
			u.DisabledAt = nil
		}
	}
	return u, nil
}

// AuditRolesChanged records a change of a user's roles (the admin flag's
// too); the detail is the new list, space-separated ("" for none).
const AuditRolesChanged = "roles_changed"

// Bounds of a user's roles.
const (
	maxRoles      = 32
	maxRoleLength = 64
)

// ValidRole reports whether name may be a role: lower-case ASCII letters,
// digits and "_.:-", starting with a letter or digit, at most 64 bytes.
// The check sends roles comma-separated in a header and the store keeps
// them space-separated, so neither a comma, a space nor a control
// character can be part of one. It is the rule of the access rules file
// too.
func ValidRole(name string) bool {
	if name == "" || len(name) > maxRoleLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// rolesField validates a list of role names and returns it sorted and
// without duplicates.
func rolesField(roles []string) ([]string, *Error) {
	for _, r := range roles {
		if !ValidRole(r) {
			// The name is the admin's own input; quoting it says which.
			return nil, fieldError("roles", fmt.Sprintf("%.80q is not a role name: lower-case letters, digits and _.:- only, starting with a letter or digit, at most 64 bytes", r))
		}
	}
	out := slices.Compact(slices.Sorted(slices.Values(roles)))
	if len(out) > maxRoles {
		return nil, fieldError("roles", fmt.Sprintf("at most %d roles", maxRoles))
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// AdminSetRoles replaces a user's roles with roles (sorted, duplicates
// dropped; RoleAdmin among them makes the user an admin). The change
// reaches every session at once, on every node that hears revocations:
// the user's cached sessions are forgotten, so the next check reads the
// stored roles. It is audited as roles_changed with the new list.
func (s *Service) AdminSetRoles(ctx context.Context, userID string, roles []string, c Client) (*User, error) {
	list, ferr := rolesField(roles)
	if ferr != nil {
		return nil, ferr
	}
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if slices.Equal(u.Roles, list) || (len(u.Roles) == 0 && len(list) == 0) {
		return u, nil
	}
	if err := s.setRoles(ctx, u, list, c); err != nil {
		return nil, err
	}
	return u, nil
}

// setRoles stores roles (valid, sorted, without duplicates) as u's, updates
// u, forgets u's cached sessions and audits the change.
func (s *Service) setRoles(ctx context.Context, u *User, roles []string, c Client) error {
	now := s.now()
	if err := s.store.SetUserRoles(ctx, u.ID, roles, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errUserNotFound
		}
		return storeErr("set roles", err)
	}
	u.Roles, u.UpdatedAt = roles, now
	u.Admin = u.HasRole(RoleAdmin)
	s.forgetUser(ctx, u.ID)
	s.audit(ctx, u.ID, AuditRolesChanged, c, strings.Join(roles, " "))
	return nil
}

// AdminDeleteUser removes a user and everything that belongs to it.
func (s *Service) AdminDeleteUser(ctx context.Context, id string) error {
	if !validID(id) {
		return errUserNotFound
	}
	if s.mfaTokens != nil {
		// Codes kept apart from users (a shared cache) do not go with the
		// user's row: a half-finished sign-in must not outlive the account.
		if err := s.mfaTokens.DeleteUserMFATokens(ctx, id); err != nil {
			return storeErr("delete mfa tokens", err)
		}
	}
	err := s.store.DeleteUser(ctx, id)
	s.forgetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return errUserNotFound
	} else if err != nil {
		return storeErr("delete user", err)
	}
	return nil
}

// AdminUserByEmail returns the user with that email (for the CLI).
func (s *Service) AdminUserByEmail(ctx context.Context, email string) (*User, error) {
	e, ferr := emailField("email", email)
	if ferr != nil {
		return nil, ferr
	}
	u, err := s.store.UserByEmail(ctx, e)
	if errors.Is(err, ErrNotFound) {
		return nil, errUserNotFound
	} else if err != nil {
		return nil, storeErr("find user", err)
	}
	return u, nil
}

// AdminSessions lists a user's live sessions (metadata only: the store
// holds no token values to leak).
func (s *Service) AdminSessions(ctx context.Context, userID string) ([]Session, error) {
	if _, err := s.userByID(ctx, userID); err != nil {
		return nil, err
	}
	list, err := s.store.ListSessions(ctx, userID, s.now())
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	return list, nil
}

// AdminRevokeSessions ends every session and refresh token of a user.
func (s *Service) AdminRevokeSessions(ctx context.Context, userID string) error {
	if _, err := s.userByID(ctx, userID); err != nil {
		return err
	}
	return s.revokeUser(ctx, userID, "")
}

// AdminResetFactors turns off every second factor of a user (the
// authenticator app, email codes, the backup codes, the passkeys, which
// may be on the lost device too) and ends every session
// and every sign-in halfway through its second factor: what an admin does
// for someone who lost the phone their authenticator app was on. The user
// signs in with one factor afterwards and may set up a new one. The
// sessions go too, since a lost or stolen device may hold one.
func (s *Service) AdminResetFactors(ctx context.Context, userID string, c Client) error {
	if _, err := s.userByID(ctx, userID); err != nil {
		return err
	}
	if s.factors != nil {
		if err := s.dropFactors(ctx, userID); err != nil {
			return err
		}
	}
	if err := s.revokeUser(ctx, userID, ""); err != nil {
		return err
	}
	s.audit(ctx, userID, "factors_reset", c, "")
	return nil
}

// AdminFactors returns the second factors a user has on and how many
// unused backup codes remain, as Factors returns them for the user's own
// principal.
func (s *Service) AdminFactors(ctx context.Context, userID string) (kinds []string, backupLeft int, err error) {
	if _, err := s.userByID(ctx, userID); err != nil {
		return nil, 0, err
	}
	if s.factors == nil {
		return []string{}, 0, nil
	}
	kinds, err = s.onFactors(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == FactorBackupCode })
	if kinds == nil {
		kinds = []string{}
	}
	backupLeft, err = s.factors.BackupCodesLeft(ctx, userID)
	if err != nil {
		return nil, 0, storeErr("count backup codes", err)
	}
	return kinds, backupLeft, nil
}

var (
	errNotAdmin = &Error{Kind: KindForbidden, Message: "This page is for administrators, and your account is not one."}
	// errAdminNeedsAAL2 says what to do: the account is an admin's, the
	// session is not strong enough for it.
	errAdminNeedsAAL2 = &Error{Kind: KindForbidden, Message: "Your account has a second factor, so the admin pages need it: confirm it’s you with your second factor.", Cause: ErrNeedsAAL2}
)

// AdminAccess returns nil when p may act as an administrator in the
// browser: the account has the admin role as stored now (not as this
// node cached it: a role taken away on another node counts at once), is
// not disabled, and, when it has a second factor on, the session was
// signed in with it (aal2). Otherwise it returns a forbidden error that
// says which of these is missing.
func (s *Service) AdminAccess(ctx context.Context, p *Principal) error {
	if p == nil {
		return errUnauthorized
	}
	u, err := s.store.UserByID(ctx, p.User.ID)
	if errors.Is(err, ErrNotFound) {
		return errTokenRevoked
	} else if err != nil {
		return storeErr("find user", err)
	}
	if u.Disabled() {
		return errTokenRevoked
	}
	if !u.Admin {
		return errNotAdmin
	}
	if p.Session.AAL == AAL2 || s.factors == nil {
		return nil
	}
	kinds, err := s.onFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(kinds) > 0 {
		return errAdminNeedsAAL2
	}
	return nil
}
