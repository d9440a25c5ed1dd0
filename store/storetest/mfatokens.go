package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// mfaMessageStore keeps MFA tokens beside the outbox and can record an
// emailed code with its message in one transaction.
type mfaMessageStore interface {
	auth.MFATokenStore
	auth.MFAEmailCodeMessageSetter
	MessageStore
}

// MFATokens runs the conformance tests of auth.MFATokenStore.
func MFATokens(t *testing.T, open func(t *testing.T) auth.MFATokenStore) {
	t.Helper()
	runGroup(t, "MFATokens", open, mfaTokenTests)
}

var mfaTokenTests = []storeTest[auth.MFATokenStore]{
	{"CreateAndGet", testCreateMFAToken},
	{"FailCounts", testFailMFAToken},
	{"FailConcurrently", testFailMFATokenConcurrently},
	{"ConsumeOnce", testConsumeMFAToken},
	{"ConsumeConcurrently", testConsumeMFATokenConcurrently},
	{"EmailCode", testSetMFAEmailCode},
	{"DeleteUserTokens", testDeleteUserMFATokens},
	{"UnknownIDs", testMFATokenUnknownIDs},
	{"CancelledContext", testMFATokenCancelledContext},
}

// mfaTogetherTests check a store that keeps MFA tokens beside the outbox.
var mfaTogetherTests = []storeTest[mfaMessageStore]{
	{"MFAToken/EmailCodeEnqueuesAtomically", testMFAEmailCodeEnqueue},
}

func testCreateMFAToken(t *testing.T, s auth.MFATokenStore) {
	ctx := t.Context()
	u := owner(t, s)
	bare := newMFAToken(u.ID)
	mustCreateMFAToken(t, s, bare)
	got := checkStoredMFAToken(t, s, bare)
	if got.EmailCodeHash != nil || got.EmailCodeExpiresAt != nil || got.ConsumedAt != nil || got.Browser || got.RedirectTo != "" || got.SessionID != "" {
		t.Errorf("bare token = %+v; want no email code, not consumed, no browser, no redirect, no session", *got)
	}

	full := newMFAToken(u.ID)
	full.AMR = []string{auth.MethodPassword, "otp"}
	full.Attempts = 2
	full.EmailCodeHash = randomBytes(32)
	exp := base.Add(10 * time.Minute)
	full.EmailCodeExpiresAt = &exp
	consumed := now
	full.ConsumedAt = &consumed
	full.Browser = true
	full.RedirectTo = "https://app.example.com/after?x=1"
	full.SessionID = newID() // a step-up's
	mustCreateMFAToken(t, s, full)
	checkStoredMFAToken(t, s, full)

	_, err := s.MFATokenByHash(ctx, randomBytes(32))
	wantErr(t, "MFATokenByHash(unknown)", err, auth.ErrNotFound)
	_, err = s.MFATokenByHash(ctx, nil)
	wantErr(t, "MFATokenByHash(nil)", err, auth.ErrNotFound)
	dup := newMFAToken(u.ID)
	dup.Hash = bare.Hash
	if err := s.CreateMFAToken(ctx, dup); err == nil {
		t.Error("CreateMFAToken with a taken hash succeeded")
	} else if errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("CreateMFAToken with a taken hash = %v; want a plain error", err)
	}
	checkStoredMFAToken(t, s, bare)
}

func testFailMFAToken(t *testing.T, s auth.MFATokenStore) {
	ctx := t.Context()
	u := owner(t, s)
	tok := newMFAToken(u.ID)
	tok.Attempts = 1 // stored as given
	mustCreateMFAToken(t, s, tok)
	for want := 2; want <= 5; want++ {
		if n, err := s.FailMFAToken(ctx, tok.ID); err != nil || n != want {
			t.Fatalf("FailMFAToken = %d, %v; want %d", n, err, want)
		}
	}
	want := *tok
	want.Attempts = 5
	checkStoredMFAToken(t, s, &want)
}

func testFailMFATokenConcurrently(t *testing.T, s auth.MFATokenStore) {
	// Wrong codes sent at once must each count, or an attacker gets more
	// than five tries by sending them in parallel.
	ctx := t.Context()
	tok := mustMFAToken(t, s)
	const n = 16
	checkCountsOnce(t, "FailMFAToken", n, func() (int, error) { return s.FailMFAToken(ctx, tok.ID) })
	stored := *tok
	stored.Attempts = n
	checkStoredMFAToken(t, s, &stored)
}

func testConsumeMFAToken(t *testing.T, s auth.MFATokenStore) {
	ctx := t.Context()
	tok := mustMFAToken(t, s)
	checkConsumesOnce(t, "ConsumeMFAToken", func(at time.Time) (bool, error) { return s.ConsumeMFAToken(ctx, tok.ID, at) })
	want := *tok
	want.ConsumedAt = &now // the first use's time stays
	checkStoredMFAToken(t, s, &want)
}

