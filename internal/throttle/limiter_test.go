package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var testLimit = auth.Limit{Max: 3, Per: time.Hour, Block: 15 * time.Minute, MaxBlock: time.Hour}

// TestLimiterScenarios walks one key through time: events leave the
// window, and each lock while the key is remembered is twice the last, up
// to MaxBlock.
func TestLimiterScenarios(t *testing.T) {
	t.Parallel()
	type step struct {
		advance  time.Duration
		takes    int           // Takes at this instant
		wantWait time.Duration // of the last one
		tripped  bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"events leave the window", []step{
			{0, 3, 0, false},
			{time.Hour, 3, 0, false}, // the first three are gone
			{0, 1, 15 * time.Minute, true},
		}},
		{"locks double up to MaxBlock", []step{
			{0, 4, 15 * time.Minute, true},
			{15 * time.Minute, 4, 30 * time.Minute, true},
			{30 * time.Minute, 4, time.Hour, true},
			{time.Hour, 4, time.Hour, true},
		}},
		{"a lock counts down", []step{
			{0, 4, 15 * time.Minute, true},
			{10 * time.Minute, 1, 5 * time.Minute, false},
		}},
		{"forgotten after its window, history and all", []step{
			{0, 4, 15 * time.Minute, true},
			{15*time.Minute + time.Hour, 4, 15 * time.Minute, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			m := NewLimiter(clock, 0)
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				var wait time.Duration
				var tripped bool
				for range s.takes {
					w, tr, _ := m.Take(t.Context(), "k", testLimit)
					wait, tripped = w, tripped || tr
				}
				if wait != s.wantWait || tripped != s.tripped {
					t.Errorf("step %d: wait %v, tripped %v; want %v, %v", i, wait, tripped, s.wantWait, s.tripped)
				}
			}
		})
	}
}

// TestLimiterFlood is the attack on the memory bound: 100,000 other keys
// after a victim's lock must neither evict the victim (who stays locked)
// nor be let through uncounted once the table is full.
func TestLimiterFlood(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := NewLimiter(clock, 0)
	for range testLimit.Max + 1 {
		m.Take(ctx, "mfa:victim", testLimit)
	}
	refused := 0
	for i := range 100_000 {
		if i%1000 == 0 {
			clock.Advance(time.Millisecond)
		}
		if wait, _, _ := m.Take(ctx, fmt.Sprint("code-ip:flood", i), testLimit); wait > 0 {
			refused++
		}
	}
	if n := len(m.keys); n > defaultMaxKeys {
		t.Errorf("%d keys held, over the bound", n)
	}
	if refused == 0 {
		t.Error("a full limiter let new keys through uncounted")
	}
	if wait, _, _ := m.Take(ctx, "mfa:victim", testLimit); wait <= 0 {
		t.Fatal("the flood made the limiter forget a locked key")
	}
	clock.Advance(2 * time.Hour)
	if wait, _, _ := m.Take(ctx, "mfa:newcomer", testLimit); wait != 0 {
		t.Errorf("a new key once the flood expired waits %v", wait)
	}
}

// TestLimiterConcurrent runs under -race: Takes and Returns on shared and
// own keys.
func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	m := NewLimiter(newFakeClock(), 100)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			for j := range 20 {
				m.Take(t.Context(), "shared", auth.Limit{Max: 1000, Per: time.Hour})
				m.Take(t.Context(), fmt.Sprint("own", i, j), testLimit)
				_ = m.Return(t.Context(), "shared")
			}
		})
	}
	wg.Wait()
	if n := len(m.keys); n > 100 {
		t.Errorf("%d keys held, over the bound of 100", n)
	}
}
