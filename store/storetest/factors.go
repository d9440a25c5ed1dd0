package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// factorsTogetherStore keeps users, factors and MFA tokens in one
// database.
type factorsTogetherStore interface {
	auth.UserStore
	auth.FactorStore
	auth.MFATokenStore
}

// Factors runs the conformance tests of auth.FactorStore.
func Factors(t *testing.T, open func(t *testing.T) auth.FactorStore) {
	t.Helper()
	runGroup(t, "Factors", open, factorTests)
}

var factorTests = []storeTest[auth.FactorStore]{
	{"PutAndList", testPutFactors},
	{"ReplaceUnconfirmed", testReplaceUnconfirmedFactor},
	{"ReplaceUnconfirmedConcurrently", testReplaceFactorConcurrently},
	{"SecondConfirmed", testSecondConfirmedFactor},
	{"PutConfirmedConcurrently", testPutConfirmedFactorConcurrently},
	{"Confirm", testConfirmFactor},
	{"ConfirmConcurrently", testConfirmFactorConcurrently},
	{"TOTPStepReplay", testUseTOTPStep},
	{"TOTPStepConcurrently", testUseTOTPStepConcurrently},
	{"Delete", testDeleteFactor},
	{"BackupCode/ReplaceWholesale", testReplaceBackupCodes},
	{"BackupCode/ReplaceIsAtomic", testReplaceBackupCodesAtomic},
	{"BackupCode/ReplaceConcurrently", testReplaceBackupCodesConcurrently},
	{"BackupCode/UseOnce", testUseBackupCode},
	{"BackupCode/UseConcurrently", testUseBackupCodeConcurrently},
	{"UnknownIDs", testFactorUnknownIDs},
	{"CancelledContext", testFactorCancelledContext},
}

// factorsTogetherTests check a store that keeps users, factors and MFA
// tokens in one database.
var factorsTogetherTests = []storeTest[factorsTogetherStore]{
	{"Factor/UnknownUser", testFactorUnknownUser},
	{"Factor/DeleteUserCascades", testDeleteUserDeletesFactors},
	{"Factor/UserNoFactors", testUserNoFactors},
}

func testPutFactors(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	totp := newTOTP(u.ID, base)
	totp.LastStep = 12345
	email := newEmailFactor(u.ID, base.Add(time.Second))
	// Two at one instant: the ID orders them.
	a, b := newTOTP(v.ID, base), newEmailFactor(v.ID, base)
	for _, f := range []*auth.Factor{email, totp, b, a} {
		mustPutFactor(t, s, f)
	}
	checkFactors(t, s, u.ID, totp, email)
	if b.ID < a.ID {
		a, b = b, a
	}
	checkFactors(t, s, v.ID, a, b)
	got, err := s.Factors(ctx, newID())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Factors(unknown user) = %v, %v; want an empty list", got, err)
	}
	if totp.Confirmed() || !email.Confirmed() {
		t.Errorf("Confirmed() = %v, %v; want false, true", totp.Confirmed(), email.Confirmed())
	}
}

func testReplaceUnconfirmedFactor(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u := owner(t, s)
	old := newTOTP(u.ID, base)
	mustPutFactor(t, s, old)
	email := newEmailFactor(u.ID, base)
	email.ConfirmedAt = nil // an unconfirmed factor of another kind
	mustPutFactor(t, s, email)

	// Enrolling again replaces the enrolment: its own ID, secret and time.
	next := newTOTP(u.ID, base.Add(time.Minute))
	next.LastStep = 7
	mustPutFactor(t, s, next)
	checkFactors(t, s, u.ID, email, next)
	// The old enrolment is gone by every way of reaching it.
	_, err := s.UseTOTPStep(ctx, old.ID, 99)
	wantErr(t, "UseTOTPStep of the replaced enrolment", err, auth.ErrNotFound)
	err = s.ConfirmFactor(ctx, old.ID, 99, now, nil)
	wantErr(t, "ConfirmFactor of the replaced enrolment", err, auth.ErrNotFound)
	checkFactors(t, s, u.ID, email, next)

	// A confirmed factor replaces the enrolment of its kind too.
	confirmed := newTOTP(u.ID, base.Add(2*time.Minute))
	at := now
	confirmed.ConfirmedAt = &at
	mustPutFactor(t, s, confirmed)
	checkFactors(t, s, u.ID, email, confirmed)
	_, err = s.UseTOTPStep(ctx, next.ID, 99)
	wantErr(t, "UseTOTPStep of the enrolment a confirmed factor replaced", err, auth.ErrNotFound)
}

