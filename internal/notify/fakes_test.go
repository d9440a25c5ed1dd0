package notify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/seal"
)

// fakeClock is the shared test clock.
type fakeClock = clocktest.Clock

// memStore is an in-memory notify.Store with the SQL store's contract:
// claims lease messages, a lease that runs out makes the message claimable
// again, and outcomes are recorded only on pending messages.
type memStore struct {
	mu     sync.Mutex
	msgs   map[string]*memEntry
	claims int
	// sentCalls counts MessagesSent calls: one per batch.
	sentCalls int
	// claimed is signalled after every ClaimMessages call.
	claimed chan struct{}
}

type memEntry struct {
	m          auth.Message
	leaseUntil time.Time
}

var _ notify.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{msgs: map[string]*memEntry{}, claimed: make(chan struct{}, 1)}
}

func (s *memStore) add(m *auth.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[m.ID] = &memEntry{m: *m}
}

// Enqueue is add, as auth.MessageQueue: the benchmark fills every store
// the same way.
func (s *memStore) Enqueue(_ context.Context, m *auth.Message) error {
	s.add(m)
	return nil
}

func (s *memStore) get(t *testing.T, id string) auth.Message {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.msgs[id]
	if !ok {
		t.Fatalf("message %s not in store", id)
	}
	m := e.m
	m.Payload = slices.Clone(m.Payload)
	return m
}

func (s *memStore) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Message, error) {
	defer func() {
		select {
		case s.claimed <- struct{}{}:
		default:
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	var due []*memEntry
	for _, e := range s.msgs {
		if e.m.Status == auth.MessagePending && !e.m.NextAttemptAt.After(now) && !e.leaseUntil.After(now) {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *memEntry) int {
		if c := a.m.CreatedAt.Compare(b.m.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.m.ID, b.m.ID)
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]auth.Message, 0, len(due))
	for _, e := range due {
		e.leaseUntil = now.Add(lease)
		m := e.m
		m.Payload = slices.Clone(m.Payload)
		out = append(out, m)
	}
	return out, nil
}

func (s *memStore) pending(id string) (*memEntry, error) {
	e, ok := s.msgs[id]
	if !ok {
		return nil, fmt.Errorf("memstore: message %s: %w", id, auth.ErrNotFound)
	}
	if e.m.Status != auth.MessagePending {
		return nil, fmt.Errorf("memstore: message %s is %s, not pending", id, e.m.Status)
	}
	return e, nil
}

// MessagesSent records each of sent. Stricter than the contract, it
// answers an error naming any message that was not pending (after
// recording the others), so a test sees a message sent twice.
func (s *memStore) MessagesSent(_ context.Context, sent []auth.SentMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sentCalls++
	var errs []error
	for _, m := range sent {
		e, err := s.pending(m.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		at := m.At
		e.m.Status = auth.MessageSent
		e.m.Attempts = m.Attempts
		e.m.SentAt = &at
		e.m.Payload = nil
		e.leaseUntil = time.Time{}
	}
	return errors.Join(errs...)
}

func (s *memStore) MessageRetry(_ context.Context, id string, attempts int, next time.Time, lastErr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.pending(id)
	if err != nil {
		return err
	}
	e.m.Attempts = attempts
	e.m.NextAttemptAt = next
	e.m.LastError = lastErr
	e.leaseUntil = time.Time{}
	return nil
}

func (s *memStore) MessageFailed(_ context.Context, id string, attempts int, lastErr string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.pending(id)
	if err != nil {
		return err
	}
	e.m.Status = auth.MessageFailed
	e.m.Attempts = attempts
	e.m.LastError = lastErr
	e.m.Payload = nil
	e.leaseUntil = time.Time{}
	return nil
}

func (s *memStore) ListMessages(_ context.Context, status, before string, limit int) ([]auth.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []auth.Message
	for _, e := range s.msgs {
		if (status == "" || e.m.Status == status) && (before == "" || e.m.ID < before) {
			m := e.m
			m.Payload = nil
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b auth.Message) int { return strings.Compare(b.ID, a.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func newFakeClock() *fakeClock {
	return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// recorder is the core of the fake senders: it records what it is asked to
// send and returns what fn says (nil fn: success).
type recorder[M any] struct {
	mu    sync.Mutex
	fn    func(ctx context.Context, call int, m M) error
	calls []M
	ok    []M
	// sent is signalled after every successful send.
	sent chan struct{}
}

func newRecorder[M any](fn func(ctx context.Context, call int, m M) error) recorder[M] {
	return recorder[M]{fn: fn, sent: make(chan struct{}, 100)}
}

func (f *recorder[M]) record(ctx context.Context, m M) error {
	f.mu.Lock()
	f.calls = append(f.calls, m)
	call := len(f.calls)
	fn := f.fn
	f.mu.Unlock()
	var err error
	if fn != nil {
		err = fn(ctx, call, m)
	}
	if err == nil {
		f.mu.Lock()
		f.ok = append(f.ok, m)
		f.mu.Unlock()
		f.sent <- struct{}{}
	}
	return err
}

// respond replaces fn; call it before the worker runs.
func (f *recorder[M]) respond(fn func(ctx context.Context, call int, m M) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fn = fn
}

func (f *recorder[M]) counts() (calls, ok int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls), len(f.ok)
}

func (f *recorder[M]) delivered() []M {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ok)
}

// fakeSender is a notify.Sender that records emails.
type fakeSender struct{ recorder[notify.Email] }

func newFakeSender(fn func(ctx context.Context, call int, m notify.Email) error) *fakeSender {
	return &fakeSender{newRecorder(fn)}
}

func (f *fakeSender) Send(ctx context.Context, m notify.Email) error { return f.record(ctx, m) }

// fakeSMSSender is a notify.SMSSender that records text messages.
type fakeSMSSender struct{ recorder[notify.SMS] }

func newFakeSMSSender(fn func(ctx context.Context, call int, m notify.SMS) error) *fakeSMSSender {
	return &fakeSMSSender{newRecorder(fn)}
}

func (f *fakeSMSSender) SendSMS(ctx context.Context, m notify.SMS) error { return f.record(ctx, m) }

var errTemp = errors.New("421 4.3.0 try again later")

func testBox(t testing.TB) *seal.Box {
	t.Helper()
	box, err := seal.New("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func testTemplates(t testing.TB) *notify.Templates {
	t.Helper()
	tpl, err := notify.NewTemplates("", "")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}
