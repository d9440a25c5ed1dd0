package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/notify"
)

// syncBuffer is a log sink safe for the worker's concurrent deliveries.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	store  *memStore
	sender *fakeSender
	clock  *fakeClock
	outbox *notify.Outbox
	worker *notify.Worker
	logs   *syncBuffer
}

// newHarness wires a worker to an in-memory store, a fake sender and a fake
// clock; edit adjusts the config before NewWorker.
func newHarness(t *testing.T, send func(ctx context.Context, call int, m notify.Email) error, edit func(*notify.WorkerConfig)) *harness {
	t.Helper()
	h := &harness{store: newMemStore(), sender: newFakeSender(send), clock: newFakeClock(), logs: &syncBuffer{}}
	box := testBox(t)
	h.outbox = notify.NewOutbox(testTemplates(t), box, h.clock)
	cfg := notify.WorkerConfig{
		Store:  h.store,
		Box:    box,
		Sender: h.sender,
		Clock:  h.clock,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Wake:   h.outbox.Wakeups(),
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := notify.NewWorker(cfg)
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	h.worker = w
	return h
}

// enqueue composes a message as a request would and stores it.
func (h *harness) enqueue(t *testing.T, kind string) *auth.Message {
	t.Helper()
	m, err := h.outbox.Compose(context.Background(), kind, testTo, auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h.store.add(m)
	return m
}

func (h *harness) runOnce(t *testing.T, want int) {
	t.Helper()
	n, err := h.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n != want {
		t.Fatalf("RunOnce claimed %d messages, want %d", n, want)
	}
}

// checkLogs fails when the worker logged a secret or the message content.
func (h *harness) checkLogs(t *testing.T) {
	t.Helper()
	logs := h.logs.String()
	for _, secret := range []string{testCode, testLink, "sign-in", testTo} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q:\n%s", secret, logs)
		}
	}
}

func TestWorkerDeliversOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	m := h.enqueue(t, auth.KindMagicLink)
	h.clock.Advance(time.Second)
	h.runOnce(t, 1)
	h.runOnce(t, 0)

	got := h.sender.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d emails, want 1", len(got))
	}
	want, err := testTemplates(t).Render(auth.KindMagicLink, testTo, auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if e := got[0]; e.To != testTo || e.From != "" || e.Subject != want.Subject || e.Text != want.Text || e.HTML != want.HTML {
		t.Errorf("sent %+v, want the rendered content to %s", e, testTo)
	}
	st := h.store.get(t, m.ID)
	if st.Status != auth.MessageSent || st.SentAt == nil || !st.SentAt.Equal(h.clock.Now()) || st.Payload != nil {
		t.Errorf("stored message after delivery: %+v", st)
	}
	if !strings.Contains(h.logs.String(), m.ID) {
		t.Error("log does not name the message")
	}
	h.checkLogs(t)
}

func TestWorkerRetriesWithGrowingBackoff(t *testing.T) {
	t.Parallel()
	const failures = 12
	h := newHarness(t, func(_ context.Context, call int, m notify.Email) error {
		if call <= failures {
			// Servers echo the recipient; it must not reach logs or LastError.
			return fmt.Errorf("451 4.3.0 mailbox %s busy: %w", m.To, errTemp)
		}
		return nil
	}, func(c *notify.WorkerConfig) { c.MaxAttempts = failures + 1; c.MaxAge = 48 * time.Hour })
	m := h.enqueue(t, auth.KindSignInCode)

	var prev time.Duration
	for attempt := 1; attempt <= failures; attempt++ {
		h.runOnce(t, 1)
		st := h.store.get(t, m.ID)
		if st.Status != auth.MessagePending || st.Attempts != attempt {
			t.Fatalf("after failure %d: status %s, attempts %d", attempt, st.Status, st.Attempts)
		}
		if !strings.Contains(st.LastError, "451") || strings.Contains(st.LastError, testTo) {
			t.Errorf("LastError = %q, want the reply without the recipient", st.LastError)
		}
		wait := st.NextAttemptAt.Sub(h.clock.Now())
		nominal := min(10*time.Second<<(attempt-1), 30*time.Minute)
		if wait > nominal || wait < nominal*4/5 {
			t.Errorf("attempt %d: backoff %v, want within [%v, %v]", attempt, wait, nominal*4/5, nominal)
		}
		if nominal < 30*time.Minute && wait <= prev {
			t.Errorf("attempt %d: backoff %v did not grow from %v", attempt, wait, prev)
		}
		prev = wait

		// Not due before its time, however often the worker polls.
		h.clock.Advance(wait - time.Millisecond)
		h.runOnce(t, 0)
		h.clock.Advance(time.Millisecond)
	}
	h.runOnce(t, 1)
	if st := h.store.get(t, m.ID); st.Status != auth.MessageSent {
		t.Fatalf("after recovery: status %s, want sent", st.Status)
	}
	if calls, ok := h.sender.counts(); calls != failures+1 || ok != 1 {
		t.Errorf("sender called %d times (%d ok), want %d (1 ok)", calls, ok, failures+1)
	}
	h.checkLogs(t)
}

func TestWorkerGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		edit func(*notify.WorkerConfig)
		// age is how old the message is at its first attempt.
		age          time.Duration
		wantAttempts int
	}{
		{name: "permanent error fails at once", err: notify.Permanent(errors.New("550 5.1.1 no such user")), wantAttempts: 1},
		{name: "wrapped permanent error", err: fmt.Errorf("smtp: %w", notify.Permanent(errors.New("554 rejected"))), wantAttempts: 1},
		{name: "attempts bound", err: errTemp, edit: func(c *notify.WorkerConfig) { c.MaxAttempts = 4 }, wantAttempts: 4},
		{name: "default attempts bound", err: errTemp, wantAttempts: notify.DefaultMaxAttempts},
		{name: "age bound", err: errTemp, age: 25 * time.Hour, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(context.Context, int, notify.Email) error { return tt.err }, tt.edit)
			m := h.enqueue(t, auth.KindRecovery)
			h.clock.Advance(tt.age)
			for {
				h.runOnce(t, 1)
				st := h.store.get(t, m.ID)
				if st.Status == auth.MessageFailed {
					break
				}
				if st.Attempts >= tt.wantAttempts {
					t.Fatalf("still %s after %d attempts", st.Status, st.Attempts)
				}
				h.clock.Set(st.NextAttemptAt)
			}
			st := h.store.get(t, m.ID)
			if st.Attempts != tt.wantAttempts || st.Payload != nil || !strings.Contains(st.LastError, strings.Fields(tt.err.Error())[0]) {
				t.Errorf("failed message: attempts %d (want %d), payload %d bytes, LastError %q", st.Attempts, tt.wantAttempts, len(st.Payload), st.LastError)
			}
			if calls, _ := h.sender.counts(); calls != tt.wantAttempts {
				t.Errorf("sender called %d times, want %d", calls, tt.wantAttempts)
			}
			h.clock.Advance(48 * time.Hour)
			h.runOnce(t, 0)
			h.checkLogs(t)
		})
	}
}

func TestWorkerFailsUnopenablePayload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	m := h.enqueue(t, auth.KindSignInCode)
	other := *m
	other.ID = m.ID + "-other"
	other.Payload = []byte("not sealed at all, far too short?")
	h.store.add(&other)
	h.runOnce(t, 2)
	if st := h.store.get(t, other.ID); st.Status != auth.MessageFailed || st.Attempts != 1 {
		t.Errorf("unopenable message: status %s, attempts %d; want failed after 1", st.Status, st.Attempts)
	}
	if st := h.store.get(t, m.ID); st.Status != auth.MessageSent {
		t.Errorf("good message in the same batch: status %s, want sent", st.Status)
	}
}

func TestWorkerBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *notify.WorkerConfig) { c.Batch = 3 })
	for range 7 {
		h.enqueue(t, auth.KindSignInCode)
	}
	h.runOnce(t, 3)
	h.runOnce(t, 3)
	h.runOnce(t, 1)
	h.runOnce(t, 0)
	if _, ok := h.sender.counts(); ok != 7 {
		t.Errorf("delivered %d, want 7", ok)
	}
}

// waitSent waits for the fake sender's n-th successful send in real time:
// only a guard against hanging, never a wait for backoff.
func waitSent(t *testing.T, s *fakeSender, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if _, ok := s.counts(); ok >= n {
			return
		}
		select {
		case <-s.sent:
		case <-deadline:
			t.Fatalf("no delivery %d within 10s", n)
		}
	}
}

