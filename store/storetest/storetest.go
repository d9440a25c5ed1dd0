// Package storetest is the conformance suite of auth's storage ports, one
// group per port: Users, Sessions and Keys, Factors and Audit (durable);
// Challenges, MFATokens, Revocations, Throttles and SendLimiters
// (short-lived); Outbox (the message queue and its worker's side). A store's own tests call the group of each
// port it implements with a function that opens a fresh, empty store, or
// Run for a store that keeps everything in one database, which also checks
// what ports kept together do together (deleting a user takes its codes
// along; a code and the message carrying it are stored in one
// transaction). It depends on nothing but package auth and the standard
// library.
//
// Values read back are compared whole, after normalising times to what a
// store keeps (UTC, microseconds), so a field added to a type is checked by
// every test that reads one back. Where a group's rows name a user (a
// factor, an MFA token, a challenge), the tests create the user through
// the store when it also implements auth.UserStore, as a store with foreign
// keys needs; otherwise any fresh ID does.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Run runs every group whose port the stores from open implement, and the
// tests of ports kept together, each test as a parallel subtest against its
// own empty store, so the tests cannot see each other's rows. open must
// register the store's clean-up with t.Cleanup. A test of a port the store
// does not implement is skipped.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	t.Helper()
	Users(t, func(t *testing.T) auth.UserStore { return open(t) })
	Sessions(t, open)
	Keys(t, as[auth.KeyStore](open))
	Factors(t, as[auth.FactorStore](open))
	Audit(t, as[auth.AuditStore](open))
	Challenges(t, as[auth.ChallengeStore](open))
	MFATokens(t, as[auth.MFATokenStore](open))
	Outbox(t, as[OutboxStore](open))
	Revocations(t, as[auth.Revocations](open))
	runTests(t, open, challengesTogetherTests)
	runTests(t, open, factorsTogetherTests)
	runTests(t, open, mfaTogetherTests)
}

// Users runs the conformance tests of auth.UserStore.
func Users(t *testing.T, open func(t *testing.T) auth.UserStore) {
	t.Helper()
	runGroup(t, "Users", open, userTests)
}

// Sessions runs the conformance tests of auth.SessionStore, on a store that
// also keeps the users the sessions belong to (auth.Store).
func Sessions(t *testing.T, open func(t *testing.T) auth.Store) {
	t.Helper()
	runGroup(t, "Sessions", open, sessionTests)
}

// Keys runs the conformance tests of auth.KeyStore.
func Keys(t *testing.T, open func(t *testing.T) auth.KeyStore) {
	t.Helper()
	runGroup(t, "Keys", open, keyTests)
}

