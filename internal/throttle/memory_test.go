package throttle

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"sync"
	"testing"
	"time"
)

// fakeClock is the shared test clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock {
	return clocktest.New(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
}

// step is one action of a scenario (advance the clock, reset, fail) and the
// Wait expected after it.
type step struct {
	advance time.Duration
	fails   int
	reset   bool
	wait    time.Duration
}

func TestMemoryScenarios(t *testing.T) {
	t.Parallel()
	const (
		block = time.Minute
		win   = 15 * time.Minute
	)
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"4 failures do not block", Config{}, []step{
			{fails: 4, wait: 0},
		}},
		{"the 5th failure blocks for Block", Config{}, []step{
			{fails: 4, wait: 0},
			{fails: 1, wait: block},
			{advance: 20 * time.Second, wait: 40 * time.Second},
			{advance: 40*time.Second - 1, wait: 1},
			{advance: 1, wait: 0},
		}},
		{"repeat lockouts double, capped at MaxBlock", Config{}, []step{
			{fails: 5, wait: block},
			{advance: block, fails: 4, wait: 0},
			{fails: 1, wait: 2 * block},
			{advance: 2 * block, fails: 5, wait: 4 * block},
			{advance: 4 * block, fails: 5, wait: 8 * block},
			{advance: 8 * block, fails: 5, wait: 16 * block},
			{advance: 16 * block, fails: 5, wait: 32 * block},
			{advance: 32 * block, fails: 5, wait: time.Hour},
			{advance: time.Hour, fails: 5, wait: time.Hour},
		}},
		{"cap that is not a power of two", Config{Block: time.Minute, MaxBlock: 3 * time.Minute}, []step{
			{fails: 5, wait: block},
			{advance: block, fails: 5, wait: 2 * block},
			{advance: 2 * block, fails: 5, wait: 3 * block},
			{advance: 3 * block, fails: 5, wait: 3 * block},
		}},
		{"failures during a block are ignored", Config{}, []step{
			{fails: 5, wait: block},
			{fails: 20, wait: block},
			{advance: block, fails: 4, wait: 0},
		}},
		{"failures older than Window are forgotten", Config{}, []step{
			{fails: 4, wait: 0},
			{advance: win, fails: 1, wait: 0},
			{fails: 3, wait: 0},
			{fails: 1, wait: block},
		}},
		{"the window slides", Config{}, []step{
			{fails: 2, wait: 0},                           // t=0
			{advance: 10 * time.Minute, fails: 2},         // t=10m: 4 in window
			{advance: 5 * time.Minute, fails: 1, wait: 0}, // the two at t=0 left: 3
			{fails: 1, wait: 0},
			{fails: 1, wait: block},
		}},
		{"lockout history lapses after Window without failures", Config{}, []step{
			{fails: 5, wait: block},
			{advance: block + win, fails: 5, wait: block},
		}},
		{"lockout history is kept within Window", Config{}, []step{
			{fails: 5, wait: block},
			{advance: block + win - 1, fails: 5, wait: 2 * block},
		}},
		{"Reset forgets failures and history", Config{}, []step{
			{fails: 5, wait: block},
			{reset: true, wait: 0},
			{fails: 4, wait: 0},
			{reset: true, fails: 4, wait: 0},
			{fails: 1, wait: block},
		}},
		{"custom limits", Config{MaxFailures: 2, Block: time.Second, MaxBlock: 4 * time.Second}, []step{
			{fails: 1, wait: 0},
			{fails: 1, wait: time.Second},
			{advance: time.Second, fails: 2, wait: 2 * time.Second},
			{advance: 2 * time.Second, fails: 2, wait: 4 * time.Second},
			{advance: 4 * time.Second, fails: 2, wait: 4 * time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := newFakeClock()
			m := NewMemory(clock, tc.cfg)
			const key = "user@example.com"
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				if s.reset {
					if err := m.Reset(ctx, key); err != nil {
						t.Fatalf("step %d: Reset: %v", i, err)
					}
				}
				for range s.fails {
					if err := m.Fail(ctx, key); err != nil {
						t.Fatalf("step %d: Fail: %v", i, err)
					}
				}
				got, err := m.Wait(ctx, key)
				if err != nil {
					t.Fatalf("step %d: Wait: %v", i, err)
				}
				if got != s.wait {
					t.Fatalf("step %d (%+v): Wait = %v, want %v", i, s, got, s.wait)
				}
			}
			// Another key is never affected.
			if got, _ := m.Wait(ctx, "other@example.com"); got != 0 {
				t.Errorf("Wait(other key) = %v, want 0", got)
			}
		})
	}
}

