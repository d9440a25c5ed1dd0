package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Users runs the conformance tests of auth.UserStore.
func Users(t *testing.T, open func(t *testing.T) auth.UserStore) {
	t.Helper()
	runGroup(t, "Users", open, userTests)
}

var userTests = []storeTest[auth.UserStore]{
	{"CreateAndGet", testCreateAndGetUser},
	{"DuplicateEmail", testDuplicateEmail},
	{"DuplicatePhone", testDuplicatePhone},
	{"NoPhoneTwice", testNoPhoneTwice},
	{"Update", testUpdateUser},
	{"SetPassword", testSetPassword},
	{"DisableEnable", testDisableEnable},
	{"ListQuery", testListQuery},
	{"ListPaging", testListPaging},
	{"ListLimit", testListLimit},
	{"TimeRoundTripsUTCMicros", testTimeRoundTrip},
	{"UnknownIDs", testUserUnknownIDs},
	{"CancelledContext", testUserCancelledContext},
	{"Phone/PhoneOnlyUsers", testPhoneOnlyUsers},
	{"Phone/UserByPhoneIsExact", testUserByPhoneExact},
	{"Phone/Duplicates", testPhoneDuplicates},
	{"Phone/UpdateSetsAndClears", testUpdatePhoneAndEmail},
	{"Phone/ListUsers", testListPhoneUsers},
	{"Admin/DefaultFalse", testAdminDefaultFalse},
	{"Admin/Create", testAdminCreate},
	{"Admin/SetAndClear", testAdminSetAndClear},
	{"Roles/Create", testRolesCreate},
	{"Admin/ProfileWriteKeepsIt", testAdminProfileWriteKeepsIt},
	{"Admin/OtherWritesKeepIt", testAdminOtherWritesKeepIt},
}

func testCreateAndGetUser(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("create")
	u.Phone = "+15550100" + randomDigits(3)
	u.EmailVerified = true
	u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	u.UpdatedAt = base.Add(time.Second)
	mustCreateUser(t, s, u)

	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, u)
	got, err = s.UserByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, got, u)
}

func testDuplicateEmail(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("dup")
	mustCreateUser(t, s, u)
	v := newUser("other")
	v.Email = u.Email
	err := s.CreateUser(ctx, v)
	wantErr(t, "CreateUser with a taken email", err, auth.ErrEmailTaken)
	if errors.Is(err, auth.ErrPhoneTaken) {
		t.Errorf("CreateUser with a taken email: %v also matches ErrPhoneTaken", err)
	}
	_, err = s.UserByID(ctx, v.ID)
	wantErr(t, "UserByID of the refused user", err, auth.ErrNotFound)
	got, err := s.UserByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, got, u)
}

func testDuplicatePhone(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("phone1")
	u.Phone = "+15550100200"
	mustCreateUser(t, s, u)
	v := newUser("phone2")
	v.Phone = u.Phone
	err := s.CreateUser(ctx, v)
	wantErr(t, "CreateUser with a taken phone", err, auth.ErrPhoneTaken)
	if errors.Is(err, auth.ErrEmailTaken) {
		t.Errorf("CreateUser with a taken phone: %v also matches ErrEmailTaken", err)
	}
	_, err = s.UserByID(ctx, v.ID)
	wantErr(t, "UserByID of the refused user", err, auth.ErrNotFound)
}

func testNoPhoneTwice(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u, v := newUser("nophone1"), newUser("nophone2")
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	for _, w := range []*auth.User{u, v} {
		got, err := s.UserByID(ctx, w.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkUser(t, got, w)
	}
}

func testUpdateUser(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("update")
	u.Phone = "+15550100300"
	u.PasswordHash = "original-hash"
	mustCreateUser(t, s, u)
	other := newUser("taken")
	other.Phone = "+15550100301"
	mustCreateUser(t, s, other)

	changed := *u
	changed.Email = "renamed-" + u.Email
	changed.Phone = "+15550100399"
	changed.Name = "Renamed Person"
	changed.EmailVerified = true
	changed.PhoneVerified = true
	changed.UpdatedAt = base.Add(time.Hour)
	// Fields UpdateUser must leave alone.
	disabled := base.Add(2 * time.Hour)
	changed.PasswordHash = "not-this"
	changed.DisabledAt = &disabled
	changed.CreatedAt = base.Add(3 * time.Hour)
	if err := s.UpdateUser(ctx, &changed); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := changed
	want.PasswordHash, want.DisabledAt, want.CreatedAt = u.PasswordHash, nil, u.CreatedAt
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, &want)
	if got, err := s.UserByEmail(ctx, changed.Email); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail(new email) = %v, %v; want user %s", got, err, u.ID)
	}
	_, err = s.UserByEmail(ctx, u.Email)
	wantErr(t, "UserByEmail(old email)", err, auth.ErrNotFound)

	taken := want
	taken.Email = other.Email
	wantErr(t, "UpdateUser to a taken email", s.UpdateUser(ctx, &taken), auth.ErrEmailTaken)
	taken = want
	taken.Phone = other.Phone
	wantErr(t, "UpdateUser to a taken phone", s.UpdateUser(ctx, &taken), auth.ErrPhoneTaken)

	// Removing the phone stores none, and frees the number.
	noPhone := want
	noPhone.Phone, noPhone.PhoneVerified = "", false
	if err := s.UpdateUser(ctx, &noPhone); err != nil {
		t.Fatalf("UpdateUser without phone: %v", err)
	}
	got, err = s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, &noPhone)
	third := newUser("nophone")
	mustCreateUser(t, s, third)
	reuse := newUser("reuse")
	reuse.Phone = want.Phone
	mustCreateUser(t, s, reuse)
}

