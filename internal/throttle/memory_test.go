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
