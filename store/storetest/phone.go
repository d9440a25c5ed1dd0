package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Phone identities: an account may have a phone and no email (stored as
// NULL and returned as ""), found by its exact E.164 number.

// newPhoneUser returns a user with phone and no email.
func newPhoneUser(label, phone string) *auth.User {
	u := newUser(label)
	u.Email, u.Phone, u.PhoneVerified = "", phone, true
	return u
}

// checkStoredUser checks that UserByID returns want.
func checkStoredUser(t *testing.T, s auth.UserStore, want *auth.User) {
	t.Helper()
	got, err := s.UserByID(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", want.ID, err)
	}
	checkUser(t, got, want)
}

// checkUserByPhone checks that UserByPhone(phone) returns want.
func checkUserByPhone(t *testing.T, s auth.UserStore, phone string, want *auth.User) {
	t.Helper()
	got, err := s.UserByPhone(t.Context(), phone)
	if err != nil {
		t.Errorf("UserByPhone(%q): %v; want user %s", phone, err, want.ID)
		return
	}
	checkUser(t, got, want)
}

func testPhoneOnlyUsers(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	u := newPhoneUser("phoneonly1", "+14155550101")
	v := newPhoneUser("phoneonly2", "+14155550102")
	v.PhoneVerified = false
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	withEmail := newUser("withemail")
	mustCreateUser(t, s, withEmail)

	for _, w := range []*auth.User{u, v} {
		checkStoredUser(t, s, w)
		checkUserByPhone(t, s, w.Phone, w)
	}
	got, err := s.ListUsers(ctx, auth.UserQuery{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if g, w := userIDs(got), sortedIDs([]*auth.User{u, v, withEmail}); !slices.Equal(g, w) {
		t.Fatalf("ListUsers = %v, want %v", g, w)
	}
	for i := range got {
		for _, w := range []*auth.User{u, v, withEmail} {
			if got[i].ID == w.ID {
				checkUser(t, &got[i], w)
			}
		}
	}
	// No email is not an email: "" finds nobody.
	_, err = s.UserByEmail(ctx, "")
	wantErr(t, `UserByEmail("")`, err, auth.ErrNotFound)
}

func testUserByPhoneExact(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	us := newUser("us")
	us.Phone = "+14155552671"
	uk := newPhoneUser("uk", "+442071838750")
	none := newUser("nophone")
	for _, u := range []*auth.User{us, uk, none} {
		mustCreateUser(t, s, u)
	}
	for _, tc := range []struct {
		phone string
		want  *auth.User
	}{
		{"+14155552671", us},
		{"+442071838750", uk},
		{"+14155552672", nil},  // unknown
		{"+1415555267", nil},   // a prefix
		{"+141555526710", nil}, // longer
		{"14155552671", nil},   // without the +
		{"4155552671", nil},    // a suffix
		{"5555267", nil},       // a substring
		{" +14155552671", nil}, // not trimmed
		{"+1415555267_", nil},  // LIKE wildcards are not wildcards
		{"+1415555%", nil},     // nor is %
		{"%", nil},
		{"", nil},                // no phone is not a phone
		{"+4420 7183 8750", nil}, // not normalised
	} {
		got, err := s.UserByPhone(ctx, tc.phone)
		if tc.want == nil {
			if !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("UserByPhone(%q) = %+v, %v; want ErrNotFound", tc.phone, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("UserByPhone(%q): %v; want user %s", tc.phone, err, tc.want.ID)
			continue
		}
		checkUser(t, got, tc.want)
	}
}

func testPhoneDuplicates(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	// Two users with no phone and two with no email coexist.
	noPhone1, noPhone2 := newUser("nophone1"), newUser("nophone2")
	noEmail1 := newPhoneUser("noemail1", "+14155550201")
	noEmail2 := newPhoneUser("noemail2", "+14155550202")
	for _, u := range []*auth.User{noPhone1, noPhone2, noEmail1, noEmail2} {
		mustCreateUser(t, s, u)
	}
	for _, u := range []*auth.User{noPhone1, noPhone2, noEmail1, noEmail2} {
		checkStoredUser(t, s, u)
	}

	for _, tc := range []struct {
		name  string
		user  *auth.User
		want  error
		other error
	}{
		{"taken phone, no email", newPhoneUser("dup", noEmail1.Phone), auth.ErrPhoneTaken, auth.ErrEmailTaken},
		{"taken phone, free email", func() *auth.User {
			u := newUser("dup")
			u.Phone = noEmail2.Phone
			return u
		}(), auth.ErrPhoneTaken, auth.ErrEmailTaken},
		{"taken email, no phone", func() *auth.User {
			u := newUser("dup")
			u.Email = noPhone1.Email
			return u
		}(), auth.ErrEmailTaken, auth.ErrPhoneTaken},
		{"taken email, free phone", func() *auth.User {
			u := newUser("dup")
			u.Email, u.Phone = noPhone2.Email, "+14155550299"
			return u
		}(), auth.ErrEmailTaken, auth.ErrPhoneTaken},
	} {
		err := s.CreateUser(ctx, tc.user)
		wantErr(t, "CreateUser with a "+tc.name, err, tc.want)
		if errors.Is(err, tc.other) {
			t.Errorf("CreateUser with a %s: %v also matches %v", tc.name, err, tc.other)
		}
		_, err = s.UserByID(ctx, tc.user.ID)
		wantErr(t, "UserByID of the user refused for a "+tc.name, err, auth.ErrNotFound)
	}
	// The refused users left nothing behind: the free phone is still free.
	checkUserByPhone(t, s, noEmail1.Phone, noEmail1)
	_, err := s.UserByPhone(ctx, "+14155550299")
	wantErr(t, "UserByPhone of a refused user's phone", err, auth.ErrNotFound)

	for _, tc := range []struct {
		name   string
		change func(u *auth.User)
		user   *auth.User
		want   error
		other  error
	}{
		{"phone-only user to a taken phone", func(u *auth.User) { u.Phone = noEmail2.Phone }, noEmail1, auth.ErrPhoneTaken, auth.ErrEmailTaken},
		{"email user to a taken phone", func(u *auth.User) { u.Phone = noEmail1.Phone }, noPhone1, auth.ErrPhoneTaken, auth.ErrEmailTaken},
		{"phone-only user to a taken email", func(u *auth.User) { u.Email = noPhone1.Email }, noEmail1, auth.ErrEmailTaken, auth.ErrPhoneTaken},
		{"email user to a taken email", func(u *auth.User) { u.Email = noPhone2.Email }, noPhone1, auth.ErrEmailTaken, auth.ErrPhoneTaken},
	} {
		changed := *tc.user
		tc.change(&changed)
		changed.UpdatedAt = base.Add(time.Hour)
		err := s.UpdateUser(ctx, &changed)
		wantErr(t, "UpdateUser of a "+tc.name, err, tc.want)
		if errors.Is(err, tc.other) {
			t.Errorf("UpdateUser of a %s: %v also matches %v", tc.name, err, tc.other)
		}
		checkStoredUser(t, s, tc.user)
	}
}

func testUpdatePhoneAndEmail(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	update := func(u *auth.User) {
		t.Helper()
		if err := s.UpdateUser(ctx, u); err != nil {
			t.Fatalf("UpdateUser(%+v): %v", *u, err)
		}
		checkStoredUser(t, s, u)
	}

	// A phone-only user adds an email, then drops the phone.
	p := newPhoneUser("phonefirst", "+14155550301")
	mustCreateUser(t, s, p)
	p.Email, p.EmailVerified, p.UpdatedAt = "phonefirst-"+newID()[:8]+"@example.com", true, base.Add(time.Minute)
	update(p)
	if got, err := s.UserByEmail(ctx, p.Email); err != nil || got.ID != p.ID {
		t.Errorf("UserByEmail(added email) = %v, %v; want user %s", got, err, p.ID)
	}
	oldPhone := p.Phone
	p.Phone, p.PhoneVerified, p.UpdatedAt = "", false, base.Add(2*time.Minute)
	update(p)
	_, err := s.UserByPhone(ctx, oldPhone)
	wantErr(t, "UserByPhone(cleared phone)", err, auth.ErrNotFound)
	// The number is free again.
	mustCreateUser(t, s, newPhoneUser("phonereuse", oldPhone))

	// An email user adds a phone, then drops the email.
	e := newUser("emailfirst")
	mustCreateUser(t, s, e)
	e.Phone, e.PhoneVerified, e.UpdatedAt = "+14155550302", true, base.Add(time.Minute)
	update(e)
	checkUserByPhone(t, s, e.Phone, e)
	oldEmail := e.Email
	e.Email, e.EmailVerified, e.UpdatedAt = "", false, base.Add(2*time.Minute)
	update(e)
	checkUserByPhone(t, s, e.Phone, e)
	_, err = s.UserByEmail(ctx, oldEmail)
	wantErr(t, "UserByEmail(cleared email)", err, auth.ErrNotFound)
	// The email is free again.
	reuse := newUser("emailreuse")
	reuse.Email = oldEmail
	mustCreateUser(t, s, reuse)

	// A second user clearing its email too: no email is NULL, and NULLs
	// never collide.
	f := newUser("emailsecond")
	f.Phone = "+14155550303"
	mustCreateUser(t, s, f)
	f.Email, f.EmailVerified, f.UpdatedAt = "", false, base.Add(3*time.Minute)
	update(f)
	checkStoredUser(t, s, e)
	_, err = s.UserByEmail(ctx, "")
	wantErr(t, `UserByEmail("") with two users without email`, err, auth.ErrNotFound)

	// And back: an email and a phone set again on a user that had none of
	// one.
	e.Email, e.EmailVerified, e.UpdatedAt = "back-"+newID()[:8]+"@example.com", true, base.Add(4*time.Minute)
	update(e)
	if got, err := s.UserByEmail(ctx, e.Email); err != nil || got.ID != e.ID {
		t.Errorf("UserByEmail(email set again) = %v, %v; want user %s", got, err, e.ID)
	}
	p.Phone, p.UpdatedAt = "+14155550304", base.Add(4*time.Minute)
	update(p)
	checkUserByPhone(t, s, p.Phone, p)
}

func testListPhoneUsers(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	mk := func(label, email, name, phone string) *auth.User {
		return mustListedUser(t, s, label, email, name, phone)
	}
	alice := mk("alice", "alice@example.com", "Alice", "+14155550001")
	bob := mk("bob", "bob@example.org", "Bob", "")
	pat := mk("pat", "", "Pat Phone", "+14155559876")
	quinn := mk("quinn", "", "", "+447700900123")
	all := []*auth.User{alice, bob, pat, quinn}

	checkListQueries(t, s, []listQuery{
		{"", all},
		{"9876", []*auth.User{pat}},
		{"4155559876", []*auth.User{pat}},
		{"+14155559876", []*auth.User{pat}},
		{"+1415555", []*auth.User{alice, pat}},
		{"+44", []*auth.User{quinn}},
		{"7700900", []*auth.User{quinn}},
		{"0001", []*auth.User{alice}},
		{"PAT", []*auth.User{pat}},
		{"alice", []*auth.User{alice}},
		// Email matches never pick a user without an email.
		{"example", []*auth.User{alice, bob}},
		{"@", []*auth.User{alice, bob}},
		{".org", []*auth.User{bob}},
		{"null", nil},
		{"nobody", nil},
	})
	got, err := s.ListUsers(ctx, auth.UserQuery{Query: "9876"})
	if err == nil && len(got) == 1 {
		checkUser(t, &got[0], pat)
	}

	// A phone query pages too.
	want := sortedIDs([]*auth.User{alice, pat})
	first, err := s.ListUsers(ctx, auth.UserQuery{Query: "+1415", Limit: 1})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	second, err := s.ListUsers(ctx, auth.UserQuery{Query: "+1415", Limit: 1, After: lastID(first)})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if g := append(userIDs(first), userIDs(second)...); !slices.Equal(g, want) {
		t.Errorf("ListUsers(phone query, pages of 1) = %v + %v, want %v", userIDs(first), userIDs(second), want)
	}
}

func testDeletePhoneOnlyUser(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newPhoneUser("phonegone", "+14155550401")
	v := newPhoneUser("phonestays", "+14155550402")
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	su, sv := newSession(u.ID, base), newSession(v.ID, base)
	rtu, rtv := newRefresh(su.ID), newRefresh(sv.ID)
	mustCreateSession(t, s, su, rtu)
	mustCreateSession(t, s, sv, rtv)
	cs, challenges := s.(auth.ChallengeStore)
	var cu, cv *auth.Challenge
	if challenges {
		cu, cv = newChallenge(auth.PurposePhone, u.ID), newChallenge(auth.PurposePhone, v.ID)
		cu.UserID, cu.Target = u.ID, "+14155550499"
		cv.UserID, cv.Target = v.ID, "+14155550498"
		mustPutChallenge(t, cs, cu)
		mustPutChallenge(t, cs, cv)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.UserByID(ctx, u.ID)
	wantErr(t, "UserByID of the deleted user", err, auth.ErrNotFound)
	_, err = s.UserByPhone(ctx, u.Phone)
	wantErr(t, "UserByPhone of the deleted user", err, auth.ErrNotFound)
	checkSessionsGone(t, s, []*auth.Session{su}, []*auth.RefreshToken{rtu})
	if challenges {
		_, err = cs.ChallengeByAddress(ctx, auth.PurposePhone, u.ID)
		wantErr(t, "ChallengeByAddress of the deleted user's phone challenge", err, auth.ErrNotFound)
	}
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, u.ID), auth.ErrNotFound)

	// The other phone-only user keeps everything.
	checkStoredUser(t, s, v)
	if got, err := s.SessionByID(ctx, sv.ID); err != nil {
		t.Errorf("SessionByID of the other user's session: %v", err)
	} else {
		checkSession(t, got, sv)
	}
	checkStoredRefresh(t, s, rtv)
	if challenges {
		if got := checkStoredChallenge(t, cs, cv); got.Target != cv.Target {
			t.Errorf("other user's challenge Target = %q, want %q", got.Target, cv.Target)
		}
	}
	// The number is free again.
	mustCreateUser(t, s, newPhoneUser("phoneagain", u.Phone))
}

func testChallengeTarget(t *testing.T, s auth.ChallengeStore) {
	ctx := t.Context()
	u := owner(t, s)
	check := func(want *auth.Challenge) {
		t.Helper()
		got := checkStoredChallenge(t, s, want)
		if got.Target != want.Target {
			t.Errorf("challenge Target = %q, want %q", got.Target, want.Target)
		}
	}

	c := newChallenge(auth.PurposePhone, u.ID)
	c.UserID, c.Target = u.ID, "+14155552671"
	mustPutChallenge(t, s, c)
	check(c)

	// A new request replaces the challenge, Target included.
	for _, target := range []string{"+442071838750", "", "+14155552671"} {
		next := newChallenge(auth.PurposePhone, u.ID)
		next.UserID, next.Target = u.ID, target
		mustPutChallenge(t, s, next)
		check(next)
	}

	// Other challenges keep an empty Target, whatever the phone one holds;
	// and another account may be proving the same number (the phone is
	// unique on users, not on challenges).
	signin := newChallenge(auth.PurposeSignIn, u.Email)
	signin.UserID = u.ID
	mustPutChallenge(t, s, signin)
	check(signin)
	v := owner(t, s)
	w := newChallenge(auth.PurposePhone, v.ID)
	w.UserID, w.Target = v.ID, "+14155552671"
	mustPutChallenge(t, s, w)
	check(w)
	_, err := s.ChallengeByAddress(ctx, auth.PurposePhone, "+14155552671")
	wantErr(t, "ChallengeByAddress(PurposePhone, the target)", err, auth.ErrNotFound)
}

// testChallengeSignUp checks the sign-up mark is kept, and that a new
// request for the address replaces a marked challenge with an unmarked one
// (only the sign-up's own code keeps what the account has).
func testChallengeSignUp(t *testing.T, s auth.ChallengeStore) {
	u := owner(t, s)
	check := func(want *auth.Challenge) {
		t.Helper()
		if got := checkStoredChallenge(t, s, want); got.SignUp != want.SignUp {
			t.Errorf("challenge SignUp = %v, want %v", got.SignUp, want.SignUp)
		}
	}
	first := newChallenge(auth.PurposeSignIn, "+14155552672")
	first.UserID, first.SignUp = u.ID, true
	mustPutChallenge(t, s, first)
	check(first)

	next := newChallenge(auth.PurposeSignIn, "+14155552672")
	next.UserID = u.ID
	mustPutChallenge(t, s, next)
	check(next)
}