func testReplaceFactorConcurrently(t *testing.T, s auth.FactorStore) {
	// Enrolment started twice at once (a double click, two tabs): both
	// succeed and one enrolment is left.
	ctx := t.Context()
	u := owner(t, s)
	const n = 16
	fs := staggered(n, func(at time.Time) *auth.Factor { return newTOTP(u.ID, at) })
	noErrors(t, "PutFactor", raceAll(n, func(i int) error { return s.PutFactor(ctx, fs[i]) }))
	got, err := s.Factors(ctx, u.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("Factors after %d concurrent enrolments = %d factors, %v; want 1", n, len(got), err)
	}
	i := slices.IndexFunc(fs[:], func(f *auth.Factor) bool { return f.ID == got[0].ID })
	if i < 0 {
		t.Fatalf("the factor left, %s, is none of those put", got[0].ID)
	}
	checkFactor(t, &got[0], fs[i])
}

func testSecondConfirmedFactor(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u := owner(t, s)
	email := newEmailFactor(u.ID, base)
	mustPutFactor(t, s, email)
	again := newEmailFactor(u.ID, base.Add(time.Minute))
	err := s.PutFactor(ctx, again)
	wantErr(t, "PutFactor of a second confirmed email factor", err, auth.ErrFactorExists)
	if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrNotFound) {
		t.Errorf("PutFactor of a second confirmed factor: %v also matches ErrUnavailable or ErrNotFound", err)
	}
	pending := newEmailFactor(u.ID, base.Add(time.Minute))
	pending.ConfirmedAt = nil
	wantErr(t, "PutFactor of an unconfirmed email factor beside a confirmed one", s.PutFactor(ctx, pending), auth.ErrFactorExists)
	checkFactors(t, s, u.ID, email)

	// A confirmed TOTP factor: a new enrolment of the kind is refused
	// (the old factor must be deleted first), and changes nothing.
	totp := newTOTP(u.ID, base.Add(time.Second))
	mustPutFactor(t, s, totp)
	codes := newHashes(10)
	if err := s.ConfirmFactor(ctx, totp.ID, 100, now, codes); err != nil {
		t.Fatalf("ConfirmFactor: %v", err)
	}
	enrol := newTOTP(u.ID, base.Add(2*time.Second))
	wantErr(t, "PutFactor of a TOTP enrolment beside a confirmed TOTP factor", s.PutFactor(ctx, enrol), auth.ErrFactorExists)
	second := newTOTP(u.ID, base.Add(3*time.Second))
	second.ConfirmedAt = &now
	wantErr(t, "PutFactor of a second confirmed TOTP factor", s.PutFactor(ctx, second), auth.ErrFactorExists)
	confirmed := *totp
	confirmed.LastStep, confirmed.ConfirmedAt = 100, &now
	checkFactors(t, s, u.ID, email, &confirmed)
	_, err = s.UseTOTPStep(ctx, enrol.ID, 1)
	wantErr(t, "UseTOTPStep of the refused enrolment", err, auth.ErrNotFound)
	checkBackupCodesLeft(t, s, u.ID, 10)
	useCode(t, s, u.ID, codes[3], true, 9)

	// Once deleted, the kind can be enrolled again.
	if err := s.DeleteFactor(ctx, u.ID, auth.FactorTOTP); err != nil {
		t.Fatalf("DeleteFactor: %v", err)
	}
	mustPutFactor(t, s, enrol)
	checkFactors(t, s, u.ID, email, enrol)
}

func testPutConfirmedFactorConcurrently(t *testing.T, s auth.FactorStore) {
	// The email factor turned on twice at once: one is stored, the other
	// returns ErrFactorExists.
	ctx := t.Context()
	u := owner(t, s)
	const n = 16
	fs := staggered(n, func(at time.Time) *auth.Factor { return newEmailFactor(u.ID, at) })
	errs := raceAll(n, func(i int) error { return s.PutFactor(ctx, fs[i]) })
	winner := oneSucceeds(t, "PutFactor", errs, auth.ErrFactorExists)
	checkFactors(t, s, u.ID, fs[winner])
}

