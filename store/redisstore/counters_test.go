package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/throttle/throttletest"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
	"github.com/gatehouse/gatehouse/store/storetest"
)

var at = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// The shared counters pass the groups every implementation of their ports
// passes, each test on a Client (so a prefix) of its own.
func TestCountersConformance(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	storetest.Throttles(t, func(t *testing.T) auth.Throttle {
		return redisstore.NewThrottle(redistest.Open(t, url), "throttle", clocktest.New(at), throttle.Config{})
	})
	storetest.SendLimiters(t, func(t *testing.T) auth.SendLimiter {
		return redisstore.NewWindow(redistest.Open(t, url), "send", clocktest.New(at), nil)
	})
	storetest.Limiters(t, func(t *testing.T) auth.Limiter {
		return redisstore.NewLimiter(redistest.Open(t, url), "limits", clocktest.New(at))
	})
}

// The shared counters walk the scenarios package throttle's own walk, so
// they keep its policy to the millisecond.
func TestCountersScenarios(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	t.Run("Throttle", func(t *testing.T) {
		t.Parallel()
		throttletest.Throttles(t, func(t *testing.T, clock auth.Clock, cfg throttle.Config) auth.Throttle {
			return redisstore.NewThrottle(upOnly(t, redistest.Open(t, url)), "throttle", clock, cfg)
		})
	})
	t.Run("Window", func(t *testing.T) {
		t.Parallel()
		throttletest.Windows(t, func(t *testing.T, clock auth.Clock, limits []throttle.Limit) auth.SendLimiter {
			return redisstore.NewWindow(upOnly(t, redistest.Open(t, url)), "send", clock, limits)
		})
	})
	t.Run("Limiter", func(t *testing.T) {
		t.Parallel()
		throttletest.Limiters(t, func(t *testing.T, clock auth.Clock) auth.Limiter {
			return redisstore.NewLimiter(upOnly(t, redistest.Open(t, url)), "limits", clock)
		})
	})
}

// upOnly fails t when c goes down before t ends: a test of what Redis
// counts must not pass on the fall-back's answers.
func upOnly(t *testing.T, c *redisstore.Client) *redisstore.Client {
	t.Helper()
	t.Cleanup(func() {
		if !c.Up() {
			t.Error("Redis went down during the test: some answers came from the fall-back")
		}
	})
	return c
}

