package storetest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// userPasskeyStore keeps users and their passkeys in one database.
type userPasskeyStore interface {
	auth.UserStore
	auth.PasskeyStore
}

// Passkeys runs the conformance tests of auth.PasskeyStore.
func Passkeys(t *testing.T, open func(t *testing.T) auth.PasskeyStore) {
	t.Helper()
	runGroup(t, "Passkeys", open, passkeyTests)
}

var passkeyTests = []storeTest[auth.PasskeyStore]{
	{"AddAndGet", testAddPasskeys},
	{"IDTaken", testPasskeyIDTaken},
	{"AddConcurrently", testAddPasskeyConcurrently},
	{"Transports", testPasskeyTransports},
	{"UseCounter", testUsePasskeyCounter},
	{"UseWithoutCounter", testUsePasskeyWithoutCounter},
	{"UseConcurrently", testUsePasskeyConcurrently},
	{"RenameOwnOnly", testRenamePasskey},
	{"DeleteOwnOnly", testDeletePasskey},
	{"UnknownIDs", testPasskeyUnknownIDs},
	{"CancelledContext", testPasskeyCancelledContext},
}

// passkeysTogetherTests check a store that keeps users and passkeys in one
// database.
var passkeysTogetherTests = []storeTest[userPasskeyStore]{
	{"Passkey/UnknownUser", testPasskeyUnknownUser},
	{"Passkey/DeleteUserCascades", testDeleteUserDeletesPasskeys},
	{"Passkey/UserNoFactors", testPasskeyUserNoFactors},
}

// testPasskeyUserNoFactors: a passkey is a second factor, so every user
// lookup says a user with one has factors (User.NoFactors false), and
// says so no more once it is removed.
func testPasskeyUserNoFactors(t *testing.T, s userPasskeyStore) {
	ctx := t.Context()
	u, other := mustUser(t, s), mustUser(t, s)
	check := func(when string, want bool) {
		t.Helper()
		checkNoFactors(t, s, u, when, want)
	}
	check("no passkey", true)
	p := newPasskey(u.ID, base)
	if err := s.AddPasskey(ctx, p); err != nil {
		t.Fatal(err)
	}
	check("a passkey", false)
	if o, err := s.UserByID(ctx, other.ID); err != nil || !o.NoFactors {
		t.Errorf("another user: %+v, %v; want NoFactors", o, err)
	}
	if err := s.DeletePasskey(ctx, u.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	check("the passkey removed", true)
}

func testAddPasskeys(t *testing.T, s auth.PasskeyStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	// Every field set, the counter at its highest.
	full := newPasskey(u.ID, base)
	full.SignCount = math.MaxUint32
	used := now
	full.LastUsedAt = &used
	// Every field at its zero, but for what a passkey always has.
	bare := &auth.Passkey{
		ID:        randomBytes(16),
		UserID:    u.ID,
		PublicKey: randomBytes(77),
		AAGUID:    make([]byte, 16),
		CreatedAt: base.Add(time.Second),
	}
	// Two at one instant: the ID orders them, byte-wise.
	a, b := newPasskey(v.ID, base), newPasskey(v.ID, base)
	a.ID, b.ID = []byte{0x00, 0xff}, []byte{0x01}
	for _, p := range []*auth.Passkey{bare, b, full, a} {
		mustAddPasskey(t, s, p)
	}
	checkPasskeys(t, s, u.ID, full, bare)
	checkPasskeys(t, s, v.ID, a, b)
	for _, p := range []*auth.Passkey{full, bare, a, b} {
		checkStoredPasskey(t, s, p)
	}
	got, err := s.Passkeys(ctx, newID())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Passkeys(unknown user) = %v, %v; want an empty list", got, err)
	}
	// A credential ID is matched exactly: not by a prefix, not by one
	// that only starts like it.
	for _, id := range [][]byte{full.ID[:len(full.ID)-1], append(slices.Clone(full.ID), 0)} {
		_, err := s.PasskeyByID(ctx, id)
		wantErr(t, "PasskeyByID of a near miss", err, auth.ErrNotFound)
	}
}

