package throttle

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindowBoundsKeys(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	w := NewWindow(clk, []Limit{{N: 1, Per: time.Hour}}, 100)
	ctx := context.Background()
	_, _ = w.Allow(ctx, "victim")
	clk.Advance(time.Second)
	for i := range 1000 {
		_, _ = w.Allow(ctx, fmt.Sprint("spray", i))
	}
	if n := len(w.events); n > 100 {
		t.Fatalf("%d keys kept, want at most 100", n)
	}
}

// TestWindowFlood is the attack on the bound: 100,000 requests for other
// addresses must not make the limiter forget a victim just mailed, and
// the addresses that find it full are refused (fail closed), not sent.
func TestWindowFlood(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	w := NewWindow(clk, nil, 0)
	ctx := t.Context()
	if wait, _ := w.Allow(ctx, "mail:victim@example.com"); wait != 0 {
		t.Fatalf("first send waits %v", wait)
	}
	refused := 0
	for i := range 100_000 {
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
		if wait, _ := w.Allow(ctx, fmt.Sprint("mail:flood", i, "@example.com")); wait > 0 {
			refused++
		}
	}
	if refused == 0 {
		t.Error("a full limiter let new keys through")
	}
	if wait, _ := w.Allow(ctx, "mail:victim@example.com"); wait <= 0 {
		t.Fatal("the flood made the limiter forget the victim: it may be mailed again")
	}
	// Once every window has passed there is room again.
	clk.Advance(time.Hour + time.Second)
	if wait, _ := w.Allow(ctx, "mail:newcomer@example.com"); wait != 0 {
		t.Errorf("a new key after the flood expired waits %v", wait)
	}
}

func TestWindowConcurrent(t *testing.T) {
	t.Parallel()
	w := NewWindow(newFakeClock(), []Limit{{N: 3, Per: time.Hour}}, 0)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, _ := w.Allow(context.Background(), "k"); d == 0 {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 3 {
		t.Fatalf("%d sends allowed at once, want exactly 3", n)
	}
}
