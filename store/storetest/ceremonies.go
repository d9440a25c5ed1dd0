package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// userCeremonyStore keeps users and WebAuthn ceremonies in one database.
type userCeremonyStore interface {
	auth.UserStore
	auth.CeremonyStore
}

// Ceremonies runs the conformance tests of auth.CeremonyStore.
func Ceremonies(t *testing.T, open func(t *testing.T) auth.CeremonyStore) {
	t.Helper()
	runGroup(t, "Ceremonies", open, ceremonyTests)
}

var ceremonyTests = []storeTest[auth.CeremonyStore]{
	{"PutAndTake", testPutTakeCeremony},
	{"TakeOnce", testTakeCeremonyOnce},
	{"TakeConcurrently", testTakeCeremonyConcurrently},
	{"WrongPurpose", testTakeCeremonyWrongPurpose},
	{"Expired", testTakeCeremonyExpired},
	{"UnknownIDs", testCeremonyUnknownIDs},
	{"CancelledContext", testCeremonyCancelledContext},
}

// ceremoniesTogetherTests check a store that keeps users and ceremonies in
// one database.
var ceremoniesTogetherTests = []storeTest[userCeremonyStore]{
	{"Ceremony/UnknownUser", testCeremonyUnknownUser},
	{"Ceremony/DeleteUserCascades", testDeleteUserDeletesCeremonies},
}

// ceremonyNow is "the present" of the ceremony tests: a minute into the
// five of a ceremony from newCeremony.
var ceremonyNow = now.Add(time.Minute)

func testPutTakeCeremony(t *testing.T, s auth.CeremonyStore) {
	ctx := t.Context()
	u := owner(t, s)
	register := newCeremony(auth.CeremonyRegister, u.ID)
	usernameless := newCeremony(auth.CeremonyLogin, "")
	byEmail := newCeremony(auth.CeremonyLogin, u.ID)
	mfa := newCeremony(auth.CeremonyMFA, u.ID)
	mfa.MFATokenID = newID()
	cs := []*auth.Ceremony{register, usernameless, byEmail, mfa}
	for _, c := range cs {
		mustPutCeremony(t, s, c)
	}
	// Taken in another order than put: each is found by its own ID.
	for _, c := range []*auth.Ceremony{mfa, usernameless, register, byEmail} {
		got, err := s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
		if err != nil {
			t.Errorf("TakeCeremony(%s %s): %v", c.Purpose, c.ID, err)
			continue
		}
		equal(t, "ceremony", got, c)
	}
}

func testTakeCeremonyOnce(t *testing.T, s auth.CeremonyStore) {
	ctx := t.Context()
	u := owner(t, s)
	c, other := newCeremony(auth.CeremonyLogin, u.ID), newCeremony(auth.CeremonyLogin, u.ID)
	mustPutCeremony(t, s, c)
	mustPutCeremony(t, s, other)
	checkTakeCeremony(t, s, c)
	_, err := s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
	wantErr(t, "TakeCeremony a second time", err, auth.ErrNotFound)
	checkTakeCeremony(t, s, other)
}

func testTakeCeremonyConcurrently(t *testing.T, s auth.CeremonyStore) {
	// One challenge_id finished twice at once (a replay racing the real
	// answer): one take gets the ceremony, every other finds none.
	ctx := t.Context()
	c := newCeremony(auth.CeremonyLogin, "")
	mustPutCeremony(t, s, c)
	got, errs := race(16, func(int) (*auth.Ceremony, error) {
		return s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
	})
	equal(t, "ceremony", got[oneSucceeds(t, "TakeCeremony", errs, auth.ErrNotFound)], c)
}

func testTakeCeremonyWrongPurpose(t *testing.T, s auth.CeremonyStore) {
	// A registration challenge cannot finish a sign-in, nor a sign-in one
	// a second factor; the attempt uses the ceremony up.
	ctx := t.Context()
	u := owner(t, s)
	for _, tc := range []struct{ put, take string }{
		{auth.CeremonyRegister, auth.CeremonyLogin},
		{auth.CeremonyLogin, auth.CeremonyMFA},
		{auth.CeremonyMFA, auth.CeremonyRegister},
		{auth.CeremonyLogin, ""},
	} {
		c := newCeremony(tc.put, u.ID)
		mustPutCeremony(t, s, c)
		_, err := s.TakeCeremony(ctx, c.ID, tc.take, ceremonyNow)
		wantErr(t, "TakeCeremony of a "+tc.put+" ceremony as "+tc.take, err, auth.ErrNotFound)
		_, err = s.TakeCeremony(ctx, c.ID, tc.put, ceremonyNow)
		wantErr(t, "TakeCeremony after an attempt of another purpose", err, auth.ErrNotFound)
	}
}