func testConsumeMFATokenConcurrently(t *testing.T, s auth.MFATokenStore) {
	// The second step sent twice at once gives one session.
	ctx := t.Context()
	tok := mustMFAToken(t, s)
	at := raceConsume(t, "ConsumeMFAToken", func(at time.Time) (bool, error) { return s.ConsumeMFAToken(ctx, tok.ID, at) })
	want := *tok
	want.ConsumedAt = &at // the winner's time
	checkStoredMFAToken(t, s, &want)
}

func testSetMFAEmailCode(t *testing.T, s auth.MFATokenStore) {
	ctx := t.Context()
	tok := mustMFAToken(t, s)
	want := *tok
	for i := range 2 { // a code, then a new one in its place
		want.EmailCodeHash = randomBytes(32)
		exp := now.Add(time.Duration(5+i) * time.Minute)
		want.EmailCodeExpiresAt = &exp
		if err := s.SetMFAEmailCode(ctx, tok.ID, want.EmailCodeHash, exp); err != nil {
			t.Fatalf("SetMFAEmailCode: %v", err)
		}
		checkStoredMFAToken(t, s, &want)
	}
	// The code does not touch the count or the consumption.
	if n, err := s.FailMFAToken(ctx, tok.ID); err != nil || n != 1 {
		t.Fatalf("FailMFAToken = %d, %v; want 1", n, err)
	}
	want.Attempts = 1
	checkStoredMFAToken(t, s, &want)
	// A nil hash clears the code.
	if err := s.SetMFAEmailCode(ctx, tok.ID, nil, time.Time{}); err != nil {
		t.Fatalf("SetMFAEmailCode(nil): %v", err)
	}
	want.EmailCodeHash, want.EmailCodeExpiresAt = nil, nil
	checkStoredMFAToken(t, s, &want)
	err := s.SetMFAEmailCode(ctx, newID(), randomBytes(32), now)
	wantErr(t, "SetMFAEmailCode of an unknown token", err, auth.ErrNotFound)
}

func testMFAEmailCodeEnqueue(t *testing.T, s mfaMessageStore) {
	ms := s
	ctx := t.Context()
	u := owner(t, s)
	tok := newMFAToken(u.ID)
	mustCreateMFAToken(t, s, tok)
	m := newMessage(u.Email, base)
	m.Kind = "mfa_code"
	m.Status, m.NextAttemptAt = "", time.Time{} // defaults: pending, due at CreatedAt
	hash := randomBytes(32)
	exp := now.Add(5 * time.Minute)
	if err := s.SetMFAEmailCodeWithMessage(ctx, tok.ID, hash, exp, m); err != nil {
		t.Fatalf("SetMFAEmailCodeWithMessage: %v", err)
	}
	want := *tok
	want.EmailCodeHash, want.EmailCodeExpiresAt = hash, &exp
	checkStoredMFAToken(t, s, &want)
	claimed, err := ms.ClaimMessages(ctx, base, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimMessages = %d messages, %v; want the one enqueued", len(claimed), err)
	}
	wantMsg := *m
	wantMsg.Status, wantMsg.NextAttemptAt = auth.MessagePending, m.CreatedAt
	checkMessage(t, &claimed[0], &wantMsg, true)

	// A message that cannot be stored (its ID is taken) takes the code
	// down with it: the old code stays.
	dup := newMessage(u.Email, base)
	dup.ID = m.ID
	if err := s.SetMFAEmailCodeWithMessage(ctx, tok.ID, randomBytes(32), exp.Add(time.Minute), dup); err == nil {
		t.Fatal("SetMFAEmailCode with a duplicate message ID succeeded")
	} else if errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetMFAEmailCode with a duplicate message ID = %v; not a missing row", err)
	}
	checkStoredMFAToken(t, s, &want)

	// An unknown token enqueues nothing.
	lost := newMessage(u.Email, base)
	err = s.SetMFAEmailCodeWithMessage(ctx, newID(), randomBytes(32), exp, lost)
	wantErr(t, "SetMFAEmailCode of an unknown token", err, auth.ErrNotFound)
	msgs, err := ms.ListMessages(ctx, "", "", 100)
	if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID {
		t.Errorf("ListMessages = %v, %v; want only the first message", messageIDs(msgs), err)
	}
}

