package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// rotator returns s as an auth.RefreshRotator, or skips the test for a
// store that does not have the method (it is optional).
func rotator(t *testing.T, s auth.Store) auth.RefreshRotator {
	t.Helper()
	r, ok := s.(auth.RefreshRotator)
	if !ok {
		t.Skip("the store is no auth.RefreshRotator")
	}
	return r
}

// newSuccessor is a successor as auth's refresh offers it: the store fills
// in its session and expiry.
func newSuccessor(at time.Time) *auth.RefreshToken {
	return &auth.RefreshToken{ID: newID(), Hash: randomBytes(32), CreatedAt: at}
}

// testRefreshAndRotate: the read answers what RefreshTokenSession answered
// before the call, and a live unrotated token is rotated as
// RotateRefreshToken would, its successor taking the session's absolute
// expiry and the session sliding to the earlier of slideTo and it; a
// second call reads the rotated token and writes nothing.
func testRefreshAndRotate(t *testing.T, s auth.Store) {
	r := rotator(t, s)
	ctx := t.Context()
	_, sess, old := mustSessionWithRefresh(t, s)
	wantRT, wantS, wantU, err := s.RefreshTokenSession(ctx, old.Hash)
	if err != nil {
		t.Fatal(err)
	}

	next := newSuccessor(now)
	slideTo := now.Add(time.Hour)
	rt, gotS, gotU, rotated, err := r.RefreshAndRotate(ctx, old.Hash, next, now, slideTo)
	if err != nil || !rotated {
		t.Fatalf("RefreshAndRotate = %v, %v; want true, nil", rotated, err)
	}
	equal(t, "refresh token read", rt, wantRT)
	equal(t, "session read", gotS, wantS)
	equal(t, "user read", gotU, wantU)
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, next.ID
	checkStoredRefresh(t, s, &wantOld)
	wantNext := *next
	wantNext.SessionID, wantNext.ExpiresAt = sess.ID, sess.AbsoluteExpiresAt
	checkStoredRefresh(t, s, &wantNext)
	wantSess := *sess
	wantSess.LastSeenAt, wantSess.ExpiresAt = now, slideTo
	checkStoredSession(t, s, &wantSess)

	// A replay reads the rotated token and writes nothing.
	later := now.Add(time.Second)
	replay := newSuccessor(later)
	rt, _, _, rotated, err = r.RefreshAndRotate(ctx, old.Hash, replay, later, later.Add(time.Hour))
	if err != nil || rotated {
		t.Fatalf("RefreshAndRotate of a rotated token = %v, %v; want false, nil", rotated, err)
	}
	equal(t, "rotated token read", rt, &wantOld)
	_, err = s.RefreshTokenByHash(ctx, replay.Hash)
	wantErr(t, "RefreshTokenByHash of the replay's successor", err, auth.ErrNotFound)
	checkStoredRefresh(t, s, &wantOld)
	checkStoredSession(t, s, &wantSess)

	// The chain goes on from the successor; the slide stops at the
	// session's absolute expiry.
	third := newSuccessor(later)
	if _, _, _, rotated, err := r.RefreshAndRotate(ctx, next.Hash, third, later, sess.AbsoluteExpiresAt.Add(time.Hour)); err != nil || !rotated {
		t.Fatalf("RefreshAndRotate of the successor = %v, %v; want true, nil", rotated, err)
	}
	wantSess.LastSeenAt, wantSess.ExpiresAt = later, sess.AbsoluteExpiresAt
	checkStoredSession(t, s, &wantSess)

	_, _, _, _, err = r.RefreshAndRotate(ctx, randomBytes(32), newSuccessor(now), now, slideTo)
	wantErr(t, "RefreshAndRotate(unknown)", err, auth.ErrNotFound)
}

