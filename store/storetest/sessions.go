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

// Sessions runs the conformance tests of auth.SessionStore, on a store that
// also keeps the users the sessions belong to (auth.Store).
func Sessions(t *testing.T, open func(t *testing.T) auth.Store) {
	t.Helper()
	runGroup(t, "Sessions", open, sessionTests)
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
	{"Refresh/TokenSession", testRefreshTokenSession},
	{"Refresh/Rotate", testRotate},
	{"Refresh/RotateConcurrently", testRotateConcurrently},
	{"Refresh/AndRotate", testRefreshAndRotate},
	{"Refresh/AndRotateNotLive", testRefreshAndRotateNotLive},
	{"Refresh/AndRotateConcurrently", testRefreshAndRotateConcurrently},
	{"Raise/Cookie", testRaiseCookieSession},
	{"Raise/Tokens", testRaiseTokenSession},
	{"Raise/NotLive", testRaiseNotLive},
	{"DeleteUserCascades", testDeleteCascades},
	{"Phone/DeletePhoneOnlyUser", testDeletePhoneOnlyUser},
	{"NilRoundTrips", testNilRoundTrip},
	{"UnknownIDs", testUnknownIDs},
	{"CancelledContext", testCancelledContext},
}

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
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
	if ok, err := s.RotateRefreshToken(ctx, rt2.ID, rt3, now, s2.ExpiresAt); err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.UserByID(ctx, u.ID)
	wantErr(t, "UserByID of the deleted user", err, auth.ErrNotFound)
	_, err = s.UserByEmail(ctx, u.Email)
	wantErr(t, "UserByEmail of the deleted user", err, auth.ErrNotFound)
	checkSessionsGone(t, s, []*auth.Session{s1, s2}, []*auth.RefreshToken{rt1, rt2, rt3})
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
	_, _, rt := mustSessionWithRefresh(t, s)
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
	_, sess, old := mustSessionWithRefresh(t, s)

	next := newRefresh(sess.ID)
	expires := now.Add(2 * time.Hour)
	ok, err := s.RotateRefreshToken(ctx, old.ID, next, now, expires)
	if err != nil || !ok {
		t.Fatalf("first RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, next.ID
	checkStoredRefresh(t, s, &wantOld)
	checkStoredRefresh(t, s, next)
	// The rotation touched the session, as TouchSession would.
	wantSess := *sess
	wantSess.LastSeenAt, wantSess.ExpiresAt = now, expires
	checkStoredSession(t, s, &wantSess)

	replay := newRefresh(sess.ID)
	ok, err = s.RotateRefreshToken(ctx, old.ID, replay, now.Add(time.Second), expires.Add(time.Second))
	if err != nil || ok {
		t.Fatalf("second RotateRefreshToken = %v, %v; want false, nil", ok, err)
	}
	_, err = s.RefreshTokenByHash(ctx, replay.Hash)
	wantErr(t, "RefreshTokenByHash of the losing successor", err, auth.ErrNotFound)
	checkStoredRefresh(t, s, &wantOld)  // unchanged by the loser
	checkStoredSession(t, s, &wantSess) // not touched by the loser

	// The chain goes on from the successor.
	third := newRefresh(sess.ID)
	if ok, err := s.RotateRefreshToken(ctx, next.ID, third, now.Add(time.Minute), expires.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("RotateRefreshToken of the successor = %v, %v; want true, nil", ok, err)
	}
	checkStoredRefresh(t, s, third)
	wantSess.LastSeenAt, wantSess.ExpiresAt = now.Add(time.Minute), expires.Add(time.Minute)
	checkStoredSession(t, s, &wantSess)
}

// testRefreshTokenSession: the one read of a refresh answers what
// RefreshTokenByHash, SessionByID and UserByID answer, rotated tokens and
// revoked sessions included (the caller decides), and nothing for a token
// that is unknown or whose user is gone.
func testRefreshTokenSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, sess, old := mustSessionWithRefresh(t, s)
	// Another session of another user, so a wrong join would show.
	other := mustUser(t, s)
	otherSess := newSession(other.ID, base)
	mustCreateSession(t, s, otherSess, newRefresh(otherSess.ID))

	check := func(when string, hash []byte, wantRT *auth.RefreshToken) {
		t.Helper()
		rt, gotS, gotU, err := s.RefreshTokenSession(ctx, hash)
		if err != nil {
			t.Fatalf("RefreshTokenSession %s: %v", when, err)
		}
		wantS, err := s.SessionByID(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantU, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "refresh token "+when, rt, wantRT)
		equal(t, "session "+when, gotS, wantS)
		equal(t, "user "+when, gotU, wantU)
	}
	check("of a new token", old.Hash, old)

	next := newRefresh(sess.ID)
	if ok, err := s.RotateRefreshToken(ctx, old.ID, next, now, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, next.ID
	check("of a rotated token", old.Hash, &wantOld)
	check("of the successor", next.Hash, next)

	if err := s.RevokeSession(ctx, sess.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserDisabled(ctx, u.ID, &now); err != nil {
		t.Fatal(err)
	}
	check("of a revoked session of a disabled user", next.Hash, next)

	_, _, _, err := s.RefreshTokenSession(ctx, randomBytes(32))
	wantErr(t, "RefreshTokenSession(unknown)", err, auth.ErrNotFound)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = s.RefreshTokenSession(ctx, next.Hash)
	wantErr(t, "RefreshTokenSession of a deleted user's token", err, auth.ErrNotFound)
}

// raisedAMR is what a step-up with an authenticator app makes of a
// password session.
var raisedAMR = []string{auth.MethodPassword, auth.MethodTOTP}

func testRaiseCookieSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, nil)
	oldCookie := sess.CookieHash
	cookie := randomBytes(32)
	if ok, err := s.RaiseSession(ctx, sess.ID, auth.AAL2, raisedAMR, cookie, nil, now); err != nil || !ok {
		t.Fatalf("RaiseSession = %v, %v; want true, nil", ok, err)
	}
	want := *sess
	want.AAL, want.AMR, want.CookieHash = auth.AAL2, raisedAMR, cookie
	got, err := s.SessionByCookieHash(ctx, cookie)
	if err != nil {
		t.Fatalf("SessionByCookieHash(new cookie): %v", err)
	}
	checkSession(t, got, &want)
	_, err = s.SessionByCookieHash(ctx, oldCookie)
	wantErr(t, "SessionByCookieHash(the cookie before the step-up)", err, auth.ErrNotFound)
}

func testRaiseTokenSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	sess.CookieHash = nil
	first := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, first)
	// A rotated token and the live one: only the live one is retired (the
	// rotated one keeps its successor, so its replay is still reuse).
	live := newRefresh(sess.ID)
	if ok, err := s.RotateRefreshToken(ctx, first.ID, live, base.Add(time.Minute), sess.ExpiresAt); err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v", ok, err)
	}
	sess.LastSeenAt = base.Add(time.Minute) // the rotation's touch
	other := newSession(u.ID, base)
	otherRT := newRefresh(other.ID)
	mustCreateSession(t, s, other, otherRT)

	next := newRefresh(sess.ID)
	if ok, err := s.RaiseSession(ctx, sess.ID, auth.AAL2, raisedAMR, nil, next, now); err != nil || !ok {
		t.Fatalf("RaiseSession = %v, %v; want true, nil", ok, err)
	}
	want := *sess
	want.AAL, want.AMR = auth.AAL2, raisedAMR
	checkStoredSession(t, s, &want)
	wantFirst := *first
	at := base.Add(time.Minute)
	wantFirst.RotatedAt, wantFirst.SuccessorID = &at, live.ID
	checkStoredRefresh(t, s, &wantFirst)
	wantLive := *live
	wantLive.RotatedAt, wantLive.SuccessorID = &now, next.ID
	checkStoredRefresh(t, s, &wantLive)
	checkStoredRefresh(t, s, next)
	checkStoredRefresh(t, s, otherRT) // another session's token is left alone
	if got, err := s.SessionByID(ctx, other.ID); err != nil || got.AAL != auth.AAL1 {
		t.Errorf("the other session = %+v, %v; want it at aal1", got, err)
	}
}