// storeTest is one conformance test of stores that implement S.
type storeTest[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runGroup runs each test of list as a parallel subtest of group on a
// fresh store from open.
func runGroup[S any](t *testing.T, group string, open func(t *testing.T) S, list []storeTest[S]) {
	t.Helper()
	for _, tc := range list {
		t.Run(group+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// as turns open into the open of a group of port S, skipping the test when
// the store does not implement S.
func as[S any](open func(t *testing.T) auth.Store) func(t *testing.T) S {
	return func(t *testing.T) S {
		t.Helper()
		s := open(t)
		ss, ok := s.(S)
		if !ok {
			t.Skipf("%T does not implement %v", s, reflect.TypeFor[S]())
		}
		return ss
	}
}

// runTests runs each test of ports kept together as a parallel subtest on
// a fresh store from open, skipping it when that store does not implement
// S.
func runTests[S any](t *testing.T, open func(t *testing.T) auth.Store, list []storeTest[S]) {
	t.Helper()
	runGroup(t, "Together", as[S](open), list)
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
	{"Admin/ProfileWriteKeepsIt", testAdminProfileWriteKeepsIt},
	{"Admin/OtherWritesKeepIt", testAdminOtherWritesKeepIt},
}

var sessionTests = []storeTest[auth.Store]{
	{"Ping", testPing},
	{"CreateWithoutRefresh", testCreateSessionWithoutRefresh},
	{"CreateWithRefresh", testCreateSessionWithRefresh},
	{"CreateIsAtomic", testCreateSessionAtomic},
	{"ByCookieHash", testSessionByCookieHash},
	{"ListLiveNewestFirst", testListSessions},
	{"Touch", testTouchSession},
	{"Revoke", testRevokeSession},
	{"RevokeAllExcept", testRevokeUserSessions},
	{"Refresh/ByHash", testRefreshByHash},
	{"Refresh/Rotate", testRotate},
	{"Refresh/RotateConcurrently", testRotateConcurrently},
	{"DeleteUserCascades", testDeleteCascades},
	{"Phone/DeletePhoneOnlyUser", testDeletePhoneOnlyUser},
	{"NilRoundTrips", testNilRoundTrip},
	{"UnknownIDs", testUnknownIDs},
	{"CancelledContext", testCancelledContext},
}

var keyTests = []storeTest[auth.KeyStore]{
	{"AddRetiresPrevious", testSigningKeys},
	{"AddConcurrently", testAddSigningKeysConcurrently},
	{"Empty", testNoSigningKeys},
	{"NilRoundTrips", testKeyNilRoundTrip},
	{"CancelledContext", testKeyCancelledContext},
}

// base has nanoseconds and a zone other than UTC on purpose: stores keep
// microseconds and answer UTC.
var base = time.Date(2026, 11, 22, 9, 30, 15, 123456789, time.FixedZone("UTC+1", 3600))

// now is "the present" of the session tests: after base, before the
// sessions' expiries.
var now = base.Add(10 * time.Minute)

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
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

func testDeleteCascades(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := newUser("gone"), newUser("stays")
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	s1, s2, sv := newSession(u.ID, base), newSession(u.ID, base), newSession(v.ID, base)
	rt1, rt2, rtv := newRefresh(s1.ID), newRefresh(s2.ID), newRefresh(sv.ID)
	mustCreateSession(t, s, s1, rt1)
	mustCreateSession(t, s, s2, rt2)
	mustCreateSession(t, s, sv, rtv)
	rt3 := newRefresh(s2.ID)
	if ok, err := s.RotateRefreshToken(ctx, rt2.ID, rt3, now); err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.UserByID(ctx, u.ID)
	wantErr(t, "UserByID of the deleted user", err, auth.ErrNotFound)
	_, err = s.UserByEmail(ctx, u.Email)
	wantErr(t, "UserByEmail of the deleted user", err, auth.ErrNotFound)
	for _, sess := range []*auth.Session{s1, s2} {
		_, err := s.SessionByID(ctx, sess.ID)
		wantErr(t, "SessionByID of the deleted user's session", err, auth.ErrNotFound)
		_, err = s.SessionByCookieHash(ctx, sess.CookieHash)
		wantErr(t, "SessionByCookieHash of the deleted user's session", err, auth.ErrNotFound)
	}
	for _, rt := range []*auth.RefreshToken{rt1, rt2, rt3} {
		_, err := s.RefreshTokenByHash(ctx, rt.Hash)
		wantErr(t, "RefreshTokenByHash of the deleted user's token", err, auth.ErrNotFound)
	}
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, u.ID), auth.ErrNotFound)

	// The other user keeps everything.
	if _, err := s.UserByID(ctx, v.ID); err != nil {
		t.Errorf("UserByID of the other user: %v", err)
	}
	if got, err := s.SessionByID(ctx, sv.ID); err != nil {
		t.Errorf("SessionByID of the other user's session: %v", err)
	} else {
		checkSession(t, got, sv)
	}
	if _, err := s.RefreshTokenByHash(ctx, rtv.Hash); err != nil {
		t.Errorf("RefreshTokenByHash of the other user's token: %v", err)
	}
	// The email is free again.
	again := newUser("again")
	again.Email = u.Email
	mustCreateUser(t, s, again)
}

func testListQuery(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	mk := func(email, name, phone string) *auth.User {
		u := newUser("list")
		u.Email, u.Name, u.Phone = email, name, phone
		mustCreateUser(t, s, u)
		return u
	}
	alice := mk("alice.smith@example.com", "Alice Smith", "+15550100001")
	bob := mk("bob@example.org", "Bob 100% Real", "")
	carol := mk("carol_x@example.net", "Carol", "+15550100002")
	dave := mk("dave@example.com", `D\ave`, "")
	eve := mk("eve@example.com", "EVE Evans", "")
	model := mk("model@example.org", "Model 1000", "")
	all := []*auth.User{alice, bob, carol, dave, eve, model}

	for _, tc := range []struct {
		query string
		want  []*auth.User
	}{
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
	} {
		got, err := s.ListUsers(ctx, auth.UserQuery{Query: tc.query})
		if err != nil {
			t.Errorf("ListUsers(%q): %v", tc.query, err)
			continue
		}
		if g, w := userIDs(got), sortedIDs(tc.want); !slices.Equal(g, w) {
			t.Errorf("ListUsers(%q) = %v, want %v", tc.query, g, w)
		}
	}
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

func testCreateSessionWithoutRefresh(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	sess.AMR = []string{auth.MethodPassword, auth.MethodTOTP}
	sess.AAL = auth.AAL2
	mustCreateSession(t, s, sess, nil)
	got, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	checkSession(t, got, sess)
}

func testCreateSessionWithRefresh(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	sess.CookieHash = nil // an API client: refresh token only
	rt := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, rt)
	got, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	checkSession(t, got, sess)
	gotRT, err := s.RefreshTokenByHash(ctx, rt.Hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash: %v", err)
	}
	checkRefresh(t, gotRT, rt)
}

func testCreateSessionAtomic(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	first := newSession(u.ID, base)
	rt := newRefresh(first.ID)
	mustCreateSession(t, s, first, rt)

	// The second session's refresh token collides with the first's, so
	// neither row of the second call may stay.
	second := newSession(u.ID, base)
	clash := newRefresh(second.ID)
	clash.Hash = rt.Hash
	if err := s.CreateSession(ctx, second, clash); err == nil {
		t.Fatal("CreateSession with a duplicate refresh token hash succeeded")
	}
	_, err := s.SessionByID(ctx, second.ID)
	wantErr(t, "SessionByID of the half-created session", err, auth.ErrNotFound)

	// A session for a user that does not exist is refused as not found.
	orphan := newSession(newID(), base)
	err = s.CreateSession(ctx, orphan, newRefresh(orphan.ID))
	wantErr(t, "CreateSession for an unknown user", err, auth.ErrNotFound)
	err = s.CreateSession(ctx, orphan, nil)
	wantErr(t, "CreateSession (no refresh token) for an unknown user", err, auth.ErrNotFound)
}

func testSessionByCookieHash(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, nil)
	got, err := s.SessionByCookieHash(ctx, sess.CookieHash)
	if err != nil {
		t.Fatalf("SessionByCookieHash: %v", err)
	}
	checkSession(t, got, sess)
	_, err = s.SessionByCookieHash(ctx, randomBytes(32))
	wantErr(t, "SessionByCookieHash(unknown)", err, auth.ErrNotFound)

	// Sessions without a cookie do not collide, and no cookie finds them.
	a, b := newSession(u.ID, base), newSession(u.ID, base)
	a.CookieHash, b.CookieHash = nil, nil
	mustCreateSession(t, s, a, nil)
	mustCreateSession(t, s, b, nil)
	_, err = s.SessionByCookieHash(ctx, nil)
	wantErr(t, "SessionByCookieHash(nil)", err, auth.ErrNotFound)
}

func testListSessions(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	s1, s2, s6 := newSession(u.ID, at(1)), newSession(u.ID, at(2)), newSession(u.ID, at(6))
	revoked := newSession(u.ID, at(3))
	r := at(4)
	revoked.RevokedAt = &r
	expired := newSession(u.ID, at(4))
	expired.ExpiresAt = now // not after now: expired
	absolute := newSession(u.ID, at(5))
	absolute.AbsoluteExpiresAt = now.Add(-time.Second)
	other := newSession(v.ID, at(7))
	for _, sess := range []*auth.Session{s1, s2, revoked, expired, absolute, s6, other} {
		mustCreateSession(t, s, sess, nil)
	}
	got, err := s.ListSessions(ctx, u.ID, now)
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	want := []*auth.Session{s6, s2, s1}
	if g, w := sessionIDs(got), sessionIDsOf(want); !slices.Equal(g, w) {
		t.Fatalf("ListSessions = %v, want %v (live only, newest first)", g, w)
	}
	for i := range got {
		checkSession(t, &got[i], want[i])
	}
	if got, err := s.ListSessions(ctx, newID(), now); err != nil || len(got) != 0 {
		t.Errorf("ListSessions(unknown user) = %v, %v; want none", sessionIDs(got), err)
	}
}

func testTouchSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, nil)
	seen, exp := base.Add(5*time.Minute), base.Add(2*time.Hour)
	if err := s.TouchSession(ctx, sess.ID, seen, exp); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	want := *sess
	want.LastSeenAt, want.ExpiresAt = seen, exp
	got, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	checkSession(t, got, &want)
}

func testRevokeSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, nil)
	if err := s.RevokeSession(ctx, sess.ID, now); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if err := s.RevokeSession(ctx, sess.ID, now.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeSession again: %v", err)
	}
	want := *sess
	want.RevokedAt = &now // the first revocation's time stays
	got, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	checkSession(t, got, &want)
	if got.Live(now) {
		t.Error("revoked session is Live")
	}
	if list, err := s.ListSessions(ctx, u.ID, now); err != nil || len(list) != 0 {
		t.Errorf("ListSessions after revoking = %v, %v; want none", sessionIDs(list), err)
	}
	wantErr(t, "RevokeSession(unknown)", s.RevokeSession(ctx, newID(), now), auth.ErrNotFound)
}

func testRevokeUserSessions(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	s1, keep, s3 := newSession(u.ID, base), newSession(u.ID, base), newSession(u.ID, base)
	before := base.Add(time.Minute)
	already := newSession(u.ID, base)
	already.RevokedAt = &before
	expired := newSession(u.ID, base)
	expired.ExpiresAt = now.Add(-time.Second)
	other := newSession(v.ID, base)
	for _, sess := range []*auth.Session{s1, keep, s3, already, expired, other} {
		mustCreateSession(t, s, sess, nil)
	}

	ids, err := s.RevokeUserSessions(ctx, u.ID, keep.ID, now)
	if err != nil {
		t.Fatalf("RevokeUserSessions: %v", err)
	}
	if g, w := sortStrings(ids), sortStrings([]string{s1.ID, s3.ID}); !slices.Equal(g, w) {
		t.Errorf("RevokeUserSessions answered %v, want %v", g, w)
	}
	for _, tc := range []struct {
		sess    *auth.Session
		revoked *time.Time
	}{
		{s1, &now}, {s3, &now}, {keep, nil}, {already, &before}, {expired, nil}, {other, nil},
	} {
		got, err := s.SessionByID(ctx, tc.sess.ID)
		if err != nil {
			t.Fatalf("SessionByID: %v", err)
		}
		want := *tc.sess
		want.RevokedAt = tc.revoked
		checkSession(t, got, &want)
	}

	later := now.Add(time.Minute)
	ids, err = s.RevokeUserSessions(ctx, u.ID, "", later)
	if err != nil {
		t.Fatalf("RevokeUserSessions(keep none): %v", err)
	}
	if !slices.Equal(ids, []string{keep.ID}) {
		t.Errorf("RevokeUserSessions(keep none) answered %v, want [%s]", ids, keep.ID)
	}
	ids, err = s.RevokeUserSessions(ctx, u.ID, "", later)
	if err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserSessions with nothing live = %v, %v; want none", ids, err)
	}
	if list, err := s.ListSessions(ctx, v.ID, now); err != nil || len(list) != 1 {
		t.Errorf("the other user's sessions = %v, %v; want its one session", sessionIDs(list), err)
	}
}

