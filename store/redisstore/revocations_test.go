package redisstore_test

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
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestRevocations(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	storetest.Revocations(t, func(t *testing.T) auth.Revocations {
		return redisstore.NewRevocations(redistest.Open(t, url))
	})
}

// heard is what one watcher heard, in order: "s:ID", "u:ID" or "resync".
type heard struct {
	mu     sync.Mutex
	events []string
	at     map[string]time.Time // when each session ID was heard
	change chan struct{}
}

func newHeard() *heard {
	return &heard{at: map[string]time.Time{}, change: make(chan struct{}, 1)}
}

func (h *heard) hear(r auth.Revocation) {
	now := time.Now()
	h.mu.Lock()
	if r.Resync {
		h.events = append(h.events, "resync")
	}
	for _, id := range r.SessionIDs {
		h.events = append(h.events, "s:"+id)
		h.at[id] = now
	}
	if r.UserID != "" {
		h.events = append(h.events, "u:"+r.UserID)
	}
	h.mu.Unlock()
	select {
	case h.change <- struct{}{}:
	default:
	}
}

func (h *heard) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// waitFor waits until ok holds for what was heard.
func (h *heard) waitFor(t *testing.T, what string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ev := h.list(); ok(ev) {
			return ev
		}
		select {
		case <-h.change:
		case <-deadline:
			t.Fatalf("waiting for %s; heard %v", what, h.list())
		}
	}
}

func has(event string) func([]string) bool {
	return func(ev []string) bool { return slices.Contains(ev, event) }
}

// eventually waits until cond holds, checking every 10ms.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkResyncBefore fails t unless a Resync comes after the event before
// and ahead of the event later.
func checkResyncBefore(t *testing.T, ev []string, before, later string) {
	t.Helper()
	i, j := slices.Index(ev, before), slices.Index(ev, later)
	if i < 0 || j < 0 || !slices.Contains(ev[i+1:j], "resync") {
		t.Errorf("heard %v; want a resync between %q and %q", ev, before, later)
	}
}

// count answers how many times event was heard.
func (h *heard) count(event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		if e == event {
			n++
		}
	}
	return n
}

// revokeUntilHeard revokes id-0, id-1, … on pub until h hears one of them,
// and answers what h heard and the event it was waiting for. A watcher
// that comes back after an outage may make its subscription once more
// when its Client notices Redis is back, losing what is published
// meanwhile (it hears Resync instead); so tests of the return retry.
func revokeUntilHeard(t *testing.T, pub *redisstore.Revocations, h *heard, id string) ([]string, string) {
	t.Helper()
	for i := range 50 {
		want := fmt.Sprintf("s:%s-%d", id, i)
		if err := pub.Revoke(t.Context(), want[2:]); err == nil {
			timeout := time.After(200 * time.Millisecond)
			for {
				if ev := h.list(); slices.Contains(ev, want) {
					return ev, want
				}
				select {
				case <-h.change:
					continue
				case <-timeout:
				}
				break
			}
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Fatalf("no revocation %s-… was heard; heard %v", id, h.list())
	return nil, ""
}

func watch(t *testing.T, r *redisstore.Revocations) *heard {
	t.Helper()
	h := newHeard()
	if err := r.Watch(t.Context(), h.hear); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if !r.Live() {
		t.Fatal("not live once Watch returned")
	}
	return h
}

func revoke(t *testing.T, r *redisstore.Revocations, ids ...string) {
	t.Helper()
	if err := r.Revoke(t.Context(), ids...); err != nil {
		t.Fatalf("Revoke(%v): %v", ids, err)
	}
}

// The subscription's connection is killed while Redis stays up: the
// watcher is not live until it has subscribed again and heard Resync,
// which comes before anything published afterwards.
func TestRevocationsResyncAfterAKilledSubscription(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t) // CLIENT KILL TYPE pubsub would hit other tests on a shared Redis
	nodes := redistest.Nodes(t, srv.URL, 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)
	revoke(t, a, "before")
	h.waitFor(t, "the first revocation", has("s:before"))

	prev := "s:before"
	for i := range 3 {
		resyncs := h.count("resync")
		killed, err := nodes[0].Redis().ClientKillByFilter(t.Context(), "TYPE", "pubsub").Result()
		if err != nil || killed != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the one subscription", killed, err)
		}
		// The watcher subscribes again and says Resync; only then is it
		// live again, and what is published from then on reaches it.
		h.waitFor(t, "a resync", func([]string) bool { return h.count("resync") > resyncs })
		eventually(t, "live after the Resync", b.Live)
		later := fmt.Sprintf("s:later-%d", i)
		revoke(t, a, later[2:])
		ev := h.waitFor(t, "the revocation after the kill", has(later))
		checkResyncBefore(t, ev, prev, later)
		prev = later
	}
	if !nodes[1].Up() {
		t.Error("a killed subscription marked Redis down; it answered all along")
	}
}