func testFactorUnknownUser(t *testing.T, s factorsTogetherStore) {
	ctx := t.Context()
	mustUser(t, s)
	for _, f := range []*auth.Factor{newTOTP(newID(), base), newEmailFactor(newID(), base)} {
		wantErr(t, "PutFactor for an unknown user", s.PutFactor(ctx, f), auth.ErrNotFound)
		if got, err := s.Factors(ctx, f.UserID); err != nil || len(got) != 0 {
			t.Errorf("Factors of the unknown user = %d, %v; want none", len(got), err)
		}
	}
	tok := newMFAToken(newID())
	wantErr(t, "CreateMFAToken for an unknown user", s.CreateMFAToken(ctx, tok), auth.ErrNotFound)
	_, err := s.MFATokenByHash(ctx, tok.Hash)
	wantErr(t, "MFATokenByHash of the refused token", err, auth.ErrNotFound)
}

func testConfirmFactor(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	f := newTOTP(u.ID, base)
	mustPutFactor(t, s, f)
	old := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, old)
	theirs := newHashes(10)
	mustReplaceBackupCodes(t, s, v.ID, theirs)

	codes := newHashes(10)
	at := now
	if err := s.ConfirmFactor(ctx, f.ID, 58_000_123, at, codes); err != nil {
		t.Fatalf("ConfirmFactor: %v", err)
	}
	want := *f
	want.LastStep, want.ConfirmedAt = 58_000_123, &at
	checkFactors(t, s, u.ID, &want)
	got, err := s.Factors(ctx, u.ID)
	if err == nil && len(got) == 1 && !got[0].Confirmed() {
		t.Error("Confirmed() of the confirmed factor = false")
	}
	// The user's codes were replaced: the old set is dead, the new one
	// works; the other user's set is untouched.
	checkBackupCodesLeft(t, s, u.ID, 10)
	if ok, n, err := s.UseBackupCode(ctx, u.ID, old[0], now); err != nil || ok || n != 10 {
		t.Errorf("UseBackupCode(old code) = %v, %d, %v; want false, 10", ok, n, err)
	}
	if ok, n, err := s.UseBackupCode(ctx, u.ID, codes[0], now); err != nil || !ok || n != 9 {
		t.Errorf("UseBackupCode(new code) = %v, %d, %v; want true, 9", ok, n, err)
	}
	checkBackupCodesLeft(t, s, v.ID, 10)

	// Confirming again is refused and changes nothing: not the time, not
	// the step, not the codes.
	err = s.ConfirmFactor(ctx, f.ID, 58_000_999, at.Add(time.Hour), newHashes(10))
	wantErr(t, "ConfirmFactor of a confirmed factor", err, auth.ErrNotFound)
	checkFactors(t, s, u.ID, &want)
	checkBackupCodesLeft(t, s, u.ID, 9)

	// A confirmation with no codes leaves the user's codes as they are
	// (an email factor turned on beside a TOTP factor).
	for _, none := range [][][]byte{nil, {}} {
		g := newTOTP(v.ID, base)
		mustPutFactor(t, s, g)
		if err := s.ConfirmFactor(ctx, g.ID, 1, at, none); err != nil {
			t.Fatalf("ConfirmFactor with no codes: %v", err)
		}
		checkBackupCodesLeft(t, s, v.ID, 10)
		useCode(t, s, v.ID, theirs[0], true, 9)
		mustReplaceBackupCodes(t, s, v.ID, theirs)
		if err := s.DeleteFactor(ctx, v.ID, auth.FactorTOTP); err != nil {
			t.Fatalf("DeleteFactor: %v", err)
		}
	}
}

