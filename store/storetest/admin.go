package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The admin role: a user's Admin flag is stored by CreateUser and
// SetUserAdmin, returned by every lookup, defaults to false, and is left
// alone by UpdateUser (a profile write must not restore a role taken away
// since the profile was read).

// checkAdmin checks that every lookup of u (by ID, email, phone and in the
// list) returns want as its Admin flag.
func checkAdmin(t *testing.T, s auth.UserStore, u *auth.User, want bool) {
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
		if got.Admin != want {
			t.Errorf("%s(%s).Admin = %v, want %v", l.name, u.ID, got.Admin, want)
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
	checkStoredUser(t, s, u)
	// Another user created beside it is no admin.
	v := newAdminTestUser("staff")
	mustCreateUser(t, s, v)
	checkAdmin(t, s, v, false)
}

func testAdminSetAndClear(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u, bystander := newAdminTestUser("promoted"), newAdminTestUser("bystander")
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, bystander)

	for i, admin := range []bool{true, true, false, true, false} {
		changed := *u
		changed.Admin = admin
		changed.UpdatedAt = base.Add(time.Duration(i+1) * time.Minute)
		if err := s.SetUserAdmin(ctx, u.ID, admin, changed.UpdatedAt); err != nil {
			t.Fatalf("SetUserAdmin(%v): %v", admin, err)
		}
		checkAdmin(t, s, u, admin)
		checkStoredUser(t, s, &changed)
		checkAdmin(t, s, bystander, false)
	}
	if err := s.SetUserAdmin(ctx, "00000000-0000-7000-8000-000000000000", true, base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetUserAdmin of an unknown user: %v, want ErrNotFound", err)
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
	if err := s.SetUserAdmin(ctx, u.ID, false, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	stale.Name = "renamed"
	stale.UpdatedAt = base.Add(2 * time.Minute)
	if err := s.UpdateUser(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	checkAdmin(t, s, u, false)
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