func testRefreshByHash(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	rt := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, rt)
	got, err := s.RefreshTokenByHash(ctx, rt.Hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash: %v", err)
	}
	checkRefresh(t, got, rt)
	_, err = s.RefreshTokenByHash(ctx, randomBytes(32))
	wantErr(t, "RefreshTokenByHash(unknown)", err, auth.ErrNotFound)
}

func testRotate(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	old := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, old)

	next := newRefresh(sess.ID)
	ok, err := s.RotateRefreshToken(ctx, old.ID, next, now)
	if err != nil || !ok {
		t.Fatalf("first RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, next.ID
	checkStoredRefresh(t, s, &wantOld)
	checkStoredRefresh(t, s, next)

	replay := newRefresh(sess.ID)
	ok, err = s.RotateRefreshToken(ctx, old.ID, replay, now.Add(time.Second))
	if err != nil || ok {
		t.Fatalf("second RotateRefreshToken = %v, %v; want false, nil", ok, err)
	}
	_, err = s.RefreshTokenByHash(ctx, replay.Hash)
	wantErr(t, "RefreshTokenByHash of the losing successor", err, auth.ErrNotFound)
	checkStoredRefresh(t, s, &wantOld) // unchanged by the loser

	// The chain goes on from the successor.
	third := newRefresh(sess.ID)
	if ok, err := s.RotateRefreshToken(ctx, next.ID, third, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("RotateRefreshToken of the successor = %v, %v; want true, nil", ok, err)
	}
	checkStoredRefresh(t, s, third)
}

func testRotateConcurrently(t *testing.T, s auth.Store) {
	// Distinct successors, and one successor value shared by every caller:
	// auth derives the successor from the presented token, so concurrent
	// refreshes of one token all offer the same hash, and the losers must
	// answer false rather than a unique-violation error.
	for _, shared := range []bool{false, true} {
		rotateConcurrently(t, s, shared)
	}
}

func rotateConcurrently(t *testing.T, s auth.Store, sharedHash bool) {
	t.Helper()
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	old := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, old)

	const n = 16
	var nexts [n]*auth.RefreshToken
	hash := randomBytes(32)
	for i := range n {
		nexts[i] = newRefresh(sess.ID)
		if sharedHash {
			nexts[i].Hash = hash
		}
	}
	won, errs := race(n, func(i int) (bool, error) { return s.RotateRefreshToken(ctx, old.ID, nexts[i], now) })
	winner := oneWins(t, fmt.Sprintf("RotateRefreshToken (shared hash %v)", sharedHash), won, errs)
	if sharedHash {
		got, err := s.RefreshTokenByHash(ctx, hash)
		if err != nil {
			t.Fatalf("RefreshTokenByHash of the successor: %v", err)
		}
		checkRefresh(t, got, nexts[winner])
	} else {
		stored := 0
		for i := range n {
			_, err := s.RefreshTokenByHash(ctx, nexts[i].Hash)
			switch {
			case err == nil:
				stored++
				if i != winner {
					t.Errorf("successor #%d of a losing call was stored", i)
				}
			case !errors.Is(err, auth.ErrNotFound):
				t.Errorf("RefreshTokenByHash: %v", err)
			}
		}
		if stored != 1 {
			t.Errorf("%d successors stored, want exactly 1", stored)
		}
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, nexts[winner].ID
	checkStoredRefresh(t, s, &wantOld)
}

func testSigningKeys(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	var want []auth.SigningKey
	for i := range 3 {
		k := &auth.SigningKey{
			ID:        newID(),
			Algorithm: "EdDSA",
			// Every byte value, and more than a page of SQLite, must survive.
			Private:   append([]byte{0, 0xff, 0, '\''}, randomBytes(5000)...),
			Public:    append(randomBytes(44), 0),
			CreatedAt: base.Add(time.Duration(i) * time.Hour),
		}
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey #%d: %v", i, err)
		}
		if i > 0 {
			retired := k.CreatedAt
			want[i-1].RetiredAt = &retired
		}
		want = append(want, *k)
	}
	got, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("SigningKeys answered %d keys, want %d", len(got), len(want))
	}
	for i := range got {
		checkKey(t, got[i], want[i])
	}
}

