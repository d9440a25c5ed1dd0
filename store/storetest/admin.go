package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Roles: a user's roles are stored by CreateUser (Admin set adds the
// admin role) and SetUserRoles, returned by every lookup (Admin exactly
// when the admin role is among them), default to none, and are left alone
// by UpdateUser (a profile write must not restore a role taken away since
// the profile was read).

// checkAdmin checks that every lookup of u (by ID, email, phone and in the
// list) returns want as its Admin flag.
func checkAdmin(t *testing.T, s auth.UserStore, u *auth.User, want bool) {
	t.Helper()
	var roles []string
	if want {
		roles = []string{auth.RoleAdmin}
	}
	checkRoles(t, s, u, roles)
}

// checkRoles checks that every lookup of u (by ID, email, phone and in the
// list) returns want as its roles (nil for none), and Admin set exactly
// when the admin role is among them.
func checkRoles(t *testing.T, s auth.UserStore, u *auth.User, want []string) {
	t.Helper()
	ctx := t.Context()
	lookups := []struct {
		name string
		find func() (*auth.User, error)
	}{
		{"UserByID", func() (*auth.User, error) { return s.UserByID(ctx, u.ID) }},
		{"UserByEmail", func() (*auth.User, error) { return s.UserByEmail(ctx, u.Email) }},
		{"UserByPhone", func() (*auth.User, error) { return s.UserByPhone(ctx, u.Phone) }},
		{"ListUsers", func() (*auth.User, error) { return listedUser(t, s, u.ID, "") }},
		{"ListUsers(query)", func() (*auth.User, error) { return listedUser(t, s, u.ID, u.Email) }},
	}
	for _, l := range lookups {
		got, err := l.find()
		if err != nil {
			t.Errorf("%s(%s): %v", l.name, u.ID, err)
			continue
		}
		if !slices.Equal(got.Roles, want) || (got.Roles == nil) != (want == nil) {
			t.Errorf("%s(%s).Roles = %#v, want %#v", l.name, u.ID, got.Roles, want)
		}
		if admin := slices.Contains(want, auth.RoleAdmin); got.Admin != admin {
			t.Errorf("%s(%s).Admin = %v, want %v (roles %v)", l.name, u.ID, got.Admin, admin, want)
		}
	}
}

// listedUser returns user id as ListUsers (with query, if any) lists it.
func listedUser(t *testing.T, s auth.UserStore, id, query string) (*auth.User, error) {
	t.Helper()
	list, err := s.ListUsers(t.Context(), auth.UserQuery{Query: query, Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	t.Errorf("ListUsers(%q) does not list user %s", query, id)
	return &auth.User{}, nil
}

// newAdminTestUser returns a user with an email and a phone, so every
// lookup can find it.
func newAdminTestUser(label string) *auth.User {
	u := newUser(label)
	u.Phone = "+1555020" + randomDigits(4)
	return u
}

func testAdminDefaultFalse(t *testing.T, s auth.UserStore) {
	u := newAdminTestUser("plain")
	mustCreateUser(t, s, u)
	checkAdmin(t, s, u, false)
	checkStoredUser(t, s, u)
}

func testAdminCreate(t *testing.T, s auth.UserStore) {
	u := newAdminTestUser("boss")
	u.Admin = true
	mustCreateUser(t, s, u)
	checkAdmin(t, s, u, true)
	u.Roles = []string{auth.RoleAdmin}
	checkStoredUser(t, s, u)
	// Another user created beside it is no admin.
	v := newAdminTestUser("staff")
	mustCreateUser(t, s, v)
	checkAdmin(t, s, v, false)
}

// testRolesCreate: CreateUser stores the roles it is given, with the
// admin role when Admin is set, and Admin reads back from the roles.
func testRolesCreate(t *testing.T, s auth.UserStore) {
	for _, tc := range []struct {
		name  string
		roles []string
		admin bool
		want  []string
	}{
		{"roles", []string{"billing", "ops"}, false, []string{"billing", "ops"}},
		{"roles and admin", []string{"billing"}, true, []string{auth.RoleAdmin, "billing"}},
		{"admin among roles", []string{auth.RoleAdmin, "billing"}, false, []string{auth.RoleAdmin, "billing"}},
	} {
		u := newAdminTestUser("roles")
		u.Roles, u.Admin = tc.roles, tc.admin
		mustCreateUser(t, s, u)
		checkRoles(t, s, u, tc.want)
	}
}

func testAdminSetAndClear(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u, bystander := newAdminTestUser("promoted"), newAdminTestUser("bystander")
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, bystander)

	for i, roles := range [][]string{
		{auth.RoleAdmin},
		{auth.RoleAdmin},
		nil,
		{"billing", "ops:read"},
		{"a-1", auth.RoleAdmin, "billing", "z.z_z"},
		{"billing"},
		nil,
	} {
		changed := *u
		changed.Roles, changed.Admin = roles, slices.Contains(roles, auth.RoleAdmin)
		changed.UpdatedAt = base.Add(time.Duration(i+1) * time.Minute)
		if err := s.SetUserRoles(ctx, u.ID, roles, changed.UpdatedAt); err != nil {
			t.Fatalf("SetUserRoles(%v): %v", roles, err)
		}
		checkRoles(t, s, u, roles)
		checkStoredUser(t, s, &changed)
		checkAdmin(t, s, bystander, false)
	}
	if err := s.SetUserRoles(ctx, "00000000-0000-7000-8000-000000000000", []string{auth.RoleAdmin}, base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetUserRoles of an unknown user: %v, want ErrNotFound", err)
	}
}

// testAdminProfileWriteKeepsIt: UpdateUser with a stale copy of the user
// (read before the role changed) leaves the stored role as it is.
func testAdminProfileWriteKeepsIt(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newAdminTestUser("stale")
	u.Admin = true
	mustCreateUser(t, s, u)
	stale := *u
	if err := s.SetUserRoles(ctx, u.ID, []string{"billing"}, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	stale.Name = "renamed"
	stale.UpdatedAt = base.Add(2 * time.Minute)
	if err := s.UpdateUser(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	checkRoles(t, s, u, []string{"billing"})
}

// testAdminOtherWritesKeepIt: the writes that are not UpdateUser leave the
// role as it is.
func testAdminOtherWritesKeepIt(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newAdminTestUser("keeps")
	u.Admin = true
	mustCreateUser(t, s, u)
	at := base.Add(time.Hour)
	if err := s.SetUserDisabled(ctx, u.ID, &at); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	checkAdmin(t, s, u, true)
	if err := s.SetUserDisabled(ctx, u.ID, nil); err != nil {
		t.Fatalf("SetUserDisabled(nil): %v", err)
	}
	if err := s.SetPasswordHash(ctx, u.ID, "new-hash", at); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	checkAdmin(t, s, u, true)
}
