package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Page sizes of ListUsers.
const (
	defaultUserPage = 50
	maxUserPage     = 200
)

// userRow is what a user's columns (userRead) scan into.
type userRow struct {
	u     auth.User
	admin bool
	roles string
}

func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, nullStringCol{&u.Email}, &u.EmailVerified, nullStringCol{&u.Phone}, &u.PhoneVerified,
		&u.Name, &u.PasswordHash, nullTimeCol{&u.DisabledAt}, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt},
		&r.admin, &r.roles, &u.NoFactors}
}

// value answers the user once its row has been scanned.
func (r *userRow) value() *auth.User {
	u := &r.u
	// The roles column is the truth; the admin column is written beside it
	// only so that the previous schema (the down migration) still knows
	// its admins.
	if r.roles != "" {
		u.Roles = strings.Fields(r.roles)
	}
	u.Admin = u.HasRole(auth.RoleAdmin)
	return u
}

func scanUser(row scanner) (*auth.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.value(), nil
}

// rolesColumn is roles as the roles column holds them: sorted, without
// duplicates, joined by single spaces ("" for none). admin adds RoleAdmin,
// so a user created with Admin set has the role.
func rolesColumn(roles []string, admin bool) string {
	all := slices.Clone(roles)
	if admin {
		all = append(all, auth.RoleAdmin)
	}
	slices.Sort(all)
	return strings.Join(slices.Compact(all), " ")
}

// CreateUser inserts u; the caller has set its ID and normalised its email
// and phone. An empty email or phone is stored as NULL so that any number
// of users can have none.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	d := s.d
	_, err := s.w.ExecContext(ctx, s.q.createUser,
		u.ID, nullString(u.Email), u.EmailVerified, nullString(u.Phone), u.PhoneVerified, u.Name,
		u.PasswordHash, d.nullTime(u.DisabledAt), d.time(u.CreatedAt), d.time(u.UpdatedAt),
		u.Admin || u.HasRole(auth.RoleAdmin), rolesColumn(u.Roles, u.Admin))
	if err != nil {
		return s.fail("create user", err)
	}
	return nil
}

// UserByID returns the user with that ID.
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q.userByID, id))
	return found(s, u, err, "user "+id, "user by id")
}

// UserByEmail returns the user whose stored (already normalised) email is
// exactly email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	// The address stays out of the error: errors end up in logs.
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q.userByEmail, email))
	return found(s, u, err, "user by email", "user by email")
}

// UserByPhone returns the user whose stored (E.164) phone is exactly phone.
func (s *Store) UserByPhone(ctx context.Context, phone string) (*auth.User, error) {
	// The number stays out of the error: errors end up in logs.
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q.userByPhone, phone))
	return found(s, u, err, "user by phone", "user by phone")
}

// UpdateUser writes u's profile fields and UpdatedAt. Roles are not
// profile fields: SetUserRoles alone changes them, so that no flow that
// reads, edits and writes back a profile can restore a role taken away in
// between.
func (s *Store) UpdateUser(ctx context.Context, u *auth.User) error {
	d := s.d
	res, err := s.w.ExecContext(ctx, s.q.updateUser,
		nullString(u.Email), u.EmailVerified, nullString(u.Phone), u.PhoneVerified, u.Name, d.time(u.UpdatedAt), u.ID)
	return s.oneRow("update user", "user "+u.ID, res, err)
}

// SetPasswordHash replaces the user's password hash ("" removes the
// password) and sets UpdatedAt to now.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.setPassword, hash, s.d.time(now), userID)
	return s.oneRow("set password", "user "+userID, res, err)
}

// SetUserRoles replaces the user's roles and sets UpdatedAt to now; the
// admin column follows whether RoleAdmin is among them.
func (s *Store) SetUserRoles(ctx context.Context, userID string, roles []string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.setRoles, rolesColumn(roles, false), slices.Contains(roles, auth.RoleAdmin), s.d.time(now), userID)
	return s.oneRow("set user roles", "user "+userID, res, err)
}

// SetUserDisabled disables the user at *at, or enables it when at is nil.
func (s *Store) SetUserDisabled(ctx context.Context, userID string, at *time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.setDisabled, s.d.nullTime(at), userID)
	return s.oneRow("set user disabled", "user "+userID, res, err)
}

// DeleteUser removes the user and everything the store keeps of it, by ON
// DELETE CASCADE: its sessions and their refresh tokens, factors, backup
// codes, MFA tokens, challenges, passkeys, WebAuthn ceremonies and linked
// identities. Its
// audit events stay.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	res, err := s.w.ExecContext(ctx, s.q.deleteUser, userID)
	return s.oneRow("delete user", "user "+userID, res, err)
}

// ListUsers returns users ordered by ID after q.After. q.Query matches a
// substring of email, name or phone, case-insensitively (ASCII letters only
// on SQLite, whose LOWER folds nothing else), with % and _ taken literally.
// q.Limit defaults to 50 and is clamped to 200.
func (s *Store) ListUsers(ctx context.Context, q auth.UserQuery) ([]auth.User, error) {
	limit := pageSize(q.Limit, defaultUserPage, maxUserPage)
	var (
		rows *boundRows
		err  error
	)
	if q.Query == "" {
		rows, err = s.r.QueryContext(ctx, s.q.listUsers, q.After, limit)
	} else {
		p := likeContains(strings.ToLower(q.Query))
		rows, err = s.r.QueryContext(ctx, s.q.listUsersMatching, q.After, p, p, p, limit)
	}
	return collect(s, "list users", rows, err, scanUser)
}

// oneRow finishes a statement that must change exactly one row: no row
// means what does not exist.
func (s *Store) oneRow(op, what string, res sql.Result, err error) error {
	if err != nil {
		return s.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}