func testSetPassword(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("password")
	mustCreateUser(t, s, u)
	at := base.Add(time.Hour)
	if err := s.SetPasswordHash(ctx, u.ID, "new-hash", at); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	want := *u
	want.PasswordHash, want.UpdatedAt = "new-hash", at
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, &want)
	if !got.HasPassword() {
		t.Error("HasPassword = false after SetPasswordHash")
	}
	if err := s.SetPasswordHash(ctx, u.ID, "", at); err != nil {
		t.Fatalf("SetPasswordHash(\"\"): %v", err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.HasPassword() {
		t.Errorf("after removing the password: HasPassword = %v, err %v; want false", got != nil && got.HasPassword(), err)
	}
}

func testDisableEnable(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newUser("disable")
	mustCreateUser(t, s, u)
	at := base.Add(time.Hour)
	if err := s.SetUserDisabled(ctx, u.ID, &at); err != nil {
		t.Fatalf("SetUserDisabled(at): %v", err)
	}
	want := *u
	want.DisabledAt = &at
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, &want)
	if !got.Disabled() {
		t.Error("Disabled = false after SetUserDisabled(at)")
	}
	if err := s.SetUserDisabled(ctx, u.ID, nil); err != nil {
		t.Fatalf("SetUserDisabled(nil): %v", err)
	}
	got, err = s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, u)
}

