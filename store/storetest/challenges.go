package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Challenges runs the conformance tests of auth.ChallengeStore.
func Challenges(t *testing.T, open func(t *testing.T) auth.ChallengeStore) {
	t.Helper()
	runGroup(t, "Challenges", open, challengeTests)
}

var challengeTests = []storeTest[auth.ChallengeStore]{
	{"PutAndGet", testPutChallenge},
	{"Replace", testReplaceChallenge},
	{"ReplaceConcurrently", testReplaceChallengeConcurrently},
	{"FailCounts", testFailChallenge},
	{"FailConcurrently", testFailChallengeConcurrently},
	{"ConsumeOnce", testConsumeChallenge},
	{"ConsumeConcurrently", testConsumeChallengeConcurrently},
	{"PhoneTarget", testChallengeTarget},
	{"SignUpMark", testChallengeSignUp},
	{"UnknownIDs", testChallengeUnknownIDs},
	{"CancelledContext", testChallengeCancelledContext},
}

var outboxTests = []storeTest[OutboxStore]{
	{"EnqueueDefaults", testEnqueueDefaults},
	{"ClaimDueOldestFirst", testClaimDueOldestFirst},
	{"LeaseHidesUntilItEnds", testClaimLease},
	{"TwoWorkersClaimEachOnce", testClaimWorkers},
	{"Retry", testMessageRetry},
	{"SentAndFailed", testMessageSentAndFailed},
	{"SentBatch", testMessagesSentBatch},
	{"FirstFinalStateSticks", testMessageFinalStateSticks},
	{"AnyErrorText", testMessageErrorText},
	{"ListNewestFirst", testListMessages},
	{"ListLimit", testListMessagesLimit},
	{"UnknownIDs", testMessageUnknownIDs},
	{"CancelledContext", testMessageCancelledContext},
}

// challengesTogetherTests check a store that keeps users, challenges and
// the outbox in one database.
var challengesTogetherTests = []storeTest[challengeOutboxStore]{
	{"Challenge/UnknownUser", testChallengeUnknownUser},
	{"Challenge/DeleteUserCascades", testDeleteUserDeletesChallenges},
	{"Challenge/EnqueueAtomically", testEnqueueAtomically},
	{"Challenge/ReplaceWithMessagesConcurrently", testReplaceChallengeWithMessagesConcurrently},
}

func testPutChallenge(t *testing.T, s auth.ChallengeStore) {
	ctx := t.Context()
	u := owner(t, s)
	c := newChallenge(auth.PurposeSignIn, u.Email)
	c.UserID = u.ID
	c.LinkHash = randomBytes(32)
	c.LinkExpiresAt = base.Add(15 * time.Minute)
	c.RedirectTo = "https://app.example.com/after?x=1"
	mustPutChallenge(t, s, c)
	checkStoredChallenge(t, s, c)
	got, err := s.ChallengeByLinkHash(ctx, c.LinkHash)
	if err != nil {
		t.Fatalf("ChallengeByLinkHash: %v", err)
	}
	checkChallenge(t, got, c)

	// No account, no link: nothing is stored for them.
	bare := newChallenge(auth.PurposeSignIn, "nobody-"+newID()[:8]+"@example.com")
	mustPutChallenge(t, s, bare)
	got = checkStoredChallenge(t, s, bare)
	if got.UserID != "" || got.LinkHash != nil || !got.LinkExpiresAt.IsZero() || got.ConsumedAt != nil {
		t.Errorf("bare challenge UserID, LinkHash, LinkExpiresAt, ConsumedAt = %q, %x, %v, %v; want none",
			got.UserID, got.LinkHash, got.LinkExpiresAt, got.ConsumedAt)
	}
	_, err = s.ChallengeByLinkHash(ctx, nil)
	wantErr(t, "ChallengeByLinkHash(nil)", err, auth.ErrNotFound)
	_, err = s.ChallengeByLinkHash(ctx, randomBytes(32))
	wantErr(t, "ChallengeByLinkHash(unknown)", err, auth.ErrNotFound)
	_, err = s.ChallengeByAddress(ctx, auth.PurposeRecovery, u.Email)
	wantErr(t, "ChallengeByAddress(other purpose)", err, auth.ErrNotFound)
}