func testPasskeyIDTaken(t *testing.T, s auth.PasskeyStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	p := newPasskey(u.ID, base)
	mustAddPasskey(t, s, p)
	for _, who := range []string{v.ID, u.ID} {
		dup := newPasskey(who, base.Add(time.Minute))
		dup.ID = slices.Clone(p.ID)
		err := s.AddPasskey(ctx, dup)
		wantErr(t, "AddPasskey of a credential ID stored already", err, auth.ErrPasskeyExists)
		if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("AddPasskey of a taken credential ID: %v also matches ErrUnavailable or ErrNotFound", err)
		}
	}
	checkPasskeys(t, s, u.ID, p)
	checkPasskeys(t, s, v.ID)
	checkStoredPasskey(t, s, p)
}

func testAddPasskeyConcurrently(t *testing.T, s auth.PasskeyStore) {
	// One credential registered twice at once (two users, or one user's
	// two tabs): one is stored, every other returns ErrPasskeyExists.
	ctx := t.Context()
	users := []*auth.User{owner(t, s), owner(t, s)}
	id := randomBytes(32)
	const n = 16
	ps := make([]*auth.Passkey, n)
	for i := range ps {
		ps[i] = newPasskey(users[i%2].ID, base.Add(time.Duration(i)*time.Millisecond))
		ps[i].ID = id
	}
	errs := raceAll(n, func(i int) error { return s.AddPasskey(ctx, ps[i]) })
	winner := ps[oneSucceeds(t, "AddPasskey", errs, auth.ErrPasskeyExists)]
	checkStoredPasskey(t, s, winner)
	for _, u := range users {
		if u.ID == winner.UserID {
			checkPasskeys(t, s, u.ID, winner)
		} else {
			checkPasskeys(t, s, u.ID)
		}
	}
}

func testPasskeyTransports(t *testing.T, s auth.PasskeyStore) {
	// Transports come back as given, in order; none comes back nil.
	u := owner(t, s)
	for _, tc := range []struct {
		put, want []string
	}{
		{nil, nil},
		{[]string{}, nil},
		{[]string{"internal"}, []string{"internal"}},
		{[]string{"usb", "nfc", "ble", "smart-card", "hybrid", "internal"},
			[]string{"usb", "nfc", "ble", "smart-card", "hybrid", "internal"}},
		// A browser may report values of a later WebAuthn level; they are
		// kept as strings, whatever they hold.
		{[]string{"cable", "with,comma", `quote"d [x]`, "ünïcode", ""},
			[]string{"cable", "with,comma", `quote"d [x]`, "ünïcode", ""}},
	} {
		p := newPasskey(u.ID, base)
		p.Transports = tc.put
		mustAddPasskey(t, s, p)
		want := *p
		want.Transports = tc.want
		// equal tells nil from an empty list.
		checkStoredPasskey(t, s, &want)
	}
}

func testUsePasskeyCounter(t *testing.T, s auth.PasskeyStore) {
	ctx := t.Context()
	u := owner(t, s)
	for _, tc := range []struct {
		name         string
		stored, next uint32
		want         bool
	}{
		{"both zero", 0, 0, true},
		{"first count", 0, 1, true},
		{"up by one", 5, 6, true},
		{"up to the top", 5, math.MaxUint32, true},
		{"equal", 5, 5, false},
		{"equal at the top", math.MaxUint32, math.MaxUint32, false},
		{"lower", 5, 4, false},
		{"back to zero", 5, 0, false},
		{"from the top to zero", math.MaxUint32, 0, false},
	} {
		p := newPasskey(u.ID, base)
		p.SignCount, p.BackupState = tc.stored, false
		mustAddPasskey(t, s, p)
		at := now.Add(time.Minute)
		ok, err := s.UsePasskey(ctx, p.ID, tc.next, true, at)
		if err != nil || ok != tc.want {
			t.Errorf("%s: UsePasskey(stored %d, new %d) = %v, %v; want %v", tc.name, tc.stored, tc.next, ok, err, tc.want)
			continue
		}
		want := *p
		if tc.want {
			// The counter, the backup state and the time of use change.
			want.SignCount, want.BackupState, want.LastUsedAt = tc.next, true, &at
		}
		checkStoredPasskey(t, s, &want)
	}
}