func TestWorkerRunWakesAtOnce(t *testing.T) {
	t.Parallel()
	// A poll interval the test never reaches: only Wake can deliver.
	h := newHarness(t, nil, func(c *notify.WorkerConfig) { c.Poll = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.worker.Run(ctx) }()

	// Let Run make its first, empty pass before anything is queued.
	select {
	case <-h.store.claimed:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not poll at start")
	}
	for i := 1; i <= 3; i++ {
		h.enqueue(t, auth.KindSignInCode)
		h.outbox.Wake()
		waitSent(t, h.sender, i)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after ctx ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop when ctx ended")
	}
}

func TestWorkerRunPolls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *notify.WorkerConfig) { c.Poll = 10 * time.Millisecond; c.Wake = nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.worker.Run(ctx) }()
	select {
	case <-h.store.claimed:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not poll at start")
	}
	h.enqueue(t, auth.KindSignInCode) // no Wake: the poll finds it
	waitSent(t, h.sender, 1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestWorkerCrashMidSendLeavesMessageForLease(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := newHarness(t, func(ctx context.Context, call int, _ notify.Email) error {
		if call == 1 {
			close(started)
			<-ctx.Done() // a send that hangs until the worker dies
			return ctx.Err()
		}
		return nil
	}, nil)
	m := h.enqueue(t, auth.KindSignInCode)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.worker.RunOnce(ctx)
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunOnce after cancel = %v, want nil (send abandoned)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunOnce did not return when ctx ended")
	}
	st := h.store.get(t, m.ID)
	if st.Status != auth.MessagePending || st.Attempts != 0 || st.LastError != "" || len(st.Payload) == 0 {
		t.Fatalf("abandoned message changed: %+v", st)
	}

	// A restarted worker: the message is leased, so not yet.
	h.runOnce(t, 0)
	h.clock.Advance(notify.DefaultLease - time.Second)
	h.runOnce(t, 0)
	h.clock.Advance(time.Second)
	h.runOnce(t, 1)
	if st := h.store.get(t, m.ID); st.Status != auth.MessageSent {
		t.Fatalf("after the lease: status %s, want sent", st.Status)
	}
	if calls, ok := h.sender.counts(); calls != 2 || ok != 1 {
		t.Errorf("sender called %d times (%d ok), want 2 (1 ok)", calls, ok)
	}
}

func TestWorkerTwoWorkersNeverSendTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *notify.WorkerConfig) { c.Batch = 4 })
	second, err := notify.NewWorker(notify.WorkerConfig{Store: h.store, Box: testBox(t), Sender: h.sender, Clock: h.clock, Batch: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for range n {
		h.enqueue(t, auth.KindSignInCode)
	}
	var wg sync.WaitGroup
	for _, w := range []*notify.Worker{h.worker, second} {
		wg.Go(func() {
			for {
				k, err := w.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if calls, ok := h.sender.counts(); calls != n || ok != n {
		t.Errorf("sender called %d times (%d ok), want %d", calls, ok, n)
	}
}

func TestWorkerSendTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(ctx context.Context, _ int, _ notify.Email) error {
		<-ctx.Done()
		return fmt.Errorf("send: %w", ctx.Err())
	}, func(c *notify.WorkerConfig) { c.SendTimeout = 20 * time.Millisecond })
	m := h.enqueue(t, auth.KindSignInCode)
	h.runOnce(t, 1)
	if st := h.store.get(t, m.ID); st.Status != auth.MessagePending || st.Attempts != 1 || !strings.Contains(st.LastError, "deadline") {
		t.Errorf("after a send timeout: %+v, want a retry recording the deadline", st)
	}
}

func TestWorkerStoreErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.worker.RunOnce(ctx); err == nil || !strings.Contains(err.Error(), "claim") {
		t.Errorf("RunOnce with a failing store = %v, want the claim error", err)
	}
}

func TestNewWorkerChecksConfig(t *testing.T) {
	t.Parallel()
	box := testBox(t)
	full := notify.WorkerConfig{Store: newMemStore(), Box: box, Sender: newFakeSender(nil)}
	tests := []struct {
		name string
		edit func(*notify.WorkerConfig)
		ok   bool
	}{
		{"defaults", func(*notify.WorkerConfig) {}, true},
		{"no store", func(c *notify.WorkerConfig) { c.Store = nil }, false},
		{"no box", func(c *notify.WorkerConfig) { c.Box = nil }, false},
		{"no sender", func(c *notify.WorkerConfig) { c.Sender = nil }, false},
		{"lease under send timeout", func(c *notify.WorkerConfig) { c.Lease = 20 * time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := full
			tt.edit(&cfg)
			if _, err := notify.NewWorker(cfg); (err == nil) != tt.ok {
				t.Errorf("NewWorker err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("550 no")
	p := notify.Permanent(base)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"marked", p, true},
		{"wrapped", fmt.Errorf("ctx: %w", p), true},
		{"joined", errors.Join(errTemp, p), true},
	}
	for _, tt := range tests {
		if got := notify.IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent = %v, want %v", tt.name, got, tt.want)
		}
	}
	if notify.Permanent(nil) != nil || !errors.Is(p, base) || p.Error() != base.Error() || notify.Permanent(p) != p {
		t.Error("Permanent must keep nil, the chain, the text, and not double-wrap")
	}
}