func testTakeCeremonyExpired(t *testing.T, s auth.CeremonyStore) {
	// Expired at its ExpiresAt: the instant before it is the last that
	// takes it. Times at whole microseconds, so that the instants are the
	// same whatever precision a store keeps.
	ctx := t.Context()
	exp := now.Add(5 * time.Minute).Truncate(time.Microsecond)
	mk := func() *auth.Ceremony {
		c := newCeremony(auth.CeremonyLogin, "")
		c.ExpiresAt = exp
		mustPutCeremony(t, s, c)
		return c
	}
	last := mk()
	got, err := s.TakeCeremony(ctx, last.ID, last.Purpose, exp.Add(-time.Microsecond))
	if err != nil {
		t.Errorf("TakeCeremony a microsecond before it expires: %v", err)
	} else {
		equal(t, "ceremony", got, last)
	}
	for _, at := range []time.Time{exp, exp.Add(time.Hour)} {
		c := mk()
		_, err := s.TakeCeremony(ctx, c.ID, c.Purpose, at)
		wantErr(t, "TakeCeremony of an expired ceremony", err, auth.ErrNotFound)
		// The attempt used it up: taking it at an earlier time (a node
		// whose clock lags) finds nothing either.
		_, err = s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
		wantErr(t, "TakeCeremony after an attempt once expired", err, auth.ErrNotFound)
	}
}

func testCeremonyUnknownIDs(t *testing.T, s auth.CeremonyStore) {
	// A store with rows in it, so "unknown" is not "empty".
	c := newCeremony(auth.CeremonyLogin, "")
	mustPutCeremony(t, s, c)
	checkUnknownIDs(t, []call{
		{"TakeCeremony", func(ctx context.Context) error {
			_, err := s.TakeCeremony(ctx, newID(), auth.CeremonyLogin, ceremonyNow)
			return err
		}},
		{"TakeCeremony(\"\")", func(ctx context.Context) error {
			_, err := s.TakeCeremony(ctx, "", auth.CeremonyLogin, ceremonyNow)
			return err
		}},
	})
	checkTakeCeremony(t, s, c)
}

func testCeremonyCancelledContext(t *testing.T, s auth.CeremonyStore) {
	u := owner(t, s)
	c := newCeremony(auth.CeremonyRegister, u.ID)
	mustPutCeremony(t, s, c)
	refused := newCeremony(auth.CeremonyRegister, u.ID)
	checkCancelledCalls(t, []call{
		{"PutCeremony", func(ctx context.Context) error { return s.PutCeremony(ctx, refused) }},
		{"TakeCeremony", func(ctx context.Context) error {
			_, err := s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
			return err
		}},
	})
	// Nothing of the cancelled calls happened.
	_, err := s.TakeCeremony(t.Context(), refused.ID, refused.Purpose, ceremonyNow)
	wantErr(t, "TakeCeremony of the ceremony put with a cancelled context", err, auth.ErrNotFound)
	checkTakeCeremony(t, s, c)
}

func testCeremonyUnknownUser(t *testing.T, s userCeremonyStore) {
	ctx := t.Context()
	mustUser(t, s)
	c := newCeremony(auth.CeremonyRegister, newID())
	wantErr(t, "PutCeremony for an unknown user", s.PutCeremony(ctx, c), auth.ErrNotFound)
	_, err := s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
	wantErr(t, "TakeCeremony of the refused ceremony", err, auth.ErrNotFound)
}

func testDeleteUserDeletesCeremonies(t *testing.T, s userCeremonyStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	mfa := newCeremony(auth.CeremonyMFA, u.ID)
	mfa.MFATokenID = newID()
	gone := []*auth.Ceremony{newCeremony(auth.CeremonyRegister, u.ID), mfa}
	kept := []*auth.Ceremony{newCeremony(auth.CeremonyRegister, v.ID), newCeremony(auth.CeremonyLogin, "")}
	for _, c := range append(gone, kept...) {
		mustPutCeremony(t, s, c)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, c := range gone {
		_, err := s.TakeCeremony(ctx, c.ID, c.Purpose, ceremonyNow)
		wantErr(t, "TakeCeremony of a deleted user's "+c.Purpose+" ceremony", err, auth.ErrNotFound)
	}
	for _, c := range kept {
		checkTakeCeremony(t, s, c)
	}
}

// newCeremony returns a ceremony of purpose for userID ("" for none), made
// at now and valid for five minutes, whose data holds every byte value.
func newCeremony(purpose, userID string) *auth.Ceremony {
	return &auth.Ceremony{
		ID:        newID(),
		Purpose:   purpose,
		UserID:    userID,
		Data:      everyByteThen(randomBytes(32)),
		CreatedAt: now,
		ExpiresAt: now.Add(5 * time.Minute),
	}
}

func mustPutCeremony(t *testing.T, s auth.CeremonyStore, c *auth.Ceremony) {
	t.Helper()
	if err := s.PutCeremony(t.Context(), c); err != nil {
		t.Fatalf("PutCeremony(%s %s): %v", c.Purpose, c.ID, err)
	}
}

// checkTakeCeremony checks that TakeCeremony, at ceremonyNow, returns
// want.
func checkTakeCeremony(t *testing.T, s auth.CeremonyStore, want *auth.Ceremony) {
	t.Helper()
	got, err := s.TakeCeremony(t.Context(), want.ID, want.Purpose, ceremonyNow)
	if err != nil {
		t.Errorf("TakeCeremony(%s %s): %v", want.Purpose, want.ID, err)
		return
	}
	equal(t, "ceremony", got, want)
}