func testAddSigningKeysConcurrently(t *testing.T, s auth.KeyStore) {
	// Nodes that start together each add a first key; however their
	// transactions interleave, exactly one key may be left signing.
	ctx := t.Context()
	const n = 8
	errs := raceAll(n, func(i int) error {
		return s.AddSigningKey(ctx, &auth.SigningKey{
			ID: newID(), Algorithm: "EdDSA", Private: randomBytes(48), Public: randomBytes(44),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
		})
	})
	noErrors(t, "AddSigningKey", errs)
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	signing := 0
	for _, k := range keys {
		if k.RetiredAt == nil {
			signing++
		}
	}
	if len(keys) != n || signing != 1 {
		t.Errorf("after %d concurrent AddSigningKey: %d keys, %d unretired; want %d keys, exactly 1 unretired", n, len(keys), signing, n)
	}
}

func testNoSigningKeys(t *testing.T, s auth.KeyStore) {
	got, err := s.SigningKeys(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("SigningKeys of an empty store = %d keys, %v; want none", len(got), err)
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

func testNilRoundTrip(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser("nil")
	mustCreateUser(t, s, u)
	gotU, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if gotU.DisabledAt != nil || gotU.Phone != "" || gotU.PasswordHash != "" {
		t.Errorf("user DisabledAt, Phone, PasswordHash = %v, %q, %q; want nil, empty, empty", gotU.DisabledAt, gotU.Phone, gotU.PasswordHash)
	}
	sess := newSession(u.ID, base)
	sess.CookieHash, sess.AMR = nil, nil
	rt := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, rt)
	gotS, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if gotS.RevokedAt != nil || gotS.CookieHash != nil || len(gotS.AMR) != 0 {
		t.Errorf("session RevokedAt, CookieHash, AMR = %v, %x, %q; want nil, nil, none", gotS.RevokedAt, gotS.CookieHash, gotS.AMR)
	}
	gotR, err := s.RefreshTokenByHash(ctx, rt.Hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash: %v", err)
	}
	if gotR.RotatedAt != nil || gotR.SuccessorID != "" {
		t.Errorf("refresh token RotatedAt, SuccessorID = %v, %q; want nil, empty", gotR.RotatedAt, gotR.SuccessorID)
	}
}

func testKeyNilRoundTrip(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: newID(), Algorithm: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: base}
	if err := s.AddSigningKey(ctx, k); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("SigningKeys = %d keys, %v; want 1", len(keys), err)
	}
	if keys[0].RetiredAt != nil {
		t.Errorf("key RetiredAt = %v, want nil", keys[0].RetiredAt)
	}
}