func testConfirmFactorConcurrently(t *testing.T, s auth.FactorStore) {
	// Two verify requests with the same good code at once: one confirms,
	// and exactly its backup codes (the ones shown) are the user's.
	ctx := t.Context()
	u := owner(t, s)
	f := newTOTP(u.ID, base)
	mustPutFactor(t, s, f)
	const n = 16
	var sets [n][][]byte
	for i := range n {
		sets[i] = newHashes(10)
	}
	errs := raceAll(n, func(i int) error { return s.ConfirmFactor(ctx, f.ID, int64(1000+i), now, sets[i]) })
	winner := oneSucceeds(t, "ConfirmFactor", errs, auth.ErrNotFound)
	want := *f
	want.LastStep, want.ConfirmedAt = int64(1000+winner), &now
	checkFactors(t, s, u.ID, &want)
	checkBackupCodesLeft(t, s, u.ID, 10)
	for i, set := range sets {
		ok, _, err := s.UseBackupCode(ctx, u.ID, set[0], now)
		if err != nil || ok != (i == winner) {
			t.Errorf("UseBackupCode of set #%d (winner #%d) = %v, %v", i, winner, ok, err)
		}
	}
}

func testUseTOTPStep(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u := owner(t, s)
	f := newTOTP(u.ID, base)
	f.LastStep = 100
	mustPutFactor(t, s, f)
	other := newEmailFactor(u.ID, base.Add(time.Second))
	other.LastStep = 500
	mustPutFactor(t, s, other)
	for _, tc := range []struct {
		step int64
		want bool
	}{
		{99, false},  // older than the last
		{100, false}, // the last one itself: a replay
		{101, true},
		{101, false}, // the same code twice
		{105, true},
		{103, false}, // an older window after a newer one
		{105, false},
		{106, true},
	} {
		if ok, err := s.UseTOTPStep(ctx, f.ID, tc.step); err != nil || ok != tc.want {
			t.Errorf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.want)
		}
	}
	want := *f
	want.LastStep = 106
	checkFactors(t, s, u.ID, &want, other)
}

func testUseTOTPStepConcurrently(t *testing.T, s auth.FactorStore) {
	// A shoulder-surfed code replayed while the user signs in with it:
	// one of them gets in.
	ctx := t.Context()
	u := owner(t, s)
	f := newTOTP(u.ID, base)
	f.ConfirmedAt = &now
	mustPutFactor(t, s, f)
	won, errs := race(16, func(int) (bool, error) { return s.UseTOTPStep(ctx, f.ID, 58_000_000) })
	oneWins(t, "UseTOTPStep", won, errs)
	want := *f
	want.LastStep = 58_000_000
	checkFactors(t, s, u.ID, &want)
}

func testDeleteFactor(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	totp := newTOTP(u.ID, base)
	totp.ConfirmedAt = &now
	email := newEmailFactor(u.ID, base.Add(time.Second))
	theirs := newTOTP(v.ID, base)
	theirs.ConfirmedAt = &now
	for _, f := range []*auth.Factor{totp, email, theirs} {
		mustPutFactor(t, s, f)
	}
	codes := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, codes)
	if err := s.DeleteFactor(ctx, u.ID, auth.FactorTOTP); err != nil {
		t.Fatalf("DeleteFactor: %v", err)
	}
	checkFactors(t, s, u.ID, email)
	_, err := s.UseTOTPStep(ctx, totp.ID, 1)
	wantErr(t, "UseTOTPStep of the deleted factor", err, auth.ErrNotFound)
	wantErr(t, "DeleteFactor again", s.DeleteFactor(ctx, u.ID, auth.FactorTOTP), auth.ErrNotFound)
	wantErr(t, "DeleteFactor of an unknown user", s.DeleteFactor(ctx, newID(), auth.FactorEmail), auth.ErrNotFound)
	// The other user's factor and this user's codes stay.
	checkFactors(t, s, v.ID, theirs)
	checkBackupCodesLeft(t, s, u.ID, 10)

	// An enrolment under way is deleted as well.
	enrol := newTOTP(u.ID, base.Add(time.Hour))
	mustPutFactor(t, s, enrol)
	if err := s.DeleteFactor(ctx, u.ID, auth.FactorTOTP); err != nil {
		t.Fatalf("DeleteFactor(enrolment): %v", err)
	}
	wantErr(t, "ConfirmFactor of the deleted enrolment", s.ConfirmFactor(ctx, enrol.ID, 1, now, nil), auth.ErrNotFound)
	if err := s.DeleteFactor(ctx, u.ID, auth.FactorEmail); err != nil {
		t.Fatalf("DeleteFactor(email): %v", err)
	}
	checkFactors(t, s, u.ID)
	// The kind can be enrolled and confirmed afresh.
	again := newTOTP(u.ID, base.Add(2*time.Hour))
	mustPutFactor(t, s, again)
	if err := s.ConfirmFactor(ctx, again.ID, 5, now, newHashes(10)); err != nil {
		t.Errorf("ConfirmFactor after DeleteFactor: %v", err)
	}
}