func testReplaceChallenge(t *testing.T, s auth.ChallengeStore) {
	ctx := t.Context()
	addr := "replace-" + newID()[:8] + "@example.com"
	old := newChallenge(auth.PurposeSignIn, addr)
	old.LinkHash, old.LinkExpiresAt = randomBytes(32), base.Add(15*time.Minute)
	mustPutChallenge(t, s, old)
	if n, err := s.FailChallenge(ctx, old.ID); err != nil || n != 1 {
		t.Fatalf("FailChallenge = %d, %v; want 1", n, err)
	}
	recovery := newChallenge(auth.PurposeRecovery, addr)
	mustPutChallenge(t, s, recovery)
	other := newChallenge(auth.PurposeSignIn, "other-"+addr)
	mustPutChallenge(t, s, other)

	// The new challenge starts afresh: its own ID, no link, no attempts.
	next := newChallenge(auth.PurposeSignIn, addr)
	next.CreatedAt = base.Add(time.Minute)
	next.ExpiresAt = next.CreatedAt.Add(5 * time.Minute)
	mustPutChallenge(t, s, next)
	checkStoredChallenge(t, s, next)

	// The old one is gone by every way of finding it.
	checkNotFound(t, "the replaced challenge", []call{
		{"ChallengeByLinkHash", func(ctx context.Context) error { _, err := s.ChallengeByLinkHash(ctx, old.LinkHash); return err }},
		{"FailChallenge", func(ctx context.Context) error { _, err := s.FailChallenge(ctx, old.ID); return err }},
		{"ConsumeChallenge", func(ctx context.Context) error { _, err := s.ConsumeChallenge(ctx, old.ID, now); return err }},
	})
	// Replacing did not touch the new one's count or consumption.
	checkStoredChallenge(t, s, next)

	// Another purpose and another address were left alone.
	checkStoredChallenge(t, s, recovery)
	checkStoredChallenge(t, s, other)

	// A consumed challenge is replaced like any other.
	if ok, err := s.ConsumeChallenge(ctx, next.ID, now); err != nil || !ok {
		t.Fatalf("ConsumeChallenge = %v, %v; want true", ok, err)
	}
	third := newChallenge(auth.PurposeSignIn, addr)
	third.LinkHash = old.LinkHash // the old row's link hash is free again
	third.LinkExpiresAt = base.Add(time.Hour)
	mustPutChallenge(t, s, third)
	checkStoredChallenge(t, s, third)
	got, err := s.ChallengeByLinkHash(ctx, third.LinkHash)
	if err != nil {
		t.Fatalf("ChallengeByLinkHash: %v", err)
	}
	checkChallenge(t, got, third)
}

func testReplaceChallengeConcurrently(t *testing.T, s auth.ChallengeStore) {
	// Two requests for one address at once (a double click, two tabs):
	// both succeed and one challenge is left.
	replaceConcurrently(t, s, func(c *auth.Challenge) error { return s.PutChallenge(t.Context(), c) })
}

// replaceRacers is how many requests replaceConcurrently makes at once.
const replaceRacers = 16

// replaceConcurrently puts challenges for one address at once with put and
// checks that exactly one of them is left.
func replaceConcurrently(t *testing.T, s auth.ChallengeStore, put func(*auth.Challenge) error) {
	t.Helper()
	ctx := t.Context()
	addr := "race-" + newID()[:8] + "@example.com"
	var cs [replaceRacers]*auth.Challenge
	for i := range cs {
		cs[i] = newChallenge(auth.PurposeSignIn, addr)
		cs[i].LinkHash = randomBytes(32)
	}
	noErrors(t, "PutChallenge", raceAll(len(cs), func(i int) error { return put(cs[i]) }))
	got, err := s.ChallengeByAddress(ctx, auth.PurposeSignIn, addr)
	if err != nil {
		t.Fatalf("ChallengeByAddress: %v", err)
	}
	live := 0
	for _, c := range cs {
		_, err := s.ChallengeByLinkHash(ctx, c.LinkHash)
		switch {
		case err == nil:
			live++
			if c.ID != got.ID {
				t.Errorf("challenge %s is findable by link but ChallengeByAddress returns %s", c.ID, got.ID)
			}
		case !errors.Is(err, auth.ErrNotFound):
			t.Errorf("ChallengeByLinkHash: %v", err)
		}
	}
	if live != 1 {
		t.Errorf("%d of %d concurrently put challenges are findable, want exactly 1", live, len(cs))
	}
}