func testRaiseNotLive(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := mustUser(t, s)
	revoked := newSession(u.ID, base)
	expired := newSession(u.ID, base.Add(-2*time.Hour)) // its sliding expiry is past
	absolute := newSession(u.ID, base)
	absolute.ExpiresAt, absolute.AbsoluteExpiresAt = now.Add(time.Hour), now
	for _, x := range []*auth.Session{revoked, expired, absolute} {
		mustCreateSession(t, s, x, newRefresh(x.ID))
	}
	if err := s.RevokeSession(ctx, revoked.ID, base); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   string
	}{{"revoked", revoked.ID}, {"expired", expired.ID}, {"past its absolute expiry", absolute.ID}, {"unknown", newID()}} {
		next := newRefresh(c.id)
		ok, err := s.RaiseSession(ctx, c.id, auth.AAL2, raisedAMR, randomBytes(32), next, now)
		if err != nil || ok {
			t.Errorf("RaiseSession(%s) = %v, %v; want false, nil", c.name, ok, err)
		}
		_, err = s.RefreshTokenByHash(ctx, next.Hash)
		wantErr(t, "RefreshTokenByHash of the refused raise's token ("+c.name+")", err, auth.ErrNotFound)
		if got, err := s.SessionByID(ctx, c.id); err == nil && got.AAL != auth.AAL1 {
			t.Errorf("session %s raised to %s", c.name, got.AAL)
		}
	}
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
	_, sess, old := mustSessionWithRefresh(t, s)

	const n = 16
	var nexts [n]*auth.RefreshToken
	hash := randomBytes(32)
	for i := range n {
		nexts[i] = newRefresh(sess.ID)
		if sharedHash {
			nexts[i].Hash = hash
		}
	}
	// Each call slides the session to its own expiry, so the stored one
	// tells whose touch landed: the winner's alone.
	expiry := func(i int) time.Time { return now.Add(time.Duration(i+1) * time.Minute) }
	won, errs := race(n, func(i int) (bool, error) { return s.RotateRefreshToken(ctx, old.ID, nexts[i], now, expiry(i)) })
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
	wantSess := *sess
	wantSess.LastSeenAt, wantSess.ExpiresAt = now, expiry(winner)
	checkStoredSession(t, s, &wantSess)
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

func testUnknownIDs(t *testing.T, s auth.Store) {
	u := mustUser(t, s) // a store with rows in it, so "unknown" is not "empty"
	sess := newSession(u.ID, base)
	mustCreateSession(t, s, sess, newRefresh(sess.ID))
	checkUnknownIDs(t, append(userUnknownCalls(s), []call{
		{"SessionByID", func(ctx context.Context) error { _, err := s.SessionByID(ctx, newID()); return err }},
		{"SessionByCookieHash", func(ctx context.Context) error { _, err := s.SessionByCookieHash(ctx, randomBytes(32)); return err }},
		{"TouchSession", func(ctx context.Context) error { return s.TouchSession(ctx, newID(), now, now) }},
		{"RevokeSession", func(ctx context.Context) error { return s.RevokeSession(ctx, newID(), now) }},
		{"RefreshTokenByHash", func(ctx context.Context) error { _, err := s.RefreshTokenByHash(ctx, randomBytes(32)); return err }},
		{"RefreshTokenSession", func(ctx context.Context) error {
			_, _, _, err := s.RefreshTokenSession(ctx, randomBytes(32))
			return err
		}},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, newID(), newRefresh(sess.ID), now, now)
			return err
		}},
	}...))
	checkListUsersPastEnd(t, s)
	if ids, err := s.RevokeUserSessions(t.Context(), newID(), "", now); err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserSessions(unknown user) = %v, %v; want none", ids, err)
	}
}