func testReplaceBackupCodes(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	first := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, first)
	checkBackupCodesLeft(t, s, u.ID, 10)
	// A hash may be another user's code too.
	mustReplaceBackupCodes(t, s, v.ID, [][]byte{first[0], first[1]})
	useCode(t, s, u.ID, first[0], true, 9)

	second := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, second)
	checkBackupCodesLeft(t, s, u.ID, 10)
	for _, h := range first {
		useCode(t, s, u.ID, h, false, 10)
	}
	useCode(t, s, u.ID, second[9], true, 9)
	// The other user's codes were left alone.
	checkBackupCodesLeft(t, s, v.ID, 2)
	useCode(t, s, v.ID, first[0], true, 1)

	// A used code can come back in a new set, unused.
	mustReplaceBackupCodes(t, s, u.ID, [][]byte{second[9]})
	useCode(t, s, u.ID, second[9], true, 0)

	for _, none := range [][][]byte{nil, {}} {
		mustReplaceBackupCodes(t, s, u.ID, newHashes(3))
		mustReplaceBackupCodes(t, s, u.ID, none)
		checkBackupCodesLeft(t, s, u.ID, 0)
	}
	wantErr(t, "ReplaceBackupCodes of an unknown user", s.ReplaceBackupCodes(ctx, newID(), newHashes(2)), auth.ErrNotFound)
	wantErr(t, "ReplaceBackupCodes(nil) of an unknown user", s.ReplaceBackupCodes(ctx, newID(), nil), auth.ErrNotFound)
}

func testReplaceBackupCodesAtomic(t *testing.T, s auth.FactorStore) {
	// A set that cannot be stored (a hash twice) leaves the old set.
	ctx := t.Context()
	u := owner(t, s)
	old := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, old)
	bad := newHashes(10)
	bad[7] = bad[2]
	err := s.ReplaceBackupCodes(ctx, u.ID, bad)
	if err == nil {
		t.Fatal("ReplaceBackupCodes with a hash twice succeeded")
	}
	if errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ReplaceBackupCodes with a hash twice = %v; not a missing row", err)
	}
	checkBackupCodesLeft(t, s, u.ID, 10)
	useCode(t, s, u.ID, old[5], true, 9)
	useCode(t, s, u.ID, bad[0], false, 9)

	f := newTOTP(u.ID, base)
	mustPutFactor(t, s, f)
	if err := s.ConfirmFactor(ctx, f.ID, 1, now, bad); err == nil {
		t.Fatal("ConfirmFactor with a hash twice succeeded")
	}
	checkFactors(t, s, u.ID, f) // still unconfirmed
	checkBackupCodesLeft(t, s, u.ID, 9)
}

func testReplaceBackupCodesConcurrently(t *testing.T, s auth.FactorStore) {
	// "New backup codes" pressed twice at once: the user ends with one
	// whole set, the one of the last to commit, not with both.
	ctx := t.Context()
	u := owner(t, s)
	mustReplaceBackupCodes(t, s, u.ID, newHashes(10))
	const n = 8
	var sets [n][][]byte
	for i := range n {
		sets[i] = newHashes(10)
	}
	noErrors(t, "ReplaceBackupCodes", raceAll(n, func(i int) error { return s.ReplaceBackupCodes(ctx, u.ID, sets[i]) }))
	checkBackupCodesLeft(t, s, u.ID, 10)
	live := 0
	for _, set := range sets {
		ok, _, err := s.UseBackupCode(ctx, u.ID, set[0], now)
		if err != nil {
			t.Fatalf("UseBackupCode: %v", err)
		}
		if ok {
			live++
		}
	}
	if live != 1 {
		t.Errorf("codes of %d sets work after %d concurrent replacements, want of exactly 1", live, n)
	}
}