func testUserUnknownIDs(t *testing.T, s auth.UserStore) {
	mustUser(t, s) // a store with rows in it, so "unknown" is not "empty"
	at := now
	unknown := newUser("unknown")
	checkUnknownIDs(t, []call{
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, newID()); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, unknown.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, unknown) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, newID(), "h", now) }},
		{"SetUserDisabled(at)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), &at) }},
		{"SetUserDisabled(nil)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), nil) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, newID()) }},
	})
	if got, err := s.ListUsers(t.Context(), auth.UserQuery{After: "\U0010FFFF"}); err != nil || len(got) != 0 {
		t.Errorf("ListUsers after the last ID = %d users, %v; want none", len(got), err)
	}
}

func testUserCancelledContext(t *testing.T, s auth.UserStore) {
	u := mustUser(t, s)
	at := now
	checkCancelledCalls(t, []call{
		{"CreateUser", func(ctx context.Context) error { return s.CreateUser(ctx, newUser("cancel")) }},
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, u.ID); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, u.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, u) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, u.ID, "h", now) }},
		{"SetUserDisabled", func(ctx context.Context) error { return s.SetUserDisabled(ctx, u.ID, &at) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, u.ID) }},
		{"ListUsers", func(ctx context.Context) error { _, err := s.ListUsers(ctx, auth.UserQuery{}); return err }},
	})
	// Nothing of the cancelled calls happened.
	checkStoredUser(t, s, u)
}

func testKeyCancelledContext(t *testing.T, s auth.KeyStore) {
	checkCancelled(t, "SigningKeys", func(ctx context.Context) error { _, err := s.SigningKeys(ctx); return err })
	checkCancelled(t, "AddSigningKey", func(ctx context.Context) error {
		return s.AddSigningKey(ctx, &auth.SigningKey{ID: newID(), Algorithm: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: now})
	})
	testNoSigningKeys(t, s)
}

