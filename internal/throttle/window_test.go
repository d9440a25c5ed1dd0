package throttle

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindowDefaultLimits(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	w := NewWindow(clk, nil, 0)
	ctx := context.Background()
	allow := func(key string) time.Duration {
		t.Helper()
		d, err := w.Allow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := allow("a"); d != 0 {
		t.Fatalf("first send waits %v", d)
	}
	if d := allow("a"); d != time.Minute {
		t.Fatalf("second send within a minute: wait %v, want 1m", d)
	}
	if d := allow("b"); d != 0 {
		t.Fatalf("another key is limited: %v", d)
	}
	clk.Advance(30 * time.Second)
	if d := allow("a"); d != 30*time.Second {
		t.Fatalf("after 30s: wait %v, want 30s (a refused attempt must not count)", d)
	}
	// Ten in the hour, one a minute: the eleventh waits for the first to age out.
	for i := 1; i < 10; i++ {
		clk.Advance(time.Minute)
		if d := allow("a"); d != 0 {
			t.Fatalf("send %d: wait %v", i+1, d)
		}
	}
	clk.Advance(time.Minute)
	// First send at 0, now at 10m30s: the hour limit waits until 60m.
	if d := allow("a"); d != 49*time.Minute+30*time.Second {
		t.Fatalf("eleventh send: wait %v, want 49m30s", d)
	}
	clk.Advance(49*time.Minute + 30*time.Second)
	if d := allow("a"); d != 0 {
		t.Fatalf("after the hour: wait %v", d)
	}
}

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