func testUsePasskeyWithoutCounter(t *testing.T, s auth.PasskeyStore) {
	// An authenticator that keeps no counter (most synced passkeys) sends
	// zero every time: every use is accepted and recorded, and a backup
	// state that changes between uses is recorded too.
	ctx := t.Context()
	u := owner(t, s)
	p := newPasskey(u.ID, base)
	mustAddPasskey(t, s, p)
	want := *p
	for i, backedUp := range []bool{false, true, true, false} {
		at := now.Add(time.Duration(i) * time.Minute)
		if ok, err := s.UsePasskey(ctx, p.ID, 0, backedUp, at); err != nil || !ok {
			t.Fatalf("use %d of a passkey without a counter = %v, %v; want true", i+1, ok, err)
		}
		want.BackupState, want.LastUsedAt = backedUp, &at
		checkStoredPasskey(t, s, &want)
	}
	// Once it counts, zero is refused.
	at := now.Add(time.Hour)
	if ok, err := s.UsePasskey(ctx, p.ID, 1, true, at); err != nil || !ok {
		t.Fatalf("UsePasskey(1) after zeros = %v, %v; want true", ok, err)
	}
	want.SignCount, want.BackupState, want.LastUsedAt = 1, true, &at
	if ok, err := s.UsePasskey(ctx, p.ID, 0, false, at.Add(time.Minute)); err != nil || ok {
		t.Errorf("UsePasskey(0) after 1 = %v, %v; want false", ok, err)
	}
	checkStoredPasskey(t, s, &want)
}

func testUsePasskeyConcurrently(t *testing.T, s auth.PasskeyStore) {
	// One assertion replayed at once (or a cloned authenticator racing the
	// real one): of the uses of one counter value exactly one is accepted.
	ctx := t.Context()
	u := owner(t, s)
	p := newPasskey(u.ID, base)
	p.SignCount, p.BackupState = 3, false
	mustAddPasskey(t, s, p)
	at := raceConsume(t, "UsePasskey", func(at time.Time) (bool, error) {
		return s.UsePasskey(ctx, p.ID, 7, true, at)
	})
	want := *p
	want.SignCount, want.BackupState, want.LastUsedAt = 7, true, &at
	checkStoredPasskey(t, s, &want)
}

func testRenamePasskey(t *testing.T, s auth.PasskeyStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	mine, other, theirs := newPasskey(u.ID, base), newPasskey(u.ID, base.Add(time.Second)), newPasskey(v.ID, base)
	for _, p := range []*auth.Passkey{mine, other, theirs} {
		mustAddPasskey(t, s, p)
	}
	const name = `Work laptop — "Chrome" 🔑`
	if err := s.RenamePasskey(ctx, u.ID, mine.ID, name); err != nil {
		t.Fatalf("RenamePasskey: %v", err)
	}
	renamed := *mine
	renamed.Name = name
	checkStoredPasskey(t, s, &renamed)
	// Renaming to the same name is no error.
	if err := s.RenamePasskey(ctx, u.ID, mine.ID, name); err != nil {
		t.Errorf("RenamePasskey to its own name: %v", err)
	}
	// Another user's passkey cannot be renamed, by its owner's ID or not.
	wantErr(t, "RenamePasskey of another user's passkey", s.RenamePasskey(ctx, u.ID, theirs.ID, "mine now"), auth.ErrNotFound)
	wantErr(t, "RenamePasskey by another user", s.RenamePasskey(ctx, v.ID, mine.ID, "theirs now"), auth.ErrNotFound)
	checkPasskeys(t, s, u.ID, &renamed, other)
	checkPasskeys(t, s, v.ID, theirs)
}

