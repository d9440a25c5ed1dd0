package storetest

import (
	"bytes"
	"context"
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
	MessagesSent(ctx context.Context, sent []auth.SentMessage) error
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

// Outbox runs the conformance tests of the outbox: auth.MessageQueue and
// MessageStore.
func Outbox(t *testing.T, open func(t *testing.T) OutboxStore) {
	t.Helper()
	runGroup(t, "Outbox", open, outboxTests)
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
	if err := messageSent(t.Context(), s, m.ID, 1, base); err != nil {
		t.Fatalf("MessagesSent: %v", err)
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
				if err := messageSent(ctx, s, m.ID, 1, now); err != nil {
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
	markSentAndFailed(t, s, sent, failed, 5, "550 5.1.1 no such user", sentAt)
	checkSentAndFailed(t, s, sent, failed, 5, "550 5.1.1 no such user", sentAt)
	// Neither is ever claimed again, whatever the time.
	if got, err := s.ClaimMessages(ctx, now.Add(1000*time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages after sent and failed = %v, %v; want none", messageIDs(got), err)
	}
	// Unclaimed messages can be marked too (a worker that lost its lease
	// still reports).
	direct := enqueue(t, s, base, base)
	if err := messageSent(ctx, s, direct.ID, 1, sentAt); err != nil {
		t.Fatalf("MessagesSent of an unclaimed message: %v", err)
	}
}

func testMessageFinalStateSticks(t *testing.T, s OutboxStore) {
	// A worker whose lease ran out while another sent the message reports
	// late; the first final state stays, and the late report is no error.
	ctx := t.Context()
	sent := enqueue(t, s, base, base)
	failed := enqueue(t, s, base, base)
	at := now
	markSentAndFailed(t, s, sent, failed, 3, "gave up", at)
	later := at.Add(time.Minute)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"MessageFailed after sent", func() error { return s.MessageFailed(ctx, sent.ID, 9, "late", later) }},
		{"MessageRetry after sent", func() error { return s.MessageRetry(ctx, sent.ID, 9, later, "late") }},
		{"MessagesSent after sent", func() error { return messageSent(ctx, s, sent.ID, 9, later) }},
		{"MessagesSent after failed", func() error { return messageSent(ctx, s, failed.ID, 9, later) }},
		{"MessageRetry after failed", func() error { return s.MessageRetry(ctx, failed.ID, 9, later, "late") }},
		{"MessageFailed after failed", func() error { return s.MessageFailed(ctx, failed.ID, 9, "late", later) }},
	} {
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	checkSentAndFailed(t, s, sent, failed, 3, "gave up", at)
}

// markSentAndFailed reports sent as sent and failed as failed, both after
// attempts tries (the last one with lastErr for failed), both at at.
func markSentAndFailed(t *testing.T, s OutboxStore, sent, failed *auth.Message, attempts int, lastErr string, at time.Time) {
	t.Helper()
	if err := messageSent(t.Context(), s, sent.ID, attempts, at); err != nil {
		t.Fatalf("MessagesSent: %v", err)
	}
	if err := s.MessageFailed(t.Context(), failed.ID, attempts, lastErr, at); err != nil {
		t.Fatalf("MessageFailed: %v", err)
	}
}

// checkSentAndFailed checks that the store lists what markSentAndFailed
// reported, and nothing else changed.
func checkSentAndFailed(t *testing.T, s OutboxStore, sent, failed *auth.Message, attempts int, lastErr string, at time.Time) {
	t.Helper()
	wantSent := *sent
	// The try that delivered it counts: a message sent at its first try
	// shows 1, never 0.
	wantSent.Status, wantSent.Attempts, wantSent.SentAt = auth.MessageSent, attempts, &at
	checkListedMessage(t, s, &wantSent)
	wantFailed := *failed
	wantFailed.Status, wantFailed.Attempts, wantFailed.LastError = auth.MessageFailed, attempts, lastErr
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
			if err := messageSent(ctx, s, m.ID, 1, now); err != nil {
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

func testMessageUnknownIDs(t *testing.T, s OutboxStore) {
	enqueue(t, s, base, base) // a store with rows in it, so "unknown" is not "empty"
	checkUnknownIDs(t, []call{
		{"MessageRetry", func(ctx context.Context) error { return s.MessageRetry(ctx, newID(), 1, now, "x") }},
		{"MessageFailed", func(ctx context.Context) error { return s.MessageFailed(ctx, newID(), 1, "x", now) }},
	})
}

func testMessageCancelledContext(t *testing.T, s OutboxStore) {
	m := enqueue(t, s, base, base)
	checkCancelledCalls(t, []call{
		{"Enqueue", func(ctx context.Context) error { return s.Enqueue(ctx, newMessage("cancel@example.com", base)) }},
		{"ClaimMessages", func(ctx context.Context) error { _, err := s.ClaimMessages(ctx, now, time.Minute, 10); return err }},
		{"MessagesSent", func(ctx context.Context) error { return messageSent(ctx, s, m.ID, 1, now) }},
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

// messageSent records one delivery, as a batch of one.
func messageSent(ctx context.Context, s MessageStore, id string, attempts int, at time.Time) error {
	return s.MessagesSent(ctx, []auth.SentMessage{{ID: id, Attempts: attempts, At: at}})
}

// testMessagesSentBatch records a batch of deliveries: each at its own
// attempt and time, a message no longer pending and an unknown one left
// out without undoing the others, and an empty batch a no-op.
func testMessagesSentBatch(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	a, b, done := enqueue(t, s, base, base), enqueue(t, s, base.Add(time.Microsecond), base), enqueue(t, s, base.Add(2*time.Microsecond), base)
	if got, err := s.ClaimMessages(ctx, now, time.Minute, 10); err != nil || len(got) != 3 {
		t.Fatalf("ClaimMessages = %v, %v; want all three", messageIDs(got), err)
	}
	if err := s.MessageFailed(ctx, done.ID, 1, "gone", now); err != nil {
		t.Fatal(err)
	}
	if err := s.MessagesSent(ctx, nil); err != nil {
		t.Errorf("MessagesSent(none) = %v", err)
	}
	atA, atB := now.Add(time.Second), now.Add(2*time.Second)
	err := s.MessagesSent(ctx, []auth.SentMessage{
		{ID: a.ID, Attempts: 1, At: atA}, {ID: newID(), Attempts: 1, At: atA},
		{ID: done.ID, Attempts: 2, At: atA}, {ID: b.ID, Attempts: 3, At: atB},
	})
	if err != nil {
		t.Fatalf("MessagesSent = %v", err)
	}
	msgs, err := s.ListMessages(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var status string
		var attempts int
		var at time.Time
		switch m.ID {
		case a.ID:
			status, attempts, at = auth.MessageSent, 1, atA
		case b.ID:
			status, attempts, at = auth.MessageSent, 3, atB
		case done.ID:
			status, attempts = auth.MessageFailed, 1
		}
		if m.Status != status || m.Attempts != attempts || (m.SentAt == nil) != at.IsZero() || (m.SentAt != nil && !m.SentAt.Equal(at.Truncate(time.Microsecond))) {
			t.Errorf("message %s = %s, %d attempts, sent at %v; want %s, %d, %v", m.ID, m.Status, m.Attempts, m.SentAt, status, attempts, at)
		}
	}
	if got, err := s.ClaimMessages(ctx, now.Add(time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessages after MessagesSent = %v, %v; want none", messageIDs(got), err)
	}
}

// newMessage returns a pending message to to, created and due at created,
// with a payload holding every byte value.
func newMessage(to string, created time.Time) *auth.Message {
	return &auth.Message{
		ID:            newID(),
		Kind:          auth.KindSignInCode,
		Channel:       "email",
		To:            to,
		Payload:       everyByteThen(randomBytes(44)),
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