func testChallengeUnknownUser(t *testing.T, s challengeOutboxStore) {
	ctx := t.Context()
	c := newChallenge(auth.PurposeSignIn, "orphan-"+newID()[:8]+"@example.com")
	c.UserID = newID()
	m := newMessage(c.Address, base)
	err := s.PutChallengeWithMessage(ctx, c, m)
	wantErr(t, "PutChallengeWithMessage for an unknown user", err, auth.ErrNotFound)
	_, err = s.ChallengeByAddress(ctx, c.Purpose, c.Address)
	wantErr(t, "ChallengeByAddress of the refused challenge", err, auth.ErrNotFound)
	checkNoMessages(t, s)
}

func testFailChallenge(t *testing.T, s auth.ChallengeStore) {
	ctx := t.Context()
	c := newChallenge(auth.PurposeSignIn, "fail-"+newID()[:8]+"@example.com")
	c.Attempts = 2 // stored as given
	mustPutChallenge(t, s, c)
	for want := 3; want <= 5; want++ {
		n, err := s.FailChallenge(ctx, c.ID)
		if err != nil || n != want {
			t.Fatalf("FailChallenge = %d, %v; want %d", n, err, want)
		}
	}
	want := *c
	want.Attempts = 5
	checkStoredChallenge(t, s, &want)
	// Counting goes on past any limit: the limit is the flow's business.
	if ok, err := s.ConsumeChallenge(ctx, c.ID, now); err != nil || !ok {
		t.Fatalf("ConsumeChallenge = %v, %v; want true", ok, err)
	}
	if n, err := s.FailChallenge(ctx, c.ID); err != nil || n != 6 {
		t.Errorf("FailChallenge of a consumed challenge = %d, %v; want 6", n, err)
	}
}

func testFailChallengeConcurrently(t *testing.T, s auth.ChallengeStore) {
	// Wrong codes sent at once must each count, or an attacker gets more
	// tries by sending them in parallel.
	ctx := t.Context()
	c := newChallenge(auth.PurposeSignIn, "failrace-"+newID()[:8]+"@example.com")
	mustPutChallenge(t, s, c)
	const n = 16
	checkCountsOnce(t, "FailChallenge", n, func() (int, error) { return s.FailChallenge(ctx, c.ID) })
	stored, err := s.ChallengeByAddress(ctx, c.Purpose, c.Address)
	if err != nil {
		t.Fatalf("ChallengeByAddress: %v", err)
	}
	if stored.Attempts != n {
		t.Errorf("Attempts after %d concurrent FailChallenge = %d, want %d", n, stored.Attempts, n)
	}
}

func testConsumeChallenge(t *testing.T, s auth.ChallengeStore) {
	ctx := t.Context()
	c := newChallenge(auth.PurposeRecovery, "consume-"+newID()[:8]+"@example.com")
	c.LinkHash, c.LinkExpiresAt = randomBytes(32), base.Add(15*time.Minute)
	mustPutChallenge(t, s, c)
	checkConsumesOnce(t, "ConsumeChallenge", func(at time.Time) (bool, error) { return s.ConsumeChallenge(ctx, c.ID, at) })
	want := *c
	want.ConsumedAt = &now // the first use's time stays
	checkStoredChallenge(t, s, &want)
	got, err := s.ChallengeByLinkHash(ctx, c.LinkHash)
	if err != nil {
		t.Fatalf("ChallengeByLinkHash of a consumed challenge: %v", err)
	}
	checkChallenge(t, got, &want)
}