// A subscription that hears nothing is pinged and stays live; one whose
// Redis stops answering without closing the connection (CLIENT PAUSE: a
// hung server or a network split) is not live within about a second, and
// is made again, with a Resync, once Redis answers.
func TestRevocationsHealthPings(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	nodes := redistest.Nodes(t, srv.URL, 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)

	time.Sleep(1500 * time.Millisecond) // quiet: three health pings
	list, err := nodes[0].Redis().ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "cmd=ping") {
		t.Errorf("no subscriber pinged; CLIENT LIST:\n%s", list)
	}
	if ev := h.list(); len(ev) > 0 || !b.Live() {
		t.Fatalf("a quiet subscription heard %v, live %v; want nothing, live", ev, b.Live())
	}

	if err := nodes[0].Redis().Do(t.Context(), "CLIENT", "PAUSE", "2500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	eventually(t, "not live while Redis hangs", func() bool { return !b.Live() })
	took := time.Since(paused)
	t.Logf("a hung Redis was noticed after %v", took)
	if took > 2*time.Second {
		t.Errorf("a hung Redis was noticed after %v; want about a second", took)
	}
	h.waitFor(t, "a resync once Redis answers", has("resync"))
	eventually(t, "live again", func() bool { return nodes[0].Up() && b.Live() })
	ev, after := revokeUntilHeard(t, a, h, "after")
	if ev[0] != "resync" {
		t.Errorf("heard %v; want a resync before %s", ev, after)
	}
}

// Redis stops: the watcher is no longer live and Revoke fails at once,
// keeping the revocation; Redis starts again: the watcher resubscribes,
// hears Resync before anything later, and is live again.
func TestRevocationsThroughAnOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	nodes := redistest.Nodes(t, srv.URL, 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)
	revoke(t, a, "before")
	h.waitFor(t, "the first revocation", has("s:before"))

	srv.Stop()
	eventually(t, "down", func() bool { return !b.Live() })
	if err := a.Revoke(t.Context(), "during"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Revoke while Redis is stopped = %v; want ErrUnavailable", err)
	}
	if nodes[0].Up() {
		t.Fatal("a failed publish left the Client up")
	}
	start := time.Now()
	err := a.Revoke(t.Context(), "during-2")
	if took := time.Since(start); err == nil || took > 20*time.Millisecond {
		t.Errorf("Revoke while the Client is down = %v after %v; want an error at once", err, took)
	}

	srv.Start()
	h.waitFor(t, "a resync", has("resync"))
	eventually(t, "up and live again", func() bool { return nodes[0].Up() && b.Live() })
	ev, after := revokeUntilHeard(t, a, h, "after")
	checkResyncBefore(t, ev, "s:before", after)
}

// A node whose Client is down publishes nothing and keeps what it could
// not publish; once its Client is up again (by its own probe), the other
// nodes, whose subscriptions never dropped, hear it.
func TestRevocationsKeptWhileDownArePublishedWhenUp(t *testing.T) {
	t.Parallel()
	nodes := redistest.Nodes(t, redistest.URL(t), 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)

	_ = nodes[0].Report(errors.New("a command of this node timed out")) // down, though Redis answers
	for _, tc := range []struct {
		name   string
		revoke func() error
	}{
		{"sessions", func() error { return a.Revoke(t.Context(), "kept-1", "kept-2") }},
		{"user", func() error { return a.RevokeUser(t.Context(), "kept-user") }},
	} {
		start := time.Now()
		err := tc.revoke()
		if took := time.Since(start); !errors.Is(err, auth.ErrUnavailable) || took > 20*time.Millisecond {
			t.Errorf("%s: revoke while the Client is down = %v after %v; want ErrUnavailable at once", tc.name, err, took)
		}
	}
	if ev := h.list(); len(ev) > 0 {
		t.Fatalf("heard %v while the publishing node was down", ev)
	}
	// The probe pings within a second and finds Redis answering.
	ev := h.waitFor(t, "the kept revocations", func(ev []string) bool {
		return has("s:kept-1")(ev) && has("s:kept-2")(ev) && has("u:kept-user")(ev)
	})
	if slices.Contains(ev, "resync") {
		t.Errorf("heard %v; the watching node never lost its subscription, so no resync was due", ev)
	}
	if !b.Live() {
		t.Error("the watching node is not live")
	}
}

