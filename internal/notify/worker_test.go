package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify"
)

type harness struct {
	store  *memStore
	sender *fakeSender
	sms    *fakeSMSSender
	clock  *fakeClock
	outbox *notify.Outbox
	worker *notify.Worker
	logs   *gatehousetest.Logs // safe for the worker's concurrent deliveries
}

// newHarness wires a worker to an in-memory store, fake email and SMS
// senders and a fake clock; send sets the reply of the email sender (h.sms.respond
// sets the SMS one), and edit adjusts the config before NewWorker.
func newHarness(t *testing.T, send func(ctx context.Context, call int, m notify.Email) error, edit func(*notify.WorkerConfig)) *harness {
	t.Helper()
	h := &harness{store: newMemStore(), sender: newFakeSender(send), sms: newFakeSMSSender(nil), clock: newFakeClock(), logs: gatehousetest.NewLogs(t)}
	box := testBox(t)
	h.outbox = notify.NewOutbox(testTemplates(t), box, h.clock)
	cfg := notify.WorkerConfig{
		Store:  h.store,
		Box:    box,
		Sender: h.sender,
		SMS:    h.sms,
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

// testData is what every enqueued message carries.
var testData = auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute, Host: testHost}

// enqueue composes a message as a request would, to the test recipient of
// kind's channel, and stores it.
func (h *harness) enqueue(t *testing.T, kind string) *auth.Message {
	t.Helper()
	return h.enqueueEdited(t, kind, nil)
}

// enqueueEdited is enqueue with edit applied to the message before it is
// stored.
func (h *harness) enqueueEdited(t *testing.T, kind string, edit func(*auth.Message)) *auth.Message {
	t.Helper()
	m, err := h.outbox.Compose(context.Background(), kind, recipientFor(kind), testData)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
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
	for _, secret := range []string{testCode, testLink, "sign-in", testTo, testPhone, strings.TrimPrefix(testPhone, "+")} {
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
	if st := h.store.get(t, m.ID); st.Status != auth.MessageSent || st.Attempts != failures+1 {
		t.Fatalf("after recovery: status %s, %d attempts; want sent after %d (the failed ones and the one that worked)", st.Status, st.Attempts, failures+1)
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
	// The rules are the channel's sender's business only in what error it
	// returns: both channels retry and give up alike.
	for _, tt := range tests {
		for _, kind := range []string{auth.KindRecovery, auth.KindSMSCode} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, func(context.Context, int, notify.Email) error { return tt.err }, tt.edit)
				h.sms.respond(func(context.Context, int, notify.SMS) error { return tt.err })
				m := h.enqueue(t, kind)
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
				emails, _ := h.sender.counts()
				texts, _ := h.sms.counts()
				if emails+texts != tt.wantAttempts || (kind == auth.KindSMSCode) != (texts > 0) {
					t.Errorf("senders called %d times by email, %d by SMS; want %d on the %s channel", emails, texts, tt.wantAttempts, st.Channel)
				}
				h.clock.Advance(48 * time.Hour)
				h.runOnce(t, 0)
				h.checkLogs(t)
			})
		}
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

// run starts the worker's Run loop on ctx and returns once Run has made
// its first pass; Run's result arrives on the channel.
func (h *harness) run(ctx context.Context, t *testing.T) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.worker.Run(ctx) }()
	select {
	case <-h.store.claimed:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not poll at start")
	}
	return done
}

