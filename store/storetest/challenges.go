package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

// MessageStore is the worker's side of the outbox: the methods of
// notify.Store, repeated here so that this package keeps depending on
// package auth alone.
type MessageStore interface {
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Message, error)
	MessageSent(ctx context.Context, id string, now time.Time) error
	MessageRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error
	MessageFailed(ctx context.Context, id string, attempts int, lastErr string, now time.Time) error
	ListMessages(ctx context.Context, status, before string, limit int) ([]auth.Message, error)
}

// OutboxStore is what the Outbox group runs on: the queue the flows
// enqueue to and the worker's side of the outbox.
type OutboxStore interface {
	auth.MessageQueue
	MessageStore
}

// challengeOutboxStore keeps users, challenges and the outbox together, and
// can store a challenge with its message in one transaction.
type challengeOutboxStore interface {
	auth.UserStore
	auth.ChallengeStore
	auth.ChallengeMessagePutter
	MessageStore
}

// Challenges runs the conformance tests of auth.ChallengeStore.
func Challenges(t *testing.T, open func(t *testing.T) auth.ChallengeStore) {
	t.Helper()
	runGroup(t, "Challenges", open, challengeTests)
}

// Outbox runs the conformance tests of the outbox: auth.MessageQueue and
// MessageStore.
func Outbox(t *testing.T, open func(t *testing.T) OutboxStore) {
	t.Helper()
	runGroup(t, "Outbox", open, outboxTests)
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
	_, err := s.ChallengeByLinkHash(ctx, old.LinkHash)
	wantErr(t, "ChallengeByLinkHash of the replaced challenge", err, auth.ErrNotFound)
	_, err = s.FailChallenge(ctx, old.ID)
	wantErr(t, "FailChallenge of the replaced challenge", err, auth.ErrNotFound)
	_, err = s.ConsumeChallenge(ctx, old.ID, now)
	wantErr(t, "ConsumeChallenge of the replaced challenge", err, auth.ErrNotFound)
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

func testReplaceChallengeWithMessagesConcurrently(t *testing.T, s challengeOutboxStore) {
	// As above, and every message is queued.
	const n = replaceRacers
	replaceConcurrently(t, s, func(c *auth.Challenge) error {
		return s.PutChallengeWithMessage(t.Context(), c, newMessage(c.Address, base))
	})
	msgs, err := s.ListMessages(t.Context(), auth.MessagePending, "", 100)
	if err != nil || len(msgs) != n {
		t.Errorf("ListMessages = %d messages, %v; want %d", len(msgs), err, n)
	}
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
	if ok, err := s.ConsumeChallenge(ctx, c.ID, now); err != nil || !ok {
		t.Fatalf("ConsumeChallenge = %v, %v; want true", ok, err)
	}
	if ok, err := s.ConsumeChallenge(ctx, c.ID, now.Add(time.Second)); err != nil || ok {
		t.Fatalf("second ConsumeChallenge = %v, %v; want false, nil", ok, err)
	}
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
	won, errs := race(16, func(i int) (bool, error) {
		return s.ConsumeChallenge(ctx, c.ID, now.Add(time.Duration(i)*time.Millisecond))
	})
	winner := oneWins(t, "ConsumeChallenge", won, errs)
	want := *c
	at := now.Add(time.Duration(winner) * time.Millisecond)
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

func testEnqueueDefaults(t *testing.T, s OutboxStore) {
	m := newMessage("defaults-"+newID()[:8]+"@example.com", base)
	m.Status, m.NextAttemptAt = "", time.Time{} // defaults: pending, due at CreatedAt
	if err := s.Enqueue(t.Context(), m); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	want := *m
	want.Status, want.NextAttemptAt = auth.MessagePending, m.CreatedAt
	claimed, err := s.ClaimMessages(t.Context(), base, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimMessages = %d messages, %v; want the one enqueued", len(claimed), err)
	}
	checkMessage(t, &claimed[0], &want, true)
	if err := s.MessageSent(t.Context(), m.ID, base); err != nil {
		t.Fatalf("MessageSent: %v", err)
	}
	// A suppressed message is kept, and never claimed.
	quiet := newMessage("quiet-"+newID()[:8]+"@example.com", base)
	quiet.Status = auth.MessageSuppressed
	if err := s.Enqueue(t.Context(), quiet); err != nil {
		t.Fatalf("Enqueue(suppressed): %v", err)
	}
	if got, err := s.ClaimMessages(t.Context(), now.Add(time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages after a suppressed message = %v, %v; want none", messageIDs(got), err)
	}
	checkListedMessage(t, s, quiet)
}

func testClaimDueOldestFirst(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	// Created out of order, with one created at the same instant as
	// another (then the ID decides), and two not yet due.
	m3 := enqueue(t, s, at(3), at(3))
	m1 := enqueue(t, s, at(1), at(1))
	m5 := enqueue(t, s, at(5), now) // due exactly now
	m2a := enqueue(t, s, at(2), at(2))
	m2b := enqueue(t, s, at(2), at(2))
	if m2b.ID < m2a.ID {
		m2a, m2b = m2b, m2a
	}
	later := enqueue(t, s, at(0), now.Add(time.Microsecond)) // oldest, but not due
	due := []*auth.Message{m1, m2a, m2b, m3, m5}

	first, err := s.ClaimMessages(ctx, now, time.Minute, 2)
	if err != nil {
		t.Fatalf("ClaimMessages: %v", err)
	}
	second, err := s.ClaimMessages(ctx, now, time.Minute, 10)
	if err != nil {
		t.Fatalf("ClaimMessages: %v", err)
	}
	if g, w := messageIDs(first), messageIDsOf(due[:2]); !slices.Equal(g, w) {
		t.Errorf("first claim (limit 2) = %v, want %v (due only, oldest first)", g, w)
	}
	if g, w := messageIDs(second), messageIDsOf(due[2:]); !slices.Equal(g, w) {
		t.Errorf("second claim = %v, want %v (the rest of the due ones, oldest first)", g, w)
	}
	for i, m := range append(first, second...) {
		if i < len(due) {
			checkMessage(t, &m, due[i], true)
		}
	}
	if got, err := s.ClaimMessages(ctx, now, time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("third claim = %v, %v; want none", messageIDs(got), err)
	}
	for _, limit := range []int{0, -1} {
		if got, err := s.ClaimMessages(ctx, now.Add(time.Hour), time.Minute, limit); err != nil || len(got) != 0 {
			t.Errorf("ClaimMessages(limit %d) = %v, %v; want none", limit, messageIDs(got), err)
		}
	}
	// Once due, the last one comes too.
	got, err := s.ClaimMessages(ctx, now.Add(time.Microsecond), time.Minute, 10)
	if err != nil || !slices.Equal(messageIDs(got), []string{later.ID}) {
		t.Errorf("claim when the last is due = %v, %v; want [%s]", messageIDs(got), err, later.ID)
	}
}

func testClaimLease(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	m := enqueue(t, s, base, base)
	lease := 10 * time.Minute
	got, err := s.ClaimMessages(ctx, now, lease, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimMessages = %v, %v; want the message", messageIDs(got), err)
	}
	// A second worker sees nothing while the lease lasts ...
	for _, at := range []time.Time{now, now.Add(time.Minute), now.Add(lease - time.Microsecond)} {
		if got, err := s.ClaimMessages(ctx, at, lease, 10); err != nil || len(got) != 0 {
			t.Errorf("ClaimMessages at +%v during the lease = %v, %v; want none", at.Sub(now), messageIDs(got), err)
		}
	}
	// ... and when it ends without a word from the first worker (it
	// crashed), the message is claimable again, unchanged.
	got, err = s.ClaimMessages(ctx, now.Add(lease), lease, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimMessages when the lease ended = %v, %v; want the message again", messageIDs(got), err)
	}
	checkMessage(t, &got[0], m, true)
	// That claim holds a new lease of its own.
	if got, err := s.ClaimMessages(ctx, now.Add(lease+time.Minute), lease, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages during the second lease = %v, %v; want none", messageIDs(got), err)
	}
}

func testClaimWorkers(t *testing.T, s OutboxStore) {
	// Several workers (goroutines here; connections and nodes in
	// production) drain one outbox: each message is claimed, and so sent,
	// exactly once.
	ctx := t.Context()
	const total, workers = 50, 4
	want := make([]string, 0, total)
	for i := range total {
		m := enqueue(t, s, base.Add(time.Duration(i)*time.Millisecond), base)
		want = append(want, m.ID)
	}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		per    [workers]int
	)
	errs := raceAll(workers, func(w int) error {
		for {
			batch, err := s.ClaimMessages(ctx, now, time.Hour, 1+w%3)
			if err != nil || len(batch) == 0 {
				return err
			}
			mu.Lock()
			for _, m := range batch {
				counts[m.ID]++
			}
			mu.Unlock()
			per[w] += len(batch)
			for _, m := range batch {
				if err := s.MessageSent(ctx, m.ID, now); err != nil {
					return err
				}
			}
		}
	})
	noErrors(t, "worker", errs)
	for id, n := range counts {
		if n != 1 {
			t.Errorf("message %s was claimed %d times, want once", id, n)
		}
	}
	if len(counts) != total {
		t.Errorf("%d distinct messages claimed, want all %d", len(counts), total)
	}
	t.Logf("claims per worker: %v", per)
	sent, err := s.ListMessages(ctx, auth.MessageSent, "", 100)
	if err != nil {
		t.Fatalf("ListMessages(sent): %v", err)
	}
	if g, w := sortStrings(messageIDs(sent)), sortStrings(want); !slices.Equal(g, w) {
		t.Errorf("sent messages = %d, want all %d", len(g), len(w))
	}
}

func testMessageRetry(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	m := enqueue(t, s, base, base)
	if got, err := s.ClaimMessages(ctx, now, time.Hour, 1); err != nil || len(got) != 1 {
		t.Fatalf("ClaimMessages = %v, %v; want the message", messageIDs(got), err)
	}
	next := now.Add(2 * time.Minute)
	if err := s.MessageRetry(ctx, m.ID, 1, next, "421 4.7.0 try again later"); err != nil {
		t.Fatalf("MessageRetry: %v", err)
	}
	want := *m
	want.Attempts, want.NextAttemptAt, want.LastError = 1, next, "421 4.7.0 try again later"
	checkListedMessage(t, s, &want)
	// Not before it is due ...
	if got, err := s.ClaimMessages(ctx, next.Add(-time.Microsecond), time.Hour, 1); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages before the retry is due = %v, %v; want none", messageIDs(got), err)
	}
	// ... but then at once, although the hour's lease has not ended: a
	// retry ends the lease.
	got, err := s.ClaimMessages(ctx, next, time.Hour, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimMessages when the retry is due = %v, %v; want the message", messageIDs(got), err)
	}
	checkMessage(t, &got[0], &want, true)
	// A retry of a retry keeps counting as told.
	if err := s.MessageRetry(ctx, m.ID, 2, next.Add(time.Hour), "timeout"); err != nil {
		t.Fatalf("MessageRetry: %v", err)
	}
	want.Attempts, want.NextAttemptAt, want.LastError = 2, next.Add(time.Hour), "timeout"
	checkListedMessage(t, s, &want)
}

func testMessageSentAndFailed(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	sent := enqueue(t, s, base, base)
	failed := enqueue(t, s, base.Add(time.Second), base)
	if got, err := s.ClaimMessages(ctx, now, time.Minute, 10); err != nil || len(got) != 2 {
		t.Fatalf("ClaimMessages = %v, %v; want both", messageIDs(got), err)
	}
	sentAt := now.Add(time.Second)
	if err := s.MessageSent(ctx, sent.ID, sentAt); err != nil {
		t.Fatalf("MessageSent: %v", err)
	}
	if err := s.MessageFailed(ctx, failed.ID, 5, "550 5.1.1 no such user", sentAt); err != nil {
		t.Fatalf("MessageFailed: %v", err)
	}
	wantSent := *sent
	wantSent.Status, wantSent.SentAt = auth.MessageSent, &sentAt
	checkListedMessage(t, s, &wantSent)
	wantFailed := *failed
	wantFailed.Status, wantFailed.Attempts, wantFailed.LastError = auth.MessageFailed, 5, "550 5.1.1 no such user"
	checkListedMessage(t, s, &wantFailed)
	// Neither is ever claimed again, whatever the time.
	if got, err := s.ClaimMessages(ctx, now.Add(1000*time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages after sent and failed = %v, %v; want none", messageIDs(got), err)
	}
	// Unclaimed messages can be marked too (a worker that lost its lease
	// still reports).
	direct := enqueue(t, s, base, base)
	if err := s.MessageSent(ctx, direct.ID, sentAt); err != nil {
		t.Fatalf("MessageSent of an unclaimed message: %v", err)
	}
}

func testMessageFinalStateSticks(t *testing.T, s OutboxStore) {
	// A worker whose lease ran out while another sent the message reports
	// late; the first final state stays, and the late report is no error.
	ctx := t.Context()
	sent := enqueue(t, s, base, base)
	failed := enqueue(t, s, base, base)
	at := now
	if err := s.MessageSent(ctx, sent.ID, at); err != nil {
		t.Fatalf("MessageSent: %v", err)
	}
	if err := s.MessageFailed(ctx, failed.ID, 3, "gave up", at); err != nil {
		t.Fatalf("MessageFailed: %v", err)
	}
	later := at.Add(time.Minute)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"MessageFailed after sent", func() error { return s.MessageFailed(ctx, sent.ID, 9, "late", later) }},
		{"MessageRetry after sent", func() error { return s.MessageRetry(ctx, sent.ID, 9, later, "late") }},
		{"MessageSent after sent", func() error { return s.MessageSent(ctx, sent.ID, later) }},
		{"MessageSent after failed", func() error { return s.MessageSent(ctx, failed.ID, later) }},
		{"MessageRetry after failed", func() error { return s.MessageRetry(ctx, failed.ID, 9, later, "late") }},
		{"MessageFailed after failed", func() error { return s.MessageFailed(ctx, failed.ID, 9, "late", later) }},
	} {
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	wantSent := *sent
	wantSent.Status, wantSent.SentAt = auth.MessageSent, &at
	checkListedMessage(t, s, &wantSent)
	wantFailed := *failed
	wantFailed.Status, wantFailed.Attempts, wantFailed.LastError = auth.MessageFailed, 3, "gave up"
	checkListedMessage(t, s, &wantFailed)
}

func testMessageErrorText(t *testing.T, s OutboxStore) {
	// Error text comes from remote servers: any bytes, any length. It is
	// stored (as valid UTF-8 without NUL, at most 1000 bytes), never
	// refused.
	ctx := t.Context()
	for _, text := range []string{
		"550 bad\x00byte",
		"550 \xff\xfe invalid UTF-8",
		strings.Repeat("é", 3000),
		"",
	} {
		m := enqueue(t, s, base, base)
		if err := s.MessageRetry(ctx, m.ID, 1, now, text); err != nil {
			t.Errorf("MessageRetry(%.20q…): %v", text, err)
			continue
		}
		if err := s.MessageFailed(ctx, m.ID, 2, text, now); err != nil {
			t.Errorf("MessageFailed(%.20q…): %v", text, err)
			continue
		}
		got := listedMessage(t, s, m.ID)
		if got == nil {
			continue
		}
		e := got.LastError
		if !utf8.ValidString(e) || strings.ContainsRune(e, 0) || len(e) > 1000 {
			t.Errorf("LastError stored for %.20q… = %.40q… (%d bytes); want valid UTF-8, no NUL, at most 1000 bytes", text, e, len(e))
		}
		if text != "" && e == "" {
			t.Errorf("LastError for %.20q… was dropped", text)
		}
		if utf8.ValidString(text) && !strings.ContainsRune(text, 0) && len(text) <= 1000 && e != text {
			t.Errorf("LastError = %q, want %q unchanged", e, text)
		}
	}
}

func testListMessages(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	var all []*auth.Message
	for i := range 7 {
		all = append(all, enqueue(t, s, at(i), at(i)))
	}
	// Two at one instant: the ID orders them.
	twin := enqueue(t, s, at(3), at(3))
	all = append(all, twin)
	slices.SortFunc(all, func(a, b *auth.Message) int { // newest first
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	// Mark some sent and some failed.
	status := map[string]string{}
	for i, m := range all {
		switch i % 3 {
		case 1:
			if err := s.MessageSent(ctx, m.ID, now); err != nil {
				t.Fatal(err)
			}
			status[m.ID] = auth.MessageSent
		case 2:
			if err := s.MessageFailed(ctx, m.ID, 1, "no", now); err != nil {
				t.Fatal(err)
			}
			status[m.ID] = auth.MessageFailed
		default:
			status[m.ID] = auth.MessagePending
		}
	}
	for _, st := range []string{"", auth.MessagePending, auth.MessageSent, auth.MessageFailed} {
		var want []string
		for _, m := range all {
			if st == "" || status[m.ID] == st {
				want = append(want, m.ID)
			}
		}
		got, err := s.ListMessages(ctx, st, "", 0)
		if err != nil {
			t.Fatalf("ListMessages(%q): %v", st, err)
		}
		if g := messageIDs(got); !slices.Equal(g, want) {
			t.Errorf("ListMessages(%q) = %v, want %v (newest first)", st, g, want)
		}
		for _, m := range got {
			if m.Payload != nil {
				t.Errorf("ListMessages(%q) answered message %s with a payload", st, m.ID)
			}
			if m.Status != status[m.ID] {
				t.Errorf("ListMessages(%q): message %s has status %q, want %q", st, m.ID, m.Status, status[m.ID])
			}
		}
		checkPages(t, fmt.Sprintf("ListMessages(%q)", st), want, func(before string) ([]string, error) {
			got, err := s.ListMessages(ctx, st, before, 2)
			return messageIDs(got), err
		})
	}
	// A message's full state comes back (but the payload).
	for _, m := range all {
		got := listedMessage(t, s, m.ID)
		if got == nil {
			continue
		}
		if got.Status == auth.MessagePending {
			checkMessage(t, got, m, false)
		}
	}
	if got, err := s.ListMessages(ctx, "", newID(), 10); err != nil || len(got) != 0 {
		t.Errorf("ListMessages(unknown cursor) = %v, %v; want none", messageIDs(got), err)
	}
	if got, err := s.ListMessages(ctx, "bogus", "", 10); err != nil || len(got) != 0 {
		t.Errorf("ListMessages(unknown status) = %v, %v; want none", messageIDs(got), err)
	}
}

func testListMessagesLimit(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	for i := range 201 {
		enqueue(t, s, base.Add(time.Duration(i)*time.Microsecond), base)
	}
	for _, tc := range []struct{ limit, want int }{
		{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {201, 200}, {1000, 200},
	} {
		got, err := s.ListMessages(ctx, "", "", tc.limit)
		if err != nil {
			t.Fatalf("ListMessages(limit %d): %v", tc.limit, err)
		}
		if len(got) != tc.want {
			t.Errorf("ListMessages(limit %d) answered %d messages, want %d", tc.limit, len(got), tc.want)
		}
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

func testMessageUnknownIDs(t *testing.T, s OutboxStore) {
	enqueue(t, s, base, base) // a store with rows in it, so "unknown" is not "empty"
	checkUnknownIDs(t, []call{
		{"MessageSent", func(ctx context.Context) error { return s.MessageSent(ctx, newID(), now) }},
		{"MessageRetry", func(ctx context.Context) error { return s.MessageRetry(ctx, newID(), 1, now, "x") }},
		{"MessageFailed", func(ctx context.Context) error { return s.MessageFailed(ctx, newID(), 1, "x", now) }},
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

func testMessageCancelledContext(t *testing.T, s OutboxStore) {
	m := enqueue(t, s, base, base)
	checkCancelledCalls(t, []call{
		{"Enqueue", func(ctx context.Context) error { return s.Enqueue(ctx, newMessage("cancel@example.com", base)) }},
		{"ClaimMessages", func(ctx context.Context) error { _, err := s.ClaimMessages(ctx, now, time.Minute, 10); return err }},
		{"MessageSent", func(ctx context.Context) error { return s.MessageSent(ctx, m.ID, now) }},
		{"MessageRetry", func(ctx context.Context) error { return s.MessageRetry(ctx, m.ID, 1, now, "x") }},
		{"MessageFailed", func(ctx context.Context) error { return s.MessageFailed(ctx, m.ID, 1, "x", now) }},
		{"ListMessages", func(ctx context.Context) error { _, err := s.ListMessages(ctx, "", "", 10); return err }},
	})
	// Nothing of the cancelled calls happened.
	msgs, err := s.ListMessages(t.Context(), "", "", 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("ListMessages = %v, %v; want only the message", messageIDs(msgs), err)
	}
	want := *m
	checkMessage(t, &msgs[0], &want, false)
}

// Fixtures.

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

// newMessage answers a pending message to to, created and due at created,
// with a payload holding every byte value.
func newMessage(to string, created time.Time) *auth.Message {
	payload := make([]byte, 0, 300)
	for i := range 256 {
		payload = append(payload, byte(i))
	}
	return &auth.Message{
		ID:            newID(),
		Kind:          auth.KindSignInCode,
		Channel:       "email",
		To:            to,
		Payload:       append(payload, randomBytes(44)...),
		Status:        auth.MessagePending,
		NextAttemptAt: created,
		CreatedAt:     created,
	}
}

// enqueue stores a message to a new address, created at created and due
// at next.
func enqueue(t *testing.T, s auth.MessageQueue, created, next time.Time) *auth.Message {
	t.Helper()
	m := newMessage("outbox-"+newID()[:12]+"@example.com", created)
	m.NextAttemptAt = next
	if err := s.Enqueue(t.Context(), m); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return m
}

// Checks.

func checkChallenge(t *testing.T, got, want *auth.Challenge) {
	t.Helper()
	equal(t, "challenge", got, want)
}

// checkStoredChallenge checks that the challenge of want's purpose and
// address is want, and answers it.
func checkStoredChallenge(t *testing.T, s auth.ChallengeStore, want *auth.Challenge) *auth.Challenge {
	t.Helper()
	got, err := s.ChallengeByAddress(t.Context(), want.Purpose, want.Address)
	if err != nil {
		t.Fatalf("ChallengeByAddress(%s): %v", want.ID, err)
	}
	checkChallenge(t, got, want)
	return got
}

// checkMessage compares messages; without payload, as listed, got must
// have none.
func checkMessage(t *testing.T, got, want *auth.Message, payload bool) {
	t.Helper()
	g, w := *got, *want
	if !payload {
		w.Payload = nil
	} else if !bytes.Equal(g.Payload, w.Payload) {
		// Payloads are long: name the difference rather than print them.
		t.Errorf("message %s payload = %d bytes, want the %d stored (bytes must round-trip exactly)", want.ID, len(g.Payload), len(w.Payload))
		g.Payload, w.Payload = nil, nil
	}
	equal(t, "message", &g, &w)
}

// listedMessage finds the message with id through ListMessages.
func listedMessage(t *testing.T, s MessageStore, id string) *auth.Message {
	t.Helper()
	msgs, err := s.ListMessages(t.Context(), "", "", 200)
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	for i := range msgs {
		if msgs[i].ID == id {
			return &msgs[i]
		}
	}
	t.Errorf("message %s is not listed", id)
	return nil
}

func checkListedMessage(t *testing.T, s MessageStore, want *auth.Message) {
	t.Helper()
	if got := listedMessage(t, s, want.ID); got != nil {
		if got.Payload != nil {
			t.Errorf("ListMessages answered message %s with a payload", want.ID)
		}
		checkMessage(t, got, want, false)
	}
}

func checkNoMessages(t *testing.T, s MessageStore) {
	t.Helper()
	msgs, err := s.ListMessages(t.Context(), "", "", 10)
	if err != nil || len(msgs) != 0 {
		t.Errorf("ListMessages = %v, %v; want none", messageIDs(msgs), err)
	}
}

func messageIDs(xs []auth.Message) []string {
	return idsOf(xs, func(m auth.Message) string { return m.ID })
}

func messageIDsOf(xs []*auth.Message) []string {
	return idsOf(xs, func(m *auth.Message) string { return m.ID })
}