func testUnknownIDs(t *testing.T, s auth.Store) {
	u := mustUser(t, s) // a store with rows in it, so "unknown" is not "empty"
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, newRefresh(sess.ID))
	at := now
	unknown := newUser("unknown")
	checkUnknownIDs(t, []call{
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, newID()); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, unknown.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, unknown) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, newID(), "h", now) }},
		{"SetUserDisabled(at)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), &at) }},
		{"SetUserDisabled(nil)", func(ctx context.Context) error { return s.SetUserDisabled(ctx, newID(), nil) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, newID()) }},
		{"SessionByID", func(ctx context.Context) error { _, err := s.SessionByID(ctx, newID()); return err }},
		{"SessionByCookieHash", func(ctx context.Context) error { _, err := s.SessionByCookieHash(ctx, randomBytes(32)); return err }},
		{"TouchSession", func(ctx context.Context) error { return s.TouchSession(ctx, newID(), now, now) }},
		{"RevokeSession", func(ctx context.Context) error { return s.RevokeSession(ctx, newID(), now) }},
		{"RefreshTokenByHash", func(ctx context.Context) error { _, err := s.RefreshTokenByHash(ctx, randomBytes(32)); return err }},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, newID(), newRefresh(sess.ID), now)
			return err
		}},
	})
	if got, err := s.ListUsers(t.Context(), auth.UserQuery{After: "\U0010FFFF"}); err != nil || len(got) != 0 {
		t.Errorf("ListUsers after the last ID = %d users, %v; want none", len(got), err)
	}
	if ids, err := s.RevokeUserSessions(t.Context(), newID(), "", now); err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserSessions(unknown user) = %v, %v; want none", ids, err)
	}
}

func testCancelledContext(t *testing.T, s auth.Store) {
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	rt := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, rt)
	at := now
	checkCancelledCalls(t, []call{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
		{"CreateUser", func(ctx context.Context) error { return s.CreateUser(ctx, newUser("cancel")) }},
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, u.ID); return err }},
		{"UserByEmail", func(ctx context.Context) error { _, err := s.UserByEmail(ctx, u.Email); return err }},
		{"UpdateUser", func(ctx context.Context) error { return s.UpdateUser(ctx, u) }},
		{"SetPasswordHash", func(ctx context.Context) error { return s.SetPasswordHash(ctx, u.ID, "h", now) }},
		{"SetUserDisabled", func(ctx context.Context) error { return s.SetUserDisabled(ctx, u.ID, &at) }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, u.ID) }},
		{"ListUsers", func(ctx context.Context) error { _, err := s.ListUsers(ctx, auth.UserQuery{}); return err }},
		{"CreateSession", func(ctx context.Context) error {
			x := newSession(u.ID, base)
			return s.CreateSession(ctx, x, newRefresh(x.ID))
		}},
		{"SessionByID", func(ctx context.Context) error { _, err := s.SessionByID(ctx, sess.ID); return err }},
		{"SessionByCookieHash", func(ctx context.Context) error { _, err := s.SessionByCookieHash(ctx, sess.CookieHash); return err }},
		{"ListSessions", func(ctx context.Context) error { _, err := s.ListSessions(ctx, u.ID, now); return err }},
		{"TouchSession", func(ctx context.Context) error { return s.TouchSession(ctx, sess.ID, now, now) }},
		{"RevokeSession", func(ctx context.Context) error { return s.RevokeSession(ctx, sess.ID, now) }},
		{"RevokeUserSessions", func(ctx context.Context) error { _, err := s.RevokeUserSessions(ctx, u.ID, "", now); return err }},
		{"RefreshTokenByHash", func(ctx context.Context) error { _, err := s.RefreshTokenByHash(ctx, rt.Hash); return err }},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, rt.ID, newRefresh(sess.ID), now)
			return err
		}},
	})
	// Nothing of the cancelled calls happened.
	if _, err := s.UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("UserByID after the cancelled DeleteUser: %v", err)
	}
	if got, err := s.RefreshTokenByHash(t.Context(), rt.Hash); err != nil || got.RotatedAt != nil {
		t.Errorf("refresh token after the cancelled rotation: %+v, %v; want it unrotated", got, err)
	}
}

// Fixtures.

