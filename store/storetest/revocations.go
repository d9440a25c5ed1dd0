package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Revocations runs the conformance tests of auth.Revocations. Each
// subscription stands for one node. The suite cannot make an
// implementation lose messages, so the Resync signal of a dropped
// subscription is for the implementation's own tests to check; here a
// Resync is accepted anywhere, as the contract allows.
func Revocations(t *testing.T, open func(t *testing.T) auth.Revocations) {
	t.Helper()
	runGroup(t, "Revocations", open, revocationTests)
}

var revocationTests = []storeTest[auth.Revocations]{
	{"EveryWatcherHears", testRevocationsReachEveryWatcher},
	{"WatchIsLiveOnReturn", testWatchLiveOnReturn},
	{"OneAtATime", testRevocationsOneAtATime},
	{"StopsWithItsContext", testWatchStops},
}

// heardLog is what one watcher heard.
type heardLog struct {
	mu       sync.Mutex
	sessions map[string]bool
	users    map[string]bool
	resyncs  int
	changed  chan struct{}
}

func newHeardLog() *heardLog {
	return &heardLog{sessions: map[string]bool{}, users: map[string]bool{}, changed: make(chan struct{}, 1)}
}

func (h *heardLog) hear(r auth.Revocation) {
	h.mu.Lock()
	for _, id := range r.SessionIDs {
		h.sessions[id] = true
	}
	if r.UserID != "" {
		h.users[r.UserID] = true
	}
	if r.Resync {
		h.resyncs++
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// has reports whether the watcher heard every one of sessions and users.
func (h *heardLog) has(sessions, users []string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range sessions {
		if !h.sessions[id] {
			return false
		}
	}
	for _, id := range users {
		if !h.users[id] {
			return false
		}
	}
	return true
}

// waitFor waits until the watcher heard sessions and users, or fails the
// test after a while: delivery may be asynchronous, but not slow.
func (h *heardLog) waitFor(t *testing.T, who string, sessions, users []string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !h.has(sessions, users) {
		select {
		case <-h.changed:
		case <-deadline.C:
			t.Fatalf("%s did not hear sessions %v and users %v", who, sessions, users)
		}
	}
}

func mustWatch(t *testing.T, ctx context.Context, s auth.Revocations, h *heardLog) {
	t.Helper()
	if err := s.Watch(ctx, h.hear); err != nil {
		t.Fatalf("Watch: %v", err)
	}
}

func testRevocationsReachEveryWatcher(t *testing.T, s auth.Revocations) {
	ctx := t.Context()
	a, b := newHeardLog(), newHeardLog()
	mustWatch(t, ctx, s, a)
	mustWatch(t, ctx, s, b)
	s1, s2, u := newID(), newID(), newID()
	if err := s.Revoke(ctx, s1, s2); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := s.RevokeUser(ctx, u); err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	a.waitFor(t, "the first watcher", []string{s1, s2}, []string{u})
	b.waitFor(t, "the second watcher", []string{s1, s2}, []string{u})
}

func testWatchLiveOnReturn(t *testing.T, s auth.Revocations) {
	// What is published right after Watch returns reaches the watcher: a
	// node that has subscribed misses nothing from then on.
	ctx := t.Context()
	for i := range 5 {
		h := newHeardLog()
		mustWatch(t, ctx, s, h)
		id := newID()
		if err := s.Revoke(ctx, id); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		h.waitFor(t, fmt.Sprintf("watcher #%d", i), []string{id}, nil)
	}
}

func testRevocationsOneAtATime(t *testing.T, s auth.Revocations) {
	// Revocations published at once from many goroutines reach a watcher
	// one at a time, and all of them.
	ctx := t.Context()
	h := newHeardLog()
	var inside, overlaps atomic.Int32
	if err := s.Watch(ctx, func(r auth.Revocation) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		h.hear(r)
		inside.Add(-1)
	}); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	const n = 16
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID()
	}
	noErrors(t, "Revoke", raceAll(n, func(i int) error { return s.Revoke(ctx, ids[i]) }))
	h.waitFor(t, "the watcher", ids, nil)
	if n := overlaps.Load(); n > 0 {
		t.Errorf("the watcher's function ran %d times while it was already running", n)
	}
}

func testWatchStops(t *testing.T, s auth.Revocations) {
	// A watcher whose context ended hears nothing more, while another one
	// still does.
	ctx, cancel := context.WithCancel(t.Context())
	gone, stays := newHeardLog(), newHeardLog()
	mustWatch(t, ctx, s, gone)
	mustWatch(t, t.Context(), s, stays)
	first := newID()
	if err := s.Revoke(t.Context(), first); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	gone.waitFor(t, "the watcher before its context ended", []string{first}, nil)
	cancel()
	later := newID()
	if err := s.Revoke(t.Context(), later); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	stays.waitFor(t, "the remaining watcher", []string{first, later}, nil)
	gone.mu.Lock()
	defer gone.mu.Unlock()
	if gone.sessions[later] {
		t.Error("a watcher whose context ended heard a revocation published afterwards")
	}
}