func testUseBackupCode(t *testing.T, s auth.FactorStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	codes := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, codes)
	theirs := newHashes(1)
	mustReplaceBackupCodes(t, s, v.ID, theirs)

	useCode(t, s, u.ID, codes[4], true, 9)
	useCode(t, s, u.ID, codes[4], false, 9) // single use
	useCode(t, s, u.ID, randomBytes(32), false, 9)
	useCode(t, s, u.ID, nil, false, 9)
	useCode(t, s, u.ID, theirs[0], false, 9) // another user's code
	checkBackupCodesLeft(t, s, v.ID, 1)
	left := 9
	for i, h := range codes {
		if i != 4 {
			left--
			useCode(t, s, u.ID, h, true, left)
		}
	}
	checkBackupCodesLeft(t, s, u.ID, 0)
	useCode(t, s, u.ID, codes[0], false, 0)
	if ok, n, err := s.UseBackupCode(ctx, newID(), codes[0], now); err != nil || ok || n != 0 {
		t.Errorf("UseBackupCode(unknown user) = %v, %d, %v; want false, 0, nil", ok, n, err)
	}
	checkBackupCodesLeft(t, s, newID(), 0)
}

func testUseBackupCodeConcurrently(t *testing.T, s auth.FactorStore) {
	// One code sent twice at once signs in once.
	ctx := t.Context()
	u := owner(t, s)
	codes := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, codes)
	type use struct {
		used bool
		left int
	}
	uses, errs := race(16, func(int) (use, error) {
		used, left, err := s.UseBackupCode(ctx, u.ID, codes[0], now)
		return use{used, left}, err
	})
	won := make([]bool, len(uses))
	for i, u := range uses {
		won[i] = u.used
		if errs[i] == nil && u.left != 9 {
			t.Errorf("UseBackupCode #%d returned %d remaining, want 9", i, u.left)
		}
	}
	oneWins(t, "UseBackupCode", won, errs)
	checkBackupCodesLeft(t, s, u.ID, 9)
}