func testListQuery(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	mk := func(email, name, phone string) *auth.User {
		return mustListedUser(t, s, "list", email, name, phone)
	}
	alice := mk("alice.smith@example.com", "Alice Smith", "+15550100001")
	bob := mk("bob@example.org", "Bob 100% Real", "")
	carol := mk("carol_x@example.net", "Carol", "+15550100002")
	dave := mk("dave@example.com", `D\ave`, "")
	eve := mk("eve@example.com", "EVE Evans", "")
	model := mk("model@example.org", "Model 1000", "")
	all := []*auth.User{alice, bob, carol, dave, eve, model}

	checkListQueries(t, s, []listQuery{
		{"", all},
		{"ALICE", []*auth.User{alice}},
		{"smith", []*auth.User{alice}},
		{"evans", []*auth.User{eve}},
		{"Eve@Example", []*auth.User{eve}},
		{"example.com", []*auth.User{alice, dave, eve}},
		{"5550100002", []*auth.User{carol}},
		{"+1555", []*auth.User{alice, carol}},
		{"100%", []*auth.User{bob}},
		{"%", []*auth.User{bob}},
		{"_", []*auth.User{carol}},
		{"l_x", []*auth.User{carol}},
		{`\`, []*auth.User{dave}},
		{`d\a`, []*auth.User{dave}},
		{"nobody", nil},
	})
	got, err := s.ListUsers(ctx, auth.UserQuery{Query: "alice"})
	if err == nil && len(got) == 1 {
		checkUser(t, &got[0], alice)
	}

	// A query pages too.
	want := sortedIDs([]*auth.User{alice, dave, eve})
	first, err := s.ListUsers(ctx, auth.UserQuery{Query: "EXAMPLE.COM", Limit: 2})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	second, err := s.ListUsers(ctx, auth.UserQuery{Query: "EXAMPLE.COM", Limit: 2, After: lastID(first)})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if g := append(userIDs(first), userIDs(second)...); len(first) != 2 || !slices.Equal(g, want) {
		t.Errorf("ListUsers(query, pages of 2) = %v + %v, want %v", userIDs(first), userIDs(second), want)
	}
}

func testListPaging(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	var users []*auth.User
	for i := range 7 {
		u := newUser(fmt.Sprintf("page%d", i))
		mustCreateUser(t, s, u)
		users = append(users, u)
	}
	want := sortedIDs(users)
	var got []string
	after := ""
	for page := 1; ; page++ {
		if page > 5 {
			t.Fatalf("ListUsers does not end: %v", got)
		}
		us, err := s.ListUsers(ctx, auth.UserQuery{After: after, Limit: 3})
		if err != nil {
			t.Fatalf("ListUsers page %d: %v", page, err)
		}
		if wantLen := min(3, len(want)-len(got)); len(us) != wantLen {
			t.Fatalf("ListUsers page %d has %d users, want %d", page, len(us), wantLen)
		}
		if len(us) == 0 {
			if page != 4 {
				t.Errorf("paging took %d pages, want 3 and an empty fourth", page-1)
			}
			break
		}
		got = append(got, userIDs(us)...)
		after = lastID(us)
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v (no duplicates, no omissions, ordered by ID)", got, want)
	}
}

func testListLimit(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	for i := range 201 {
		mustCreateUser(t, s, newUser(fmt.Sprintf("limit%d", i)))
	}
	for _, tc := range []struct{ limit, want int }{
		{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {201, 200}, {1000, 200},
	} {
		got, err := s.ListUsers(ctx, auth.UserQuery{Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListUsers(Limit %d): %v", tc.limit, err)
		}
		if len(got) != tc.want {
			t.Errorf("ListUsers(Limit %d) answered %d users, want %d", tc.limit, len(got), tc.want)
		}
	}
}

func testTimeRoundTrip(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	for _, tm := range []time.Time{
		base,
		time.Unix(0, 0),
		time.Unix(0, 1500), // 1.5 µs after the epoch
		time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 1000, time.FixedZone("", -7*3600)),
		time.Date(2262, 4, 12, 0, 0, 0, 999, time.UTC), // past int64 nanoseconds
		time.Now(), // with a monotonic reading
	} {
		u := newUser("time")
		u.CreatedAt, u.UpdatedAt = tm, tm.Add(time.Nanosecond)
		d := tm.Add(time.Microsecond)
		u.DisabledAt = &d
		mustCreateUser(t, s, u)
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkUser(t, got, u)
	}
}

func testUserUnknownIDs(t *testing.T, s auth.UserStore) {
	mustUser(t, s) // a store with rows in it, so "unknown" is not "empty"
	checkUnknownIDs(t, userUnknownCalls(s))
	checkListUsersPastEnd(t, s)
}

// userUnknownCalls are the UserStore calls that must return
// auth.ErrNotFound for an ID or address no user has; Sessions checks them
// too, on a store whose users have sessions.
func userUnknownCalls(s auth.UserStore) []call {
	at := now
	unknown := newUser("unknown")
	return []call{
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, newID()); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, unknown.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, unknown) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, newID(), "h", now) }},
		{"SetUserDisabled(at)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), &at) }},
		{"SetUserDisabled(nil)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), nil) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, newID()) }},
	}
}

// checkListUsersPastEnd checks that listing after the last possible ID
// returns no users rather than an error.
func checkListUsersPastEnd(t *testing.T, s auth.UserStore) {
	t.Helper()
	if got, err := s.ListUsers(t.Context(), auth.UserQuery{After: "\U0010FFFF"}); err != nil || len(got) != 0 {
		t.Errorf("ListUsers after the last ID = %d users, %v; want none", len(got), err)
	}
}

func testUserCancelledContext(t *testing.T, s auth.UserStore) {
	u := mustUser(t, s)
	checkCancelledCalls(t, userCancelledCalls(s, u))
	// Nothing of the cancelled calls happened.
	checkStoredUser(t, s, u)
}

// userCancelledCalls are the UserStore calls, on the existing user u, that
// a cancelled context must stop before they change anything; Sessions
// checks them too.
func userCancelledCalls(s auth.UserStore, u *auth.User) []call {
	at := now
	return []call{
		{"CreateUser", func(ctx context.Context) error { return s.CreateUser(ctx, newUser("cancel")) }},
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, u.ID); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, u.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, u) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, u.ID, "h", now) }},
		{"SetUserDisabled", func(ctx context.Context) error { return s.SetUserDisabled(ctx, u.ID, &at) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, u.ID) }},
		{"ListUsers", func(ctx context.Context) error { _, err := s.ListUsers(ctx, auth.UserQuery{}); return err }},
	}
}

// mustListedUser creates a user with these contact fields, for the
// ListUsers query tests.
func mustListedUser(t *testing.T, s auth.UserStore, label, email, name, phone string) *auth.User {
	t.Helper()
	u := newUser(label)
	u.Email, u.Name, u.Phone = email, name, phone
	mustCreateUser(t, s, u)
	return u
}

// listQuery is one ListUsers query and the users it must find, in any
// order.
type listQuery struct {
	query string
	want  []*auth.User
}

// checkListQueries runs each query and compares the IDs found.
func checkListQueries(t *testing.T, s auth.UserStore, queries []listQuery) {
	t.Helper()
	for _, tc := range queries {
		got, err := s.ListUsers(t.Context(), auth.UserQuery{Query: tc.query})
		if err != nil {
			t.Errorf("ListUsers(%q): %v", tc.query, err)
			continue
		}
		if g, w := userIDs(got), sortedIDs(tc.want); !slices.Equal(g, w) {
			t.Errorf("ListUsers(%q) = %v, want %v", tc.query, g, w)
		}
	}
}

func checkUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	g, w := *got, *want
	// NoFactors is read, not written: Factors/UserNoFactors checks it.
	g.NoFactors, w.NoFactors = false, false
	equal(t, "user", &g, &w)
}

func userIDs(xs []auth.User) []string { return idsOf(xs, func(u auth.User) string { return u.ID }) }

func sortedIDs(us []*auth.User) []string {
	return sortStrings(idsOf(us, func(u *auth.User) string { return u.ID }))
}

func lastID(us []auth.User) string {
	if len(us) == 0 {
		return ""
	}
	return us[len(us)-1].ID
}