func testDeletePasskey(t *testing.T, s auth.PasskeyStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	mine, other, theirs := newPasskey(u.ID, base), newPasskey(u.ID, base.Add(time.Second)), newPasskey(v.ID, base)
	for _, p := range []*auth.Passkey{mine, other, theirs} {
		mustAddPasskey(t, s, p)
	}
	wantErr(t, "DeletePasskey of another user's passkey", s.DeletePasskey(ctx, u.ID, theirs.ID), auth.ErrNotFound)
	wantErr(t, "DeletePasskey by another user", s.DeletePasskey(ctx, v.ID, mine.ID), auth.ErrNotFound)
	checkPasskeys(t, s, u.ID, mine, other)
	checkPasskeys(t, s, v.ID, theirs)

	if err := s.DeletePasskey(ctx, u.ID, mine.ID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	checkPasskeys(t, s, u.ID, other)
	checkPasskeys(t, s, v.ID, theirs)
	checkNotFound(t, "a deleted passkey", []call{
		{"PasskeyByID", func(ctx context.Context) error { _, err := s.PasskeyByID(ctx, mine.ID); return err }},
		{"UsePasskey", func(ctx context.Context) error { _, err := s.UsePasskey(ctx, mine.ID, 9, true, now); return err }},
		{"RenamePasskey", func(ctx context.Context) error { return s.RenamePasskey(ctx, u.ID, mine.ID, "again") }},
		{"DeletePasskey", func(ctx context.Context) error { return s.DeletePasskey(ctx, u.ID, mine.ID) }},
	})
	// Its credential ID is free again.
	again := newPasskey(v.ID, base.Add(time.Minute))
	again.ID = mine.ID
	mustAddPasskey(t, s, again)
	checkPasskeys(t, s, v.ID, theirs, again)
}

func testPasskeyUnknownIDs(t *testing.T, s auth.PasskeyStore) {
	// A store with rows in it, so "unknown" is not "empty".
	u := owner(t, s)
	p := newPasskey(u.ID, base)
	mustAddPasskey(t, s, p)
	unknown := randomBytes(32)
	checkUnknownIDs(t, []call{
		{"PasskeyByID", func(ctx context.Context) error { _, err := s.PasskeyByID(ctx, unknown); return err }},
		{"PasskeyByID(nil)", func(ctx context.Context) error { _, err := s.PasskeyByID(ctx, nil); return err }},
		{"UsePasskey", func(ctx context.Context) error { _, err := s.UsePasskey(ctx, unknown, 1, true, now); return err }},
		{"UsePasskey(nil)", func(ctx context.Context) error { _, err := s.UsePasskey(ctx, nil, 0, true, now); return err }},
		{"RenamePasskey", func(ctx context.Context) error { return s.RenamePasskey(ctx, u.ID, unknown, "x") }},
		{"RenamePasskey(unknown user)", func(ctx context.Context) error { return s.RenamePasskey(ctx, newID(), p.ID, "x") }},
		{"DeletePasskey", func(ctx context.Context) error { return s.DeletePasskey(ctx, u.ID, unknown) }},
		{"DeletePasskey(unknown user)", func(ctx context.Context) error { return s.DeletePasskey(ctx, newID(), p.ID) }},
	})
	checkPasskeys(t, s, u.ID, p)
}

func testPasskeyCancelledContext(t *testing.T, s auth.PasskeyStore) {
	u := owner(t, s)
	p := newPasskey(u.ID, base)
	p.SignCount = 10
	mustAddPasskey(t, s, p)
	checkCancelledCalls(t, []call{
		{"AddPasskey", func(ctx context.Context) error { return s.AddPasskey(ctx, newPasskey(u.ID, base)) }},
		{"Passkeys", func(ctx context.Context) error { _, err := s.Passkeys(ctx, u.ID); return err }},
		{"PasskeyByID", func(ctx context.Context) error { _, err := s.PasskeyByID(ctx, p.ID); return err }},
		{"UsePasskey", func(ctx context.Context) error { _, err := s.UsePasskey(ctx, p.ID, 11, true, now); return err }},
		{"RenamePasskey", func(ctx context.Context) error { return s.RenamePasskey(ctx, u.ID, p.ID, "cancelled") }},
		{"DeletePasskey", func(ctx context.Context) error { return s.DeletePasskey(ctx, u.ID, p.ID) }},
	})
	// Nothing of the cancelled calls happened.
	checkPasskeys(t, s, u.ID, p)
}

func testPasskeyUnknownUser(t *testing.T, s userPasskeyStore) {
	ctx := t.Context()
	mustUser(t, s)
	p := newPasskey(newID(), base)
	wantErr(t, "AddPasskey for an unknown user", s.AddPasskey(ctx, p), auth.ErrNotFound)
	_, err := s.PasskeyByID(ctx, p.ID)
	wantErr(t, "PasskeyByID of the refused passkey", err, auth.ErrNotFound)
	checkPasskeys(t, s, p.UserID)
}

func testDeleteUserDeletesPasskeys(t *testing.T, s userPasskeyStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	gone := []*auth.Passkey{newPasskey(u.ID, base), newPasskey(u.ID, base.Add(time.Second))}
	kept := newPasskey(v.ID, base)
	for _, p := range append(slices.Clone(gone), kept) {
		mustAddPasskey(t, s, p)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkPasskeys(t, s, u.ID)
	for _, p := range gone {
		checkNotFound(t, "a deleted user's passkey", []call{
			{"PasskeyByID", func(ctx context.Context) error { _, err := s.PasskeyByID(ctx, p.ID); return err }},
			{"UsePasskey", func(ctx context.Context) error { _, err := s.UsePasskey(ctx, p.ID, 9, true, now); return err }},
		})
	}
	// The other user keeps everything.
	checkPasskeys(t, s, v.ID, kept)
	// The credential IDs are free again: the same authenticator may
	// register them for a new account.
	again := newUser("again")
	again.Email = u.Email
	mustCreateUser(t, s, again)
	checkPasskeys(t, s, again.ID)
	p := newPasskey(again.ID, base.Add(time.Minute))
	p.ID = gone[0].ID
	mustAddPasskey(t, s, p)
	checkPasskeys(t, s, again.ID, p)
}

// newPasskey returns a synced passkey of the user with every field set:
// a public key holding every byte value, an AAGUID, transports.
func newPasskey(userID string, created time.Time) *auth.Passkey {
	return &auth.Passkey{
		ID:                randomBytes(32),
		UserID:            userID,
		Name:              "Google Password Manager",
		PublicKey:         everyByteThen(randomBytes(77)),
		AttestationFormat: "none",
		AAGUID:            randomBytes(16),
		Transports:        []string{"hybrid", "internal"},
		UserVerified:      true,
		BackupEligible:    true,
		BackupState:       true,
		CreatedAt:         created,
	}
}

func mustAddPasskey(t *testing.T, s auth.PasskeyStore, p *auth.Passkey) {
	t.Helper()
	if err := s.AddPasskey(t.Context(), p); err != nil {
		t.Fatalf("AddPasskey(%x): %v", p.ID, err)
	}
}

// checkStoredPasskey checks that PasskeyByID returns want.
func checkStoredPasskey(t *testing.T, s auth.PasskeyStore, want *auth.Passkey) {
	t.Helper()
	got, err := s.PasskeyByID(t.Context(), want.ID)
	if err != nil {
		t.Errorf("PasskeyByID(%x): %v", want.ID, err)
		return
	}
	equal(t, "passkey", got, want)
}

// checkPasskeys checks that Passkeys(userID) returns want, in that order.
func checkPasskeys(t *testing.T, s auth.PasskeyStore, userID string, want ...*auth.Passkey) {
	t.Helper()
	got, err := s.Passkeys(t.Context(), userID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	if got == nil {
		t.Errorf("Passkeys = nil, want an empty list")
	}
	if !slices.EqualFunc(got, want, func(g auth.Passkey, w *auth.Passkey) bool { return bytes.Equal(g.ID, w.ID) }) {
		t.Errorf("Passkeys = %x, want %x (oldest first, then by ID)",
			idsOf(got, func(p auth.Passkey) string { return string(p.ID) }),
			idsOf(want, func(p *auth.Passkey) string { return string(p.ID) }))
		return
	}
	for i := range got {
		equal(t, "passkey", &got[i], want[i])
	}
}