// Kept revocations past the limit become one message that resynchronises
// every node.
func TestRevocationsKeptOverflowToResync(t *testing.T) {
	t.Parallel()
	nodes := redistest.Nodes(t, redistest.URL(t), 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)
	_ = nodes[0].Report(errors.New("down for this test"))
	for i := range 1001 {
		_ = a.Revoke(t.Context(), fmt.Sprintf("s%d", i))
	}
	ev := h.waitFor(t, "a resync", has("resync"))
	if len(ev) != 1 {
		t.Errorf("heard %v; want one resync in place of the kept revocations", ev)
	}
}

// A message that is not understood drops the whole view.
func TestRevocationsOddMessagesResync(t *testing.T) {
	t.Parallel()
	c := redistest.Open(t, redistest.URL(t))
	r := redisstore.NewRevocations(c)
	h := watch(t, r)
	for _, msg := range []string{"*", "", "s ", "u ", "u a b", "x y", `{"ids":["a"]}`} {
		if err := c.Redis().Publish(t.Context(), c.Key("revocations"), msg).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Redis().Publish(t.Context(), c.Key("revocations"), "s a  b").Err(); err != nil {
		t.Fatal(err)
	}
	ev := h.waitFor(t, "every message", has("s:b"))
	want := []string{"resync", "resync", "resync", "resync", "resync", "resync", "resync", "s:a", "s:b"}
	if !slices.Equal(ev, want) {
		t.Errorf("heard %v; want %v", ev, want)
	}
}

// Watch on a Redis that does not answer returns (a node starting during an
// outage keeps serving from the store), not live; once Redis answers, the
// watcher subscribes, hears Resync, and is live.
func TestRevocationsWatchDuringAnOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.Stop()
	c := redistest.Open(t, srv.URL)
	r := redisstore.NewRevocations(c)
	h := newHeard()
	if err := r.Watch(t.Context(), h.hear); err != nil {
		t.Fatalf("Watch while Redis is down: %v", err)
	}
	if r.Live() {
		t.Fatal("live with Redis down")
	}
	srv.Start()
	h.waitFor(t, "a resync", has("resync"))
	eventually(t, "live", r.Live)
	ev, after := revokeUntilHeard(t, r, h, "after")
	if ev[0] != "resync" {
		t.Errorf("heard %v; want a resync first, then %s", ev, after)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Watch(ctx, h.hear); err == nil {
		t.Error("Watch with an ended context: no error")
	}
}

// TestRevocationDelay measures how long a revocation published on one node
// takes to reach another node's watcher, over many revocations one after
// another: from just before Revoke to the watcher's call. Figures are in
// docs/benchmarks.md ("Revocation across nodes (Redis)").
func TestRevocationDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement; skipped with -short")
	}
	nodes := redistest.Nodes(t, redistest.URL(t), 2)
	a, b := redisstore.NewRevocations(nodes[0]), redisstore.NewRevocations(nodes[1])
	h := watch(t, b)
	const n = 1000
	sent := make(map[string]time.Time, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("delay-%d", i)
	}
	for _, id := range ids {
		sent[id] = time.Now()
		revoke(t, a, id)
	}
	h.waitFor(t, "every revocation", func([]string) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.at) == n
	})
	delays := make([]time.Duration, 0, n)
	h.mu.Lock()
	for _, id := range ids {
		delays = append(delays, h.at[id].Sub(sent[id]))
	}
	h.mu.Unlock()
	slices.Sort(delays)
	p50, p99, worst := delays[n/2], delays[n*99/100], delays[n-1]
	t.Logf("revocation delay over %d revocations: p50 %v, p99 %v, max %v", n, p50, p99, worst)
	if p99 > time.Second {
		t.Errorf("p99 %v; the contract says within 1 second", p99)
	}
}
