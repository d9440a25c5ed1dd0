package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var testLimit = auth.Limit{Max: 3, Per: time.Hour, Block: 15 * time.Minute, MaxBlock: time.Hour}

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