func newID() string { return hex.EncodeToString(randomBytes(16)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func randomDigits(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func newUser(label string) *auth.User {
	id := newID()
	return &auth.User{
		ID:        id,
		Email:     label + "-" + id[:12] + "@example.com",
		Name:      "Test " + label,
		CreatedAt: base,
		UpdatedAt: base,
	}
}

func mustCreateUser(t *testing.T, s auth.UserStore, u *auth.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
}

// owner returns a user for the rows of a test to name: stored through s
// when s keeps users too (its codes or factors may need the user to exist),
// else only made.
func owner(t *testing.T, s any) *auth.User {
	t.Helper()
	if us, ok := s.(auth.UserStore); ok {
		return mustUser(t, us)
	}
	return newUser("owner")
}

func mustUser(t *testing.T, s auth.UserStore) *auth.User {
	t.Helper()
	u := newUser("owner")
	mustCreateUser(t, s, u)
	return u
}

func newSession(userID string, created time.Time) *auth.Session {
	return &auth.Session{
		ID:                newID(),
		UserID:            userID,
		CookieHash:        randomBytes(32),
		IP:                "2001:db8::1",
		UserAgent:         "storetest/1.0 (+https://example.com)",
		AAL:               auth.AAL1,
		AMR:               []string{auth.MethodPassword},
		CreatedAt:         created,
		LastSeenAt:        created,
		ExpiresAt:         created.Add(time.Hour),
		AbsoluteExpiresAt: created.Add(24 * time.Hour),
	}
}

func mustCreateSession(t *testing.T, s auth.Store, sess *auth.Session, rt *auth.RefreshToken) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sess, rt); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
}

func newRefresh(sessionID string) *auth.RefreshToken {
	return &auth.RefreshToken{
		ID:        newID(),
		SessionID: sessionID,
		Hash:      randomBytes(32),
		CreatedAt: base,
		ExpiresAt: base.Add(720 * time.Hour),
	}
}

// Checks.

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one matching %v", what, err, target)
	}
}

func checkUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	g, w := *got, *want
	// NoFactors is read, not written: Factors/UserNoFactors checks it.
	g.NoFactors, w.NoFactors = false, false
	equal(t, "user", &g, &w)
}

func checkSession(t *testing.T, got, want *auth.Session) {
	t.Helper()
	equal(t, "session", got, want)
}

func checkRefresh(t *testing.T, got, want *auth.RefreshToken) {
	t.Helper()
	equal(t, "refresh token", got, want)
}

func checkStoredRefresh(t *testing.T, s auth.Store, want *auth.RefreshToken) {
	t.Helper()
	got, err := s.RefreshTokenByHash(t.Context(), want.Hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash(%s): %v", want.ID, err)
	}
	checkRefresh(t, got, want)
}

func checkKey(t *testing.T, got, want auth.SigningKey) {
	t.Helper()
	if !bytes.Equal(got.Private, want.Private) || !bytes.Equal(got.Public, want.Public) {
		// Keys are long: name the difference rather than print them.
		t.Errorf("key %s: private %d bytes, public %d bytes; want %d and %d, exactly as stored",
			want.ID, len(got.Private), len(got.Public), len(want.Private), len(want.Public))
		return
	}
	equal(t, "key "+want.ID, got, want)
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

func sessionIDs(xs []auth.Session) []string {
	return idsOf(xs, func(s auth.Session) string { return s.ID })
}

func sessionIDsOf(xs []*auth.Session) []string {
	return idsOf(xs, func(s *auth.Session) string { return s.ID })
}

func sortStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkPages pages through a newest-first list by its cursor, 2 at a time
// (page answers the IDs of the page before the cursor), and checks that
// the pages give want, without gaps or repeats, and end with an empty page.
func checkPages(t *testing.T, name string, want []string, page func(before string) ([]string, error)) {
	t.Helper()
	var paged []string
	before := ""
	for n := 1; ; n++ {
		if n > 10 {
			t.Fatalf("%s paging does not end: %v", name, paged)
		}
		got, err := page(before)
		if err != nil {
			t.Fatalf("%s, page %d: %v", name, n, err)
		}
		if len(got) > 2 {
			t.Fatalf("%s, limit 2, answered %d", name, len(got))
		}
		if len(got) == 0 {
			break
		}
		paged = append(paged, got...)
		before = got[len(got)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("%s in pages of 2 = %v, want %v", name, paged, want)
	}
}