func testConsumeChallengeConcurrently(t *testing.T, s auth.ChallengeStore) {
	// The same link clicked twice at once signs in once.
	ctx := t.Context()
	c := newChallenge(auth.PurposeSignIn, "consumerace-"+newID()[:8]+"@example.com")
	mustPutChallenge(t, s, c)
	at := raceConsume(t, "ConsumeChallenge", func(at time.Time) (bool, error) { return s.ConsumeChallenge(ctx, c.ID, at) })
	want := *c
	want.ConsumedAt = &at // the winner's time
	checkStoredChallenge(t, s, &want)
}

func testDeleteUserDeletesChallenges(t *testing.T, s challengeOutboxStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	signin := newChallenge(auth.PurposeSignIn, u.Email)
	signin.UserID = u.ID
	signin.LinkHash = randomBytes(32)
	recovery := newChallenge(auth.PurposeRecovery, u.Email)
	recovery.UserID = u.ID
	kept := newChallenge(auth.PurposeSignIn, v.Email)
	kept.UserID = v.ID
	anon := newChallenge(auth.PurposeSignIn, "anon-"+newID()[:8]+"@example.com")
	for _, c := range []*auth.Challenge{signin, recovery, kept, anon} {
		mustPutChallenge(t, s, c)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, c := range []*auth.Challenge{signin, recovery} {
		_, err := s.ChallengeByAddress(ctx, c.Purpose, c.Address)
		wantErr(t, "ChallengeByAddress of the deleted user's "+c.Purpose+" challenge", err, auth.ErrNotFound)
	}
	_, err := s.ChallengeByLinkHash(ctx, signin.LinkHash)
	wantErr(t, "ChallengeByLinkHash of the deleted user's challenge", err, auth.ErrNotFound)
	checkStoredChallenge(t, s, kept)
	checkStoredChallenge(t, s, anon)
}

func testEnqueueAtomically(t *testing.T, s challengeOutboxStore) {
	ctx := t.Context()
	addr := "atomic-" + newID()[:8] + "@example.com"
	c := newChallenge(auth.PurposeSignIn, addr)
	m := newMessage(addr, base)
	m.Status, m.NextAttemptAt = "", time.Time{} // defaults: pending, due at CreatedAt
	if err := s.PutChallengeWithMessage(ctx, c, m); err != nil {
		t.Fatalf("PutChallengeWithMessage: %v", err)
	}
	checkStoredChallenge(t, s, c)
	want := *m
	want.Status, want.NextAttemptAt = auth.MessagePending, m.CreatedAt
	claimed, err := s.ClaimMessages(ctx, base, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimMessages = %d messages, %v; want the one enqueued", len(claimed), err)
	}
	checkMessage(t, &claimed[0], &want, true)

	// A message that cannot be stored (its ID is taken) takes its
	// challenge down with it: neither a new address's challenge ...
	fresh := newChallenge(auth.PurposeSignIn, "fresh-"+addr)
	dup := newMessage(fresh.Address, base)
	dup.ID = m.ID
	if err := s.PutChallengeWithMessage(ctx, fresh, dup); err == nil {
		t.Fatal("PutChallenge with a duplicate message ID succeeded")
	} else if errors.Is(err, auth.ErrNotFound) {
		t.Errorf("PutChallenge with a duplicate message ID = %v; not a missing row", err)
	}
	_, err = s.ChallengeByAddress(ctx, fresh.Purpose, fresh.Address)
	wantErr(t, "ChallengeByAddress of the challenge whose message failed", err, auth.ErrNotFound)

	// ... nor the replacement of an existing one is stored: the old
	// challenge stays, untouched.
	repl := newChallenge(auth.PurposeSignIn, addr)
	dup2 := newMessage(addr, base)
	dup2.ID = m.ID
	if err := s.PutChallengeWithMessage(ctx, repl, dup2); err == nil {
		t.Fatal("PutChallenge (replacing) with a duplicate message ID succeeded")
	}
	checkStoredChallenge(t, s, c)
	_, err = s.FailChallenge(ctx, repl.ID)
	wantErr(t, "FailChallenge of the refused replacement", err, auth.ErrNotFound)

	msgs, err := s.ListMessages(ctx, "", "", 100)
	if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].To != m.To {
		t.Errorf("ListMessages = %v, %v; want only the first message", messageIDs(msgs), err)
	}
}