// Two nodes on one Redis share one count: failures, sends and takes
// alternated between them meet the limits of one node.
func TestCountersSharedByNodes(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	clock := clocktest.New(at)
	nodes := [2]*redisstore.Client{
		upOnly(t, redistest.OpenWith(t, url, redisstore.Options{Prefix: prefix})),
		upOnly(t, redistest.OpenWith(t, url, redisstore.Options{Prefix: prefix})),
	}
	ctx := t.Context()

	t.Run("Throttle", func(t *testing.T) {
		var th [2]auth.Throttle
		for i, c := range nodes {
			th[i] = redisstore.NewThrottle(c, "throttle", clock, throttle.Config{})
		}
		const key = "acct:shared"
		for i := range 4 {
			if err := th[i%2].Fail(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		for i := range th {
			if wait, err := th[i].Wait(ctx, key); wait != 0 || err != nil {
				t.Fatalf("node %d after 4 failures over both: Wait = %v, %v; want 0", i, wait, err)
			}
		}
		if err := th[0].Fail(ctx, key); err != nil {
			t.Fatal(err)
		}
		for i := range th {
			if wait, err := th[i].Wait(ctx, key); wait != time.Minute || err != nil {
				t.Errorf("node %d after the 5th failure over both: Wait = %v, %v; want 1m", i, wait, err)
			}
		}
		// A success on one node frees the key on both.
		if err := th[1].Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		if wait, _ := th[0].Wait(ctx, key); wait != 0 {
			t.Errorf("node 0 after a Reset on node 1: Wait = %v; want 0", wait)
		}
	})

	t.Run("SendLimiter", func(t *testing.T) {
		a := redisstore.NewWindow(nodes[0], "send", clock, nil)
		b := redisstore.NewWindow(nodes[1], "send", clock, nil)
		const key = "mail:shared@example.com"
		if wait, err := a.Allow(ctx, key); wait != 0 || err != nil {
			t.Fatalf("first send on node 0: %v, %v", wait, err)
		}
		if wait, err := b.Allow(ctx, key); wait != time.Minute || err != nil {
			t.Errorf("second send on node 1: %v, %v; want a wait of 1m", wait, err)
		}
	})

	t.Run("Limiter", func(t *testing.T) {
		a := redisstore.NewLimiter(nodes[0], "limits", clock)
		b := redisstore.NewLimiter(nodes[1], "limits", clock)
		l := auth.Limit{Max: 3, Per: time.Hour, Block: 15 * time.Minute, MaxBlock: time.Hour}
		const key = "mfa:shared"
		for i := range l.Max {
			if wait, tripped, err := []auth.Limiter{a, b}[i%2].Take(ctx, key, l); wait != 0 || tripped || err != nil {
				t.Fatalf("take %d: %v, %v, %v", i+1, wait, tripped, err)
			}
		}
		if err := a.Return(ctx, key); err != nil { // the newest event, whichever node took it
			t.Fatal(err)
		}
		if wait, tripped, _ := b.Take(ctx, key, l); wait != 0 || tripped {
			t.Fatalf("take after a Return on the other node: %v, %v; want 0", wait, tripped)
		}
		if wait, tripped, _ := a.Take(ctx, key, l); wait != 15*time.Minute || !tripped {
			t.Errorf("take past the limit: %v, %v; want 15m, tripped", wait, tripped)
		}
		if wait, tripped, _ := b.Take(ctx, key, l); wait != 15*time.Minute || tripped {
			t.Errorf("take on the other node while locked: %v, %v; want 15m, not tripped again", wait, tripped)
		}
	})
}

// Redis stops: every counter answers from its fall-back, within the
// command timeout and without an error, and the Client says Redis is
// down. It starts again: once the Client notices, the counters count in
// Redis again (this Redis keeps nothing over a restart, so afresh).
func TestCountersFallBackOnOutage(t *testing.T) {
	t.Parallel()
	const timeout = 250 * time.Millisecond
	srv := redistest.Start(t)
	c := redistest.OpenWith(t, srv.URL, redisstore.Options{Timeout: timeout})
	back := make(chan struct{}, 1)
	c.OnUp(func() {
		select {
		case back <- struct{}{}:
		default:
		}
	})
	ctx := t.Context()
	clock := clocktest.New(at)
	th := redisstore.NewThrottle(c, "throttle", clock, throttle.Config{})
	win := redisstore.NewWindow(c, "send", clock, nil)
	lim := redisstore.NewLimiter(c, "limits", clock)
	l := auth.Limit{Max: 2, Per: time.Hour, Block: time.Minute, MaxBlock: time.Hour}
	const key = "k"

	// timed fails t when one call takes longer than the timeout (with a
	// little room for a busy machine) or fails.
	timed := func(what string, call func() error) {
		t.Helper()
		start := time.Now()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if d := time.Since(start); d > timeout+100*time.Millisecond {
			t.Errorf("%s took %v with Redis down; want at most the timeout %v", what, d, timeout)
		}
	}
	fail := func(n int) {
		t.Helper()
		for range n {
			timed("Fail", func() error { return th.Fail(ctx, key) })
		}
	}
	wait := func() time.Duration {
		t.Helper()
		var w time.Duration
		timed("Wait", func() (err error) { w, err = th.Wait(ctx, key); return err })
		return w
	}
	allow := func() time.Duration {
		t.Helper()
		var w time.Duration
		timed("Allow", func() (err error) { w, err = win.Allow(ctx, key); return err })
		return w
	}
	takeN := func(n int) (w time.Duration, tripped bool) {
		t.Helper()
		for range n {
			timed("Take", func() (err error) { w, tripped, err = lim.Take(ctx, key, l); return err })
		}
		return w, tripped
	}
	inRedis := func() int64 {
		t.Helper()
		n, err := c.Redis().DBSize(ctx).Result()
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		return n
	}

	fail(2)
	if n := inRedis(); n == 0 {
		t.Fatal("failures with Redis up: nothing in Redis")
	}

	srv.Stop()
	// The first call finds Redis gone, the rest go straight to the
	// fall-back; all of them count.
	fail(5)
	if c.Up() {
		t.Error("Redis stopped, and the Client says it is up")
	}
	if w := wait(); w != time.Minute {
		t.Errorf("Wait after 5 failures in the outage = %v; want 1m (counted on this node)", w)
	}
	if w := allow(); w != 0 {
		t.Errorf("first send in the outage waits %v", w)
	}
	if w := allow(); w != time.Minute {
		t.Errorf("second send in the outage waits %v; want 1m", w)
	}
	if w, tripped := takeN(3); w != time.Minute || !tripped {
		t.Errorf("takes past the limit in the outage: %v, %v; want 1m, tripped", w, tripped)
	}
	if err := lim.Return(ctx, key); err != nil {
		t.Errorf("Return in the outage: %v", err)
	}
	if err := th.Reset(ctx, "other"); err != nil {
		t.Errorf("Reset in the outage: %v", err)
	}

	srv.Start()
	select {
	case <-back:
	case <-time.After(10 * time.Second):
		t.Fatal("the Client did not notice Redis came back")
	}
	if !c.Up() {
		t.Fatal("Redis came back, and the Client says it is down")
	}
	// Redis counts again, from what it holds: nothing, after a restart.
	if w := wait(); w != 0 {
		t.Errorf("Wait once Redis is back = %v; want 0 (the outage's lockout stays on the fall-back)", w)
	}
	if w := allow(); w != 0 {
		t.Errorf("send once Redis is back waits %v", w)
	}
	if w, tripped := takeN(2); w != 0 || tripped {
		t.Errorf("takes once Redis is back: %v, %v; want 0", w, tripped)
	}
	fail(5)
	if w := wait(); w != time.Minute {
		t.Errorf("Wait after 5 failures once Redis is back = %v; want 1m", w)
	}
	if n := inRedis(); n == 0 {
		t.Error("counted once Redis is back: nothing in Redis")
	}
}

// Redis hangs (CLIENT PAUSE: it takes commands and answers none): a call
// answers from the fall-back once the command timeout passes, and the
// calls after it at once. When Redis answers again, its counts from
// before the outage are used again; those made meanwhile stay on the
// node.
func TestCountersFallBackOnTimeout(t *testing.T) {
	t.Parallel()
	const (
		timeout = 200 * time.Millisecond
		pause   = 1500 * time.Millisecond
	)
	srv := redistest.Start(t)
	c := redistest.OpenWith(t, srv.URL, redisstore.Options{Timeout: timeout})
	admin := redistest.OpenWith(t, srv.URL, redisstore.Options{})
	ctx := t.Context()
	clock := clocktest.New(at)
	th := redisstore.NewThrottle(c, "throttle", clock, throttle.Config{})
	const key = "k"
	for range 3 {
		if err := th.Fail(ctx, key); err != nil {
			t.Fatal(err)
		}
	}

	if err := admin.Redis().Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	paused := time.Now()
	start := time.Now()
	w, err := th.Wait(ctx, key)
	if d := time.Since(start); err != nil || w != 0 || d < timeout || d > timeout+150*time.Millisecond {
		t.Errorf("Wait with Redis hung = %v, %v after %v; want 0 from the fall-back after the timeout %v", w, err, d, timeout)
	}
	if c.Up() {
		t.Error("Redis hung, and the Client says it is up")
	}
	start = time.Now()
	for range 5 {
		if err := th.Fail(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := th.Wait(ctx, key); w != time.Minute {
		t.Errorf("Wait after 5 failures in the outage = %v; want 1m", w)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("calls once the Client knows Redis is down took %v; want no wait on Redis", d)
	}
	if time.Since(paused) >= pause {
		t.Fatal("the pause ended before the outage was tested: too slow a machine for this test")
	}

	deadline := time.Now().Add(10 * time.Second)
	for !c.Up() {
		if time.Now().After(deadline) {
			t.Fatal("the Client did not notice Redis answers again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Redis held 3 failures from before: the 4th is let be, the 5th locks.
	if w, _ := th.Wait(ctx, key); w != 0 {
		t.Errorf("Wait once Redis is back = %v; want 0 (3 failures in Redis)", w)
	}
	if err := th.Fail(ctx, key); err != nil {
		t.Fatal(err)
	}
	if w, _ := th.Wait(ctx, key); w != 0 {
		t.Errorf("Wait after a 4th failure in Redis = %v; want 0", w)
	}
	if err := th.Fail(ctx, key); err != nil {
		t.Fatal(err)
	}
	if w, _ := th.Wait(ctx, key); w != time.Minute {
		t.Errorf("Wait after a 5th failure in Redis = %v; want 1m", w)
	}
}

// Every key the counters write carries a TTL no longer than its window
// or block, so nothing outlives them.
func TestCountersKeysExpire(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	c := upOnly(t, redistest.Open(t, url))
	ctx := t.Context()
	clock := clocktest.New(at)
	th := redisstore.NewThrottle(c, "throttle", clock, throttle.Config{})
	win := redisstore.NewWindow(c, "send", clock, nil)
	lim := redisstore.NewLimiter(c, "limits", clock)
	l := auth.Limit{Max: 2, Per: time.Hour, Block: 15 * time.Minute, MaxBlock: time.Hour}
	for range 5 {
		_ = th.Fail(ctx, "locked")
	}
	_ = th.Fail(ctx, "failing")
	_, _ = win.Allow(ctx, "sent")
	for range 3 {
		_, _, _ = lim.Take(ctx, "locked", l)
	}
	_, _, _ = lim.Take(ctx, "taken", l)
	_, _, _ = lim.Take(ctx, "sliding", auth.Limit{Max: 1, Per: time.Minute})
	_, _, _ = lim.Take(ctx, "sliding", auth.Limit{Max: 1, Per: time.Minute})

	// The longest life: a lockout (1m) and a Window (15m) after it; a
	// lock (15m) and its window (1h) after it.
	const longest = time.Hour + 15*time.Minute
	keys, err := c.Redis().Keys(ctx, c.Key("*")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 6 {
		t.Fatalf("%d keys written: %q; want more", len(keys), keys)
	}
	for _, k := range keys {
		ttl, err := c.Redis().PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > longest {
			t.Errorf("key %s: TTL %v; want one within (0, %v]", k, ttl, longest)
		}
	}
}

func BenchmarkCounters(b *testing.B) {
	url := redistest.URL(b)
	c := redistest.Open(b, url)
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("user", i, "@example.com")
	}

	th := redisstore.NewThrottle(c, "throttle", nil, throttle.Config{})
	for i, k := range keys {
		for range i % 6 { // some clean, some failing, some locked out
			_ = th.Fail(ctx, k)
		}
	}
	lim := redisstore.NewLimiter(c, "limits", nil)
	// A sliding window that always lets the event in: the whole write path.
	l := auth.Limit{Max: 1 << 30, Per: time.Minute}

	// One round trip to Redis, for scale.
	b.Run("Ping", func(b *testing.B) {
		for b.Loop() {
			_ = c.Ping(ctx)
		}
	})
	b.Run("ThrottleWait", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_, _ = th.Wait(ctx, keys[i%len(keys)])
			i++
		}
	})
	b.Run("ThrottleWait/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				_, _ = th.Wait(ctx, keys[i%len(keys)])
				i++
			}
		})
	})
	b.Run("LimiterTake", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_, _, _ = lim.Take(ctx, keys[i%len(keys)], l)
			i++
		}
	})
	b.Run("LimiterTake/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				_, _, _ = lim.Take(ctx, keys[i%len(keys)], l)
				i++
			}
		})
	})
	if !c.Up() {
		b.Error("Redis went down during the benchmark: some figures are the fall-back's")
	}
}