func testDeleteUserDeletesFactors(t *testing.T, s factorsTogetherStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	var userFactors []*auth.Factor
	for _, id := range []string{u.ID, v.ID} {
		totp, email := newTOTP(id, base), newEmailFactor(id, base)
		totp.ConfirmedAt = &now
		mustPutFactor(t, s, totp)
		mustPutFactor(t, s, email)
		mustReplaceBackupCodes(t, s, id, newHashes(10))
		if id == v.ID {
			userFactors = []*auth.Factor{totp, email}
			if email.ID < totp.ID {
				userFactors = []*auth.Factor{email, totp}
			}
		}
	}
	tok, kept := newMFAToken(u.ID), newMFAToken(v.ID)
	mustCreateMFAToken(t, s, tok)
	mustCreateMFAToken(t, s, kept)
	as, audits := s.(auth.AuditStore)
	ev := newAuditEvent(u.ID, base)
	if audits {
		if err := as.AddAuditEvent(ctx, ev); err != nil {
			t.Fatalf("AddAuditEvent: %v", err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkFactors(t, s, u.ID)
	checkBackupCodesLeft(t, s, u.ID, 0)
	_, err := s.MFATokenByHash(ctx, tok.Hash)
	wantErr(t, "MFATokenByHash of the deleted user's token", err, auth.ErrNotFound)
	// The other user keeps everything.
	checkFactors(t, s, v.ID, userFactors...)
	checkBackupCodesLeft(t, s, v.ID, 10)
	checkStoredMFAToken(t, s, kept)
	// The audit trail outlives the user.
	if audits {
		got, err := as.AuditEvents(ctx, u.ID, "", 0)
		if err != nil || len(got) != 1 {
			t.Fatalf("AuditEvents of the deleted user = %d events, %v; want its event kept", len(got), err)
		}
		checkAuditEvent(t, &got[0], ev)
	}
	// A new user of the same email starts with no factors.
	again := newUser("again")
	again.Email = u.Email
	mustCreateUser(t, s, again)
	checkFactors(t, s, again.ID)
}

func testFactorUnknownIDs(t *testing.T, s auth.FactorStore) {
	// A store with rows in it, so "unknown" is not "empty".
	u := owner(t, s)
	mustPutFactor(t, s, newTOTP(u.ID, base))
	mustReplaceBackupCodes(t, s, u.ID, newHashes(2))
	checkUnknownIDs(t, []call{
		{"ConfirmFactor", func(ctx context.Context) error { return s.ConfirmFactor(ctx, newID(), 1, now, newHashes(1)) }},
		{"UseTOTPStep", func(ctx context.Context) error { _, err := s.UseTOTPStep(ctx, newID(), 1); return err }},
		{"DeleteFactor", func(ctx context.Context) error { return s.DeleteFactor(ctx, newID(), auth.FactorTOTP) }},
		{"DeleteFactor(unknown kind)", func(ctx context.Context) error { return s.DeleteFactor(ctx, u.ID, "sms") }},
		{"ReplaceBackupCodes", func(ctx context.Context) error { return s.ReplaceBackupCodes(ctx, newID(), newHashes(1)) }},
	})
}

func testFactorCancelledContext(t *testing.T, s auth.FactorStore) {
	u := owner(t, s)
	f := newTOTP(u.ID, base)
	f.LastStep = 10
	mustPutFactor(t, s, f)
	codes := newHashes(10)
	mustReplaceBackupCodes(t, s, u.ID, codes)
	checkCancelledCalls(t, []call{
		{"PutFactor", func(ctx context.Context) error { return s.PutFactor(ctx, newTOTP(u.ID, base)) }},
		{"PutFactor(confirmed)", func(ctx context.Context) error { return s.PutFactor(ctx, newEmailFactor(u.ID, base)) }},
		{"Factors", func(ctx context.Context) error { _, err := s.Factors(ctx, u.ID); return err }},
		{"ConfirmFactor", func(ctx context.Context) error { return s.ConfirmFactor(ctx, f.ID, 11, now, newHashes(10)) }},
		{"UseTOTPStep", func(ctx context.Context) error { _, err := s.UseTOTPStep(ctx, f.ID, 11); return err }},
		{"DeleteFactor", func(ctx context.Context) error { return s.DeleteFactor(ctx, u.ID, auth.FactorTOTP) }},
		{"ReplaceBackupCodes", func(ctx context.Context) error { return s.ReplaceBackupCodes(ctx, u.ID, nil) }},
		{"UseBackupCode", func(ctx context.Context) error { _, _, err := s.UseBackupCode(ctx, u.ID, codes[0], now); return err }},
		{"BackupCodesLeft", func(ctx context.Context) error { _, err := s.BackupCodesLeft(ctx, u.ID); return err }},
	})
	// Nothing of the cancelled calls happened.
	checkFactors(t, s, u.ID, f)
	checkBackupCodesLeft(t, s, u.ID, 10)
}

// staggered returns n factors made by mk, created a millisecond apart from
// base, for the races of enrolment.
func staggered(n int, mk func(created time.Time) *auth.Factor) []*auth.Factor {
	fs := make([]*auth.Factor, n)
	for i := range fs {
		fs[i] = mk(base.Add(time.Duration(i) * time.Millisecond))
	}
	return fs
}

// newTOTP returns an unconfirmed TOTP factor of the user, with a secret
// holding every byte value.
func newTOTP(userID string, created time.Time) *auth.Factor {
	return &auth.Factor{
		ID:        newID(),
		UserID:    userID,
		Kind:      auth.FactorTOTP,
		Secret:    everyByteThen(randomBytes(28)),
		CreatedAt: created,
	}
}

// newEmailFactor returns a confirmed email factor (no secret) of the user.
func newEmailFactor(userID string, created time.Time) *auth.Factor {
	confirmed := created
	return &auth.Factor{
		ID:          newID(),
		UserID:      userID,
		Kind:        auth.FactorEmail,
		CreatedAt:   created,
		ConfirmedAt: &confirmed,
	}
}

func mustPutFactor(t *testing.T, s auth.FactorStore, f *auth.Factor) {
	t.Helper()
	if err := s.PutFactor(t.Context(), f); err != nil {
		t.Fatalf("PutFactor(%s %s): %v", f.Kind, f.ID, err)
	}
}

// newHashes returns n distinct code hashes.
func newHashes(n int) [][]byte {
	hs := make([][]byte, n)
	for i := range hs {
		hs[i] = randomBytes(32)
	}
	return hs
}

func mustReplaceBackupCodes(t *testing.T, s auth.FactorStore, userID string, hashes [][]byte) {
	t.Helper()
	if err := s.ReplaceBackupCodes(t.Context(), userID, hashes); err != nil {
		t.Fatalf("ReplaceBackupCodes: %v", err)
	}
}

func checkFactor(t *testing.T, got, want *auth.Factor) {
	t.Helper()
	equal(t, "factor", got, want)
}

// checkFactors checks that Factors(userID) returns want, in that order.
func checkFactors(t *testing.T, s auth.FactorStore, userID string, want ...*auth.Factor) {
	t.Helper()
	got, err := s.Factors(t.Context(), userID)
	if err != nil {
		t.Fatalf("Factors: %v", err)
	}
	var g, w []string
	for _, f := range got {
		g = append(g, f.Kind+":"+f.ID)
	}
	for _, f := range want {
		w = append(w, f.Kind+":"+f.ID)
	}
	if !slices.Equal(g, w) {
		t.Errorf("Factors = %v, want %v (oldest first)", g, w)
		return
	}
	for i := range got {
		checkFactor(t, &got[i], want[i])
	}
}

func checkBackupCodesLeft(t *testing.T, s auth.FactorStore, userID string, want int) {
	t.Helper()
	if n, err := s.BackupCodesLeft(t.Context(), userID); err != nil || n != want {
		t.Errorf("BackupCodesLeft = %d, %v; want %d", n, err, want)
	}
}

// useCode uses the backup code and checks the answer.
func useCode(t *testing.T, s auth.FactorStore, userID string, hash []byte, wantUsed bool, wantLeft int) {
	t.Helper()
	used, left, err := s.UseBackupCode(t.Context(), userID, hash, now)
	if err != nil || used != wantUsed || left != wantLeft {
		t.Errorf("UseBackupCode = %v, %d, %v; want %v, %d", used, left, err, wantUsed, wantLeft)
	}
}

// testUserNoFactors: every user lookup says whether the user has no
// confirmed second factor; an enrolment still waiting for its code does
// not count.
func testUserNoFactors(t *testing.T, s factorsTogetherStore) {
	ctx := t.Context()
	u, other := mustUser(t, s), mustUser(t, s)
	check := func(when string, want bool) {
		t.Helper()
		checkNoFactors(t, s, u, when, want)
	}
	check("no factor", true)
	mustPutFactor(t, s, newTOTP(u.ID, base))
	check("an enrolment waiting for its code", true)
	mustPutFactor(t, s, newEmailFactor(u.ID, base.Add(time.Second)))
	check("a confirmed factor", false)
	if o, err := s.UserByID(ctx, other.ID); err != nil || !o.NoFactors {
		t.Errorf("another user: %+v, %v; want NoFactors", o, err)
	}
	if err := s.DeleteFactor(ctx, u.ID, auth.FactorEmail); err != nil {
		t.Fatal(err)
	}
	check("the factor removed", true)
}

// checkNoFactors fails t unless every lookup of u (by ID, by email, in a
// listing) says NoFactors is want.
func checkNoFactors(t *testing.T, s auth.UserStore, u *auth.User, when string, want bool) {
	t.Helper()
	ctx := t.Context()
	byID, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	byEmail, err := s.UserByEmail(ctx, u.Email)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := s.ListUsers(ctx, auth.UserQuery{Query: u.Email})
	if err != nil || len(listed) != 1 {
		t.Fatalf("ListUsers: %v, %v", listed, err)
	}
	if byID.NoFactors != want || byEmail.NoFactors != want || listed[0].NoFactors != want {
		t.Errorf("%s: NoFactors by id %v, by email %v, listed %v; want %v", when, byID.NoFactors, byEmail.NoFactors, listed[0].NoFactors, want)
	}
}