func testChallengeUnknownIDs(t *testing.T, s auth.ChallengeStore) {
	// A store with rows in it, so "unknown" is not "empty".
	c := newChallenge(auth.PurposeSignIn, "known-"+newID()[:8]+"@example.com")
	mustPutChallenge(t, s, c)
	checkUnknownIDs(t, []call{
		{"ChallengeByAddress", func(ctx context.Context) error {
			_, err := s.ChallengeByAddress(ctx, auth.PurposeSignIn, "unknown@example.com")
			return err
		}},
		{"ChallengeByLinkHash", func(ctx context.Context) error { _, err := s.ChallengeByLinkHash(ctx, randomBytes(32)); return err }},
		{"FailChallenge", func(ctx context.Context) error { _, err := s.FailChallenge(ctx, newID()); return err }},
		{"ConsumeChallenge", func(ctx context.Context) error { _, err := s.ConsumeChallenge(ctx, newID(), now); return err }},
	})
}

func testChallengeCancelledContext(t *testing.T, s auth.ChallengeStore) {
	c := newChallenge(auth.PurposeSignIn, "cancel-"+newID()[:8]+"@example.com")
	c.LinkHash = randomBytes(32)
	mustPutChallenge(t, s, c)
	checkCancelledCalls(t, []call{
		{"PutChallenge", func(ctx context.Context) error { return s.PutChallenge(ctx, newChallenge(c.Purpose, c.Address)) }},
		{"ChallengeByAddress", func(ctx context.Context) error {
			_, err := s.ChallengeByAddress(ctx, c.Purpose, c.Address)
			return err
		}},
		{"ChallengeByLinkHash", func(ctx context.Context) error { _, err := s.ChallengeByLinkHash(ctx, c.LinkHash); return err }},
		{"FailChallenge", func(ctx context.Context) error { _, err := s.FailChallenge(ctx, c.ID); return err }},
		{"ConsumeChallenge", func(ctx context.Context) error { _, err := s.ConsumeChallenge(ctx, c.ID, now); return err }},
	})
	if p, ok := s.(auth.ChallengeMessagePutter); ok {
		checkCancelled(t, "PutChallengeWithMessage", func(ctx context.Context) error {
			return p.PutChallengeWithMessage(ctx, newChallenge(c.Purpose, c.Address), newMessage(c.Address, base))
		})
	}
	// Nothing of the cancelled calls happened.
	checkStoredChallenge(t, s, c)
}

func newChallenge(purpose, address string) *auth.Challenge {
	return &auth.Challenge{
		ID:        newID(),
		Purpose:   purpose,
		Address:   address,
		CodeHash:  randomBytes(32),
		CreatedAt: base,
		ExpiresAt: base.Add(5 * time.Minute),
	}
}

func mustPutChallenge(t *testing.T, s auth.ChallengeStore, c *auth.Challenge) {
	t.Helper()
	if err := s.PutChallenge(t.Context(), c); err != nil {
		t.Fatalf("PutChallenge(%s): %v", c.ID, err)
	}
}

func checkChallenge(t *testing.T, got, want *auth.Challenge) {
	t.Helper()
	equal(t, "challenge", got, want)
}

// checkStoredChallenge checks that the challenge of want's purpose and
// address is want, and returns it.
func checkStoredChallenge(t *testing.T, s auth.ChallengeStore, want *auth.Challenge) *auth.Challenge {
	t.Helper()
	got, err := s.ChallengeByAddress(t.Context(), want.Purpose, want.Address)
	if err != nil {
		t.Fatalf("ChallengeByAddress(%s): %v", want.ID, err)
	}
	checkChallenge(t, got, want)
	return got
}

func messageIDs(xs []auth.Message) []string {
	return idsOf(xs, func(m auth.Message) string { return m.ID })
}

func messageIDsOf(xs []*auth.Message) []string {
	return idsOf(xs, func(m *auth.Message) string { return m.ID })
}