func TestMemoryDefaults(t *testing.T) {
	t.Parallel()
	got := NewMemory(nil, Config{MaxBlock: time.Second}).cfg
	want := Config{MaxFailures: 5, Window: 15 * time.Minute, Block: time.Minute, MaxBlock: time.Minute, MaxKeys: 100_000}
	if got != want {
		t.Errorf("config = %+v, want %+v (MaxBlock raised to Block)", got, want)
	}
}

func TestMemorySweepsExpired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := NewMemory(clock, Config{})
	for i := range 1000 {
		m.Fail(ctx, fmt.Sprint("k", i))
	}
	m.Fail(ctx, "locked")
	for range 4 {
		m.Fail(ctx, "locked")
	}
	clock.Advance(15 * time.Minute)
	m.Wait(ctx, "anything")
	if n := len(m.entries); n != 1 {
		t.Errorf("%d entries after Window, want only the locked-out key", n)
	}
	clock.Advance(time.Minute)
	m.Wait(ctx, "anything")
	if n, h := len(m.entries), len(m.byExpiry); n != 0 || h != 0 {
		t.Errorf("%d entries (%d in heap) after everything expired, want 0", n, h)
	}
}

// TestMemoryMaxKeys sprays 200k distinct keys, as an attacker trying many
// emails would: the table stays within MaxKeys, a key locked out before
// the spray stays locked out, and keys that found the table full are
// answered as locked out rather than let through uncounted.
func TestMemoryMaxKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := NewMemory(clock, Config{})
	for range 5 {
		m.Fail(ctx, "victim@example.com")
	}
	for i := range 200_000 {
		if i%1000 == 0 {
			clock.Advance(time.Millisecond)
		}
		if err := m.Fail(ctx, fmt.Sprint("spray", i, "@example.com")); err != nil {
			t.Fatal(err)
		}
		if len(m.entries) > defaultMaxKeys {
			t.Fatalf("after %d keys: %d entries, over MaxKeys", i+1, len(m.entries))
		}
	}
	if n, h := len(m.entries), len(m.byExpiry); n != defaultMaxKeys || h != n {
		t.Errorf("%d entries, %d in heap; want %d each", n, h, defaultMaxKeys)
	}
	if got, _ := m.Wait(ctx, "victim@example.com"); got <= 0 {
		t.Error("the spray evicted a locked-out key")
	}
	// The keys held are kept; the ones that came once it was full are not.
	if m.entries["spray0@example.com"] == nil || m.entries["spray199999@example.com"] != nil {
		t.Error("a full table dropped a held key to make room")
	}
	if got, _ := m.Wait(ctx, "newcomer@example.com"); got != defaultBlock {
		t.Errorf("Wait(new key) on a full table = %v, want %v (fail closed)", got, defaultBlock)
	}
	// Once the spray's entries expire there is room again.
	clock.Advance(defaultWindow + time.Second)
	if got, _ := m.Wait(ctx, "newcomer@example.com"); got != 0 {
		t.Errorf("Wait(new key) after the spray expired = %v, want 0", got)
	}
}

// TestMemoryConcurrent runs under -race: many goroutines on shared and own
// keys. Failures on one key from all goroutines must add up exactly, and the
// map and heap must agree afterwards.
func TestMemoryConcurrent(t *testing.T) {
	t.Parallel()
	const workers = 50
	ctx := context.Background()
	clock := newFakeClock()
	m := NewMemory(clock, Config{MaxFailures: workers, MaxKeys: 1000})

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			if err := m.Fail(ctx, "shared"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := m.Wait(ctx, "shared"); got != time.Minute {
		t.Errorf("Wait(shared) after exactly MaxFailures concurrent failures = %v, want 1m", got)
	}

	for w := range workers {
		wg.Go(func() {
			own := fmt.Sprint("worker", w)
			for i := range 200 {
				m.Fail(ctx, own)
				m.Wait(ctx, own)
				m.Wait(ctx, "shared")
				m.Fail(ctx, fmt.Sprint("churn", w, "-", i)) // forces evictions
				if i%50 == 0 {
					m.Reset(ctx, own)
					clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if len(m.entries) > 1000 || len(m.entries) != len(m.byExpiry) {
		t.Errorf("%d entries, %d in heap, MaxKeys 1000", len(m.entries), len(m.byExpiry))
	}
	for i, e := range m.byExpiry {
		if e.index != i || m.entries[e.key] != e {
			t.Fatalf("heap slot %d inconsistent with the map", i)
		}
	}
}

func BenchmarkWait(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(nil, Config{})
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprint("user", i, "@example.com")
		for range i % 6 { // some clean, some failing, some locked out
			m.Fail(ctx, keys[i])
		}
	}
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			m.Wait(ctx, keys[i%len(keys)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Wait(ctx, keys[i%len(keys)])
				i++
			}
		})
	})
}