// testRefreshAndRotateNotLive: a token a refresh must refuse (its session
// revoked or expired, idle or absolute, its user disabled, the token
// expired) is read and not rotated, exactly at each expiry; a microsecond
// before, it is rotated.
func testRefreshAndRotateNotLive(t *testing.T, s auth.Store) {
	r := rotator(t, s)
	ctx := t.Context()
	for _, c := range []struct {
		name string
		// set makes the session, token or user dead at the returned time.
		set func(sess *auth.Session, rt *auth.RefreshToken, u *auth.User) time.Time
		// later changes the stored rows after they are created.
		later func(sess *auth.Session, u *auth.User) error
		live  bool
	}{
		{name: "revoked", set: func(*auth.Session, *auth.RefreshToken, *auth.User) time.Time { return now },
			later: func(sess *auth.Session, _ *auth.User) error { return s.RevokeSession(ctx, sess.ID, base) }},
		{name: "user disabled", set: func(*auth.Session, *auth.RefreshToken, *auth.User) time.Time { return now },
			later: func(_ *auth.Session, u *auth.User) error { d := base; return s.SetUserDisabled(ctx, u.ID, &d) }},
		{name: "idle expiry", set: func(sess *auth.Session, _ *auth.RefreshToken, _ *auth.User) time.Time { return sess.ExpiresAt }},
		{name: "before idle expiry", live: true, set: func(sess *auth.Session, _ *auth.RefreshToken, _ *auth.User) time.Time {
			return sess.ExpiresAt.Add(-time.Microsecond)
		}},
		{name: "absolute expiry", set: func(sess *auth.Session, _ *auth.RefreshToken, _ *auth.User) time.Time {
			sess.AbsoluteExpiresAt = sess.ExpiresAt.Add(-time.Minute)
			return sess.AbsoluteExpiresAt
		}},
		{name: "before absolute expiry", live: true, set: func(sess *auth.Session, _ *auth.RefreshToken, _ *auth.User) time.Time {
			sess.AbsoluteExpiresAt = sess.ExpiresAt.Add(-time.Minute)
			return sess.AbsoluteExpiresAt.Add(-time.Microsecond)
		}},
		{name: "token expiry", set: func(_ *auth.Session, rt *auth.RefreshToken, _ *auth.User) time.Time {
			rt.ExpiresAt = now
			return now
		}},
		{name: "before token expiry", live: true, set: func(_ *auth.Session, rt *auth.RefreshToken, _ *auth.User) time.Time {
			rt.ExpiresAt = now
			return now.Add(-time.Microsecond)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := mustUser(t, s)
			sess := newSession(u.ID, base)
			old := newRefresh(sess.ID)
			at := c.set(sess, old, u).Truncate(time.Microsecond)
			mustCreateSession(t, s, sess, old)
			if c.later != nil {
				if err := c.later(sess, u); err != nil {
					t.Fatal(err)
				}
			}
			wantS, err := s.SessionByID(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			next := newSuccessor(at)
			_, _, _, rotated, err := r.RefreshAndRotate(ctx, old.Hash, next, at, at.Add(time.Hour))
			if err != nil || rotated != c.live {
				t.Fatalf("RefreshAndRotate at %v = %v, %v; want %v, nil", at, rotated, err, c.live)
			}
			if c.live {
				return
			}
			checkStoredRefresh(t, s, old)
			checkStoredSession(t, s, wantS)
			_, err = s.RefreshTokenByHash(ctx, next.Hash)
			wantErr(t, "RefreshTokenByHash of a refused refresh's successor", err, auth.ErrNotFound)
		})
	}
}

// testRefreshAndRotateConcurrently: of concurrent calls for one token,
// each offering the same successor hash (auth derives it from the token),
// exactly one rotates, none fails, and only its successor and its slide
// are stored.
func testRefreshAndRotateConcurrently(t *testing.T, s auth.Store) {
	r := rotator(t, s)
	ctx := t.Context()
	_, sess, old := mustSessionWithRefresh(t, s)

	const n = 16
	hash := randomBytes(32)
	var nexts [n]*auth.RefreshToken
	for i := range n {
		nexts[i] = newSuccessor(now)
		nexts[i].Hash = hash
	}
	slide := func(i int) time.Time { return now.Add(time.Duration(i+1) * time.Minute) }
	won, errs := race(n, func(i int) (bool, error) {
		_, _, _, rotated, err := r.RefreshAndRotate(ctx, old.Hash, nexts[i], now, slide(i))
		return rotated, err
	})
	winner := oneWins(t, "RefreshAndRotate", won, errs)
	wantNext := *nexts[winner]
	wantNext.SessionID, wantNext.ExpiresAt = sess.ID, sess.AbsoluteExpiresAt
	checkStoredRefresh(t, s, &wantNext)
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorID = &now, nexts[winner].ID
	checkStoredRefresh(t, s, &wantOld)
	wantSess := *sess
	wantSess.LastSeenAt, wantSess.ExpiresAt = now, slide(winner)
	checkStoredSession(t, s, &wantSess)
}