func testCancelledContext(t *testing.T, s auth.Store) {
	u, sess, rt := mustSessionWithRefresh(t, s)
	calls := append(userCancelledCalls(s, u), []call{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
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
		{"RefreshTokenSession", func(ctx context.Context) error {
			_, _, _, err := s.RefreshTokenSession(ctx, rt.Hash)
			return err
		}},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, rt.ID, newRefresh(sess.ID), now, now)
			return err
		}},
	}...)
	if r, ok := s.(auth.RefreshRotator); ok {
		calls = append(calls, call{"RefreshAndRotate", func(ctx context.Context) error {
			_, _, _, _, err := r.RefreshAndRotate(ctx, rt.Hash, newSuccessor(now), now, now.Add(time.Hour))
			return err
		}})
	}
	checkCancelledCalls(t, calls)
	// Nothing of the cancelled calls happened.
	if _, err := s.UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("UserByID after the cancelled DeleteUser: %v", err)
	}
	if got, err := s.RefreshTokenByHash(t.Context(), rt.Hash); err != nil || got.RotatedAt != nil {
		t.Errorf("refresh token after the cancelled rotation: %+v, %v; want it unrotated", got, err)
	}
}

// checkSessionsGone checks that no way of finding a session or refresh
// token finds these, which belonged to a deleted user.
func checkSessionsGone(t *testing.T, s auth.SessionStore, sessions []*auth.Session, tokens []*auth.RefreshToken) {
	t.Helper()
	var calls []call
	for _, sess := range sessions {
		calls = append(calls,
			call{"SessionByID", func(ctx context.Context) error { _, err := s.SessionByID(ctx, sess.ID); return err }},
			call{"SessionByCookieHash", func(ctx context.Context) error { _, err := s.SessionByCookieHash(ctx, sess.CookieHash); return err }})
	}
	for _, rt := range tokens {
		calls = append(calls,
			call{"RefreshTokenByHash", func(ctx context.Context) error { _, err := s.RefreshTokenByHash(ctx, rt.Hash); return err }},
			call{"RefreshTokenSession", func(ctx context.Context) error { _, _, _, err := s.RefreshTokenSession(ctx, rt.Hash); return err }})
	}
	checkNotFound(t, "the deleted user's session or token", calls)
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

// mustSessionWithRefresh stores a new user's session (newSession) with its
// first refresh token (newRefresh) and returns the three.
func mustSessionWithRefresh(t *testing.T, s auth.Store) (*auth.User, *auth.Session, *auth.RefreshToken) {
	t.Helper()
	u := mustUser(t, s)
	sess := newSession(u.ID, base)
	rt := newRefresh(sess.ID)
	mustCreateSession(t, s, sess, rt)
	return u, sess, rt
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

func checkSession(t *testing.T, got, want *auth.Session) {
	t.Helper()
	equal(t, "session", got, want)
}

func checkRefresh(t *testing.T, got, want *auth.RefreshToken) {
	t.Helper()
	equal(t, "refresh token", got, want)
}

func checkStoredSession(t *testing.T, s auth.Store, want *auth.Session) {
	t.Helper()
	got, err := s.SessionByID(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("SessionByID(%s): %v", want.ID, err)
	}
	checkSession(t, got, want)
}

func checkStoredRefresh(t *testing.T, s auth.Store, want *auth.RefreshToken) {
	t.Helper()
	got, err := s.RefreshTokenByHash(t.Context(), want.Hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash(%s): %v", want.ID, err)
	}
	checkRefresh(t, got, want)
}

func sessionIDs(xs []auth.Session) []string {
	return idsOf(xs, func(s auth.Session) string { return s.ID })
}

func sessionIDsOf(xs []*auth.Session) []string {
	return idsOf(xs, func(s *auth.Session) string { return s.ID })
}