func TestWorkerRunWakesAtOnce(t *testing.T) {
	t.Parallel()
	// A poll interval the test never reaches: only Wake can deliver.
	h := newHarness(t, nil, func(c *notify.WorkerConfig) { c.Poll = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	// Let Run make its first, empty pass before anything is queued.
	done := h.run(ctx, t)
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
	done := h.run(ctx, t)
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
	full := notify.WorkerConfig{Store: newMemStore(), Box: box, Sender: newFakeSender(nil), SMS: newFakeSMSSender(nil)}
	tests := []struct {
		name string
		edit func(*notify.WorkerConfig)
		ok   bool
	}{
		{"defaults", func(*notify.WorkerConfig) {}, true},
		{"email only", func(c *notify.WorkerConfig) { c.SMS = nil }, true},
		{"sms only", func(c *notify.WorkerConfig) { c.Sender = nil }, true},
		{"no store", func(c *notify.WorkerConfig) { c.Store = nil }, false},
		{"no box", func(c *notify.WorkerConfig) { c.Box = nil }, false},
		{"no sender", func(c *notify.WorkerConfig) { c.Sender, c.SMS = nil, nil }, false},
		{"lease under send timeout", func(c *notify.WorkerConfig) { c.Lease = 20 * time.Second }, false},
		// 64 messages one at a time take 64 send timeouts: 32 minutes.
		{"lease under a batch's rounds", func(c *notify.WorkerConfig) { c.Batch, c.Concurrency, c.Lease = 64, 1, notify.DefaultLease }, false},
		// Unset, the lease stretches to them (GATEHOUSE_DELIVERY_BATCH and
		// _CONCURRENCY set no lease).
		{"unset lease over a batch's rounds", func(c *notify.WorkerConfig) { c.Batch, c.Concurrency = 1000, 1 }, true},
		{"lease over a batch's rounds", func(c *notify.WorkerConfig) { c.Batch, c.Concurrency = 64, 8 }, true},
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

func TestWorkerRoutesByChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	email := h.enqueue(t, auth.KindSignInCode)
	sms := h.enqueue(t, auth.KindSMSCode)
	h.runOnce(t, 2)
	h.runOnce(t, 0)

	want := notify.SMS{To: testPhone, Text: testCode + " is your Gatehouse code. It expires in 5 minutes.\n\n@" + testHost + " #" + testCode}
	if got := h.sms.delivered(); len(got) != 1 || got[0] != want {
		t.Errorf("SMS sender got %+v, want only %+v", got, want)
	}
	if got := h.sender.delivered(); len(got) != 1 || got[0].To != testTo || !strings.Contains(got[0].Subject, "sign-in code") {
		t.Errorf("email sender got %+v, want only the sign-in email to %s", got, testTo)
	}
	// Sent at the first try: one attempt, as the log says (attempt=1).
	for _, m := range []*auth.Message{email, sms} {
		if st := h.store.get(t, m.ID); st.Status != auth.MessageSent || st.Attempts != 1 || st.Payload != nil || st.LastError != "" {
			t.Errorf("%s message after delivery: %+v", m.Channel, st)
		}
	}
	h.checkLogs(t)
}

func TestWorkerChannelWithoutSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*notify.WorkerConfig)
		kind    string
		message func(*auth.Message)
		wantErr string
	}{
		{"sms without an sms sender", func(c *notify.WorkerConfig) { c.SMS = nil }, auth.KindSMSCode, nil, "notify: no sms sender configured"},
		{"email without an email sender", func(c *notify.WorkerConfig) { c.Sender = nil }, auth.KindSignInCode, nil, "notify: no email sender configured"},
		{"unknown channel", nil, auth.KindSignInCode, func(m *auth.Message) { m.Channel = "fax" }, `notify: unknown channel "fax"`},
		{"no channel", nil, auth.KindSMSCode, func(m *auth.Message) { m.Channel = "" }, `notify: unknown channel ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, tt.edit)
			m := h.enqueueEdited(t, tt.kind, tt.message)
			h.runOnce(t, 1)
			st := h.store.get(t, m.ID)
			if st.Status != auth.MessageFailed || st.Attempts != 1 || st.Payload != nil || st.LastError != tt.wantErr {
				t.Errorf("message: status %s, attempts %d, payload %d bytes, LastError %q; want failed at once with %q",
					st.Status, st.Attempts, len(st.Payload), st.LastError, tt.wantErr)
			}
			emails, _ := h.sender.counts()
			texts, _ := h.sms.counts()
			if emails+texts != 0 {
				t.Errorf("senders called %d times by email, %d by SMS; want none", emails, texts)
			}
			h.clock.Advance(48 * time.Hour)
			h.runOnce(t, 0) // never retried
			if logged, _ := json.Marshal(tt.wantErr); !strings.Contains(h.logs.String(), `"error":`+string(logged)) {
				t.Errorf("logs lack the error %s:\n%s", logged, h.logs)
			}
			h.checkLogs(t)
		})
	}
}

func TestWorkerSMSRetriesThenSends(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.sms.respond(func(_ context.Context, call int, m notify.SMS) error {
		if call == 1 {
			return fmt.Errorf("sms: twilio: 429: too many requests for %s", m.To)
		}
		return nil
	})
	m := h.enqueue(t, auth.KindSMSCode)
	h.runOnce(t, 1)
	st := h.store.get(t, m.ID)
	if st.Status != auth.MessagePending || st.Attempts != 1 || st.LastError != "sms: twilio: 429: too many requests for [recipient]" {
		t.Fatalf("after a temporary failure: %+v, want a redacted retry", st)
	}
	wait := st.NextAttemptAt.Sub(h.clock.Now())
	if wait > notify.DefaultBackoff || wait < notify.DefaultBackoff*4/5 {
		t.Errorf("backoff %v, want within [%v, %v]", wait, notify.DefaultBackoff*4/5, notify.DefaultBackoff)
	}
	h.clock.Advance(wait - time.Millisecond)
	h.runOnce(t, 0)
	h.clock.Advance(time.Millisecond)
	h.runOnce(t, 1)
	if st := h.store.get(t, m.ID); st.Status != auth.MessageSent || st.Payload != nil {
		t.Errorf("after the retry: %+v, want sent", st)
	}
	if calls, ok := h.sms.counts(); calls != 2 || ok != 1 {
		t.Errorf("SMS sender called %d times (%d ok), want 2 (1 ok)", calls, ok)
	}
	if calls, _ := h.sender.counts(); calls != 0 {
		t.Errorf("email sender called %d times for an SMS", calls)
	}
	h.checkLogs(t)
}

func TestWorkerRedactsRecipient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, err, want string
	}{
		{
			name: "twilio invalid number",
			kind: auth.KindSMSCode,
			err:  "sms: twilio: 400: error 21211: The 'To' number +14155552671 is not a valid phone number.",
			want: "sms: twilio: 400: error 21211: The 'To' number [recipient] is not a valid phone number.",
		},
		{
			name: "number without plus",
			kind: auth.KindSMSCode,
			err:  "sms: twilio: 400: error 21614: 14155552671 is not a mobile number",
			want: "sms: twilio: 400: error 21614: [recipient] is not a mobile number",
		},
		{
			name: "form-encoded number",
			kind: auth.KindSMSCode,
			err:  "sms: twilio: bad request To=%2B14155552671&Body=...",
			want: "sms: twilio: bad request To=%2B[recipient]&Body=...",
		},
		{
			name: "other numbers kept",
			kind: auth.KindSMSCode,
			err:  `sms: twilio: 400: from +15005550006 to "+14155552671": 141555526710 unknown`,
			want: `sms: twilio: 400: from +15005550006 to "[recipient]": [recipient]0 unknown`,
		},
		{
			name: "email in another case",
			kind: auth.KindSignInCode,
			err:  "550 5.1.1 <Alice@Example.COM>: no such user",
			want: "550 5.1.1 <[recipient]>: no such user",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fail := notify.Permanent(errors.New(tt.err))
			h := newHarness(t, func(context.Context, int, notify.Email) error { return fail }, nil)
			h.sms.respond(func(context.Context, int, notify.SMS) error { return fail })
			m := h.enqueue(t, tt.kind)
			h.runOnce(t, 1)
			if st := h.store.get(t, m.ID); st.Status != auth.MessageFailed || st.LastError != tt.want {
				t.Errorf("status %s, LastError %q; want failed with %q", st.Status, st.LastError, tt.want)
			}
			h.checkLogs(t)
		})
	}
}

// TestWorkerObserve: the Observe hook hears each attempt's outcome by
// channel: a retry, then the send, and a message given up on.
func TestWorkerObserve(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var heard []string
	h := newHarness(t, func(_ context.Context, call int, m notify.Email) error {
		if call == 1 {
			return fmt.Errorf("451 busy: %w", errTemp)
		}
		return nil
	}, func(c *notify.WorkerConfig) {
		c.Observe = func(channel, status string) {
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, channel+":"+status)
		}
	})
	m := h.enqueue(t, auth.KindSignInCode)
	h.runOnce(t, 1)
	h.clock.Advance(time.Hour)
	h.runOnce(t, 1)
	bad := *m
	bad.ID = m.ID + "-bad"
	bad.Payload = []byte("not sealed at all, far too short?")
	h.store.add(&bad)
	h.runOnce(t, 1)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"email:" + notify.DeliveryRetry, "email:" + notify.DeliverySent, "email:" + notify.DeliveryFailed}
	if !slices.Equal(heard, want) {
		t.Errorf("Observe heard %q; want %q", heard, want)
	}
}