func testDeleteUserMFATokens(t *testing.T, s auth.MFATokenStore) {
	ctx := t.Context()
	u, v := owner(t, s), owner(t, s)
	pending, consumed, theirs := newMFAToken(u.ID), newMFAToken(u.ID), newMFAToken(v.ID)
	consumed.ConsumedAt = &now
	for _, tok := range []*auth.MFAToken{pending, consumed, theirs} {
		mustCreateMFAToken(t, s, tok)
	}
	if err := s.DeleteUserMFATokens(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUserMFATokens: %v", err)
	}
	checkNotFound(t, "a deleted pending token", []call{
		{"MFATokenByHash", func(ctx context.Context) error { _, err := s.MFATokenByHash(ctx, pending.Hash); return err }},
		{"FailMFAToken", func(ctx context.Context) error { _, err := s.FailMFAToken(ctx, pending.ID); return err }},
		{"ConsumeMFAToken", func(ctx context.Context) error { _, err := s.ConsumeMFAToken(ctx, pending.ID, now); return err }},
	})
	checkStoredMFAToken(t, s, theirs)
	if err := s.DeleteUserMFATokens(ctx, u.ID); err != nil {
		t.Errorf("DeleteUserMFATokens again: %v", err)
	}
	if err := s.DeleteUserMFATokens(ctx, newID()); err != nil {
		t.Errorf("DeleteUserMFATokens(unknown user): %v", err)
	}
}

func testMFATokenUnknownIDs(t *testing.T, s auth.MFATokenStore) {
	// A store with rows in it, so "unknown" is not "empty".
	mustCreateMFAToken(t, s, newMFAToken(owner(t, s).ID))
	checkUnknownIDs(t, []call{
		{"MFATokenByHash", func(ctx context.Context) error { _, err := s.MFATokenByHash(ctx, randomBytes(32)); return err }},
		{"FailMFAToken", func(ctx context.Context) error { _, err := s.FailMFAToken(ctx, newID()); return err }},
		{"SetMFAEmailCode", func(ctx context.Context) error { return s.SetMFAEmailCode(ctx, newID(), randomBytes(32), now) }},
		{"ConsumeMFAToken", func(ctx context.Context) error { _, err := s.ConsumeMFAToken(ctx, newID(), now); return err }},
	})
}

func testMFATokenCancelledContext(t *testing.T, s auth.MFATokenStore) {
	u := owner(t, s)
	tok := newMFAToken(u.ID)
	mustCreateMFAToken(t, s, tok)
	checkCancelledCalls(t, []call{
		{"CreateMFAToken", func(ctx context.Context) error { return s.CreateMFAToken(ctx, newMFAToken(u.ID)) }},
		{"MFATokenByHash", func(ctx context.Context) error { _, err := s.MFATokenByHash(ctx, tok.Hash); return err }},
		{"FailMFAToken", func(ctx context.Context) error { _, err := s.FailMFAToken(ctx, tok.ID); return err }},
		{"SetMFAEmailCode", func(ctx context.Context) error { return s.SetMFAEmailCode(ctx, tok.ID, randomBytes(32), now) }},
		{"ConsumeMFAToken", func(ctx context.Context) error { _, err := s.ConsumeMFAToken(ctx, tok.ID, now); return err }},
		{"DeleteUserMFATokens", func(ctx context.Context) error { return s.DeleteUserMFATokens(ctx, u.ID) }},
	})
	if p, ok := s.(auth.MFAEmailCodeMessageSetter); ok {
		checkCancelled(t, "SetMFAEmailCodeWithMessage", func(ctx context.Context) error {
			return p.SetMFAEmailCodeWithMessage(ctx, tok.ID, randomBytes(32), now, newMessage(u.Email, base))
		})
	}
	// Nothing of the cancelled calls happened.
	checkStoredMFAToken(t, s, tok)
}

func newMFAToken(userID string) *auth.MFAToken {
	return &auth.MFAToken{
		ID:        newID(),
		UserID:    userID,
		Hash:      randomBytes(32),
		AMR:       []string{auth.MethodPassword},
		CreatedAt: base,
		ExpiresAt: base.Add(5 * time.Minute),
	}
}

// mustMFAToken stores and returns a pending MFA token of a new user.
func mustMFAToken(t *testing.T, s auth.MFATokenStore) *auth.MFAToken {
	t.Helper()
	tok := newMFAToken(owner(t, s).ID)
	mustCreateMFAToken(t, s, tok)
	return tok
}

func mustCreateMFAToken(t *testing.T, s auth.MFATokenStore, tok *auth.MFAToken) {
	t.Helper()
	if err := s.CreateMFAToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateMFAToken: %v", err)
	}
}

func checkMFAToken(t *testing.T, got, want *auth.MFAToken) {
	t.Helper()
	equal(t, "mfa token", got, want)
}

// checkStoredMFAToken checks that the token found by want's hash is want,
// and returns it.
func checkStoredMFAToken(t *testing.T, s auth.MFATokenStore, want *auth.MFAToken) *auth.MFAToken {
	t.Helper()
	got, err := s.MFATokenByHash(t.Context(), want.Hash)
	if err != nil {
		t.Fatalf("MFATokenByHash(%s): %v", want.ID, err)
	}
	checkMFAToken(t, got, want)
	return got
}
