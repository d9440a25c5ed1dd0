package throttle

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Limit allows N events per window Per.
type Limit struct {
	N   int
	Per time.Duration
}

// DefaultSendLimits bound messages to one address (docs/contract.md, email bombing):
// one a minute and ten an hour.
var DefaultSendLimits = []Limit{{N: 1, Per: time.Minute}, {N: 10, Per: time.Hour}}

// Window implements auth.SendLimiter in process: every limit must allow an
// event for it to be recorded. It keeps the timestamps of the last events
// per key (at most the largest N), and at most maxKeys keys. When full it
// refuses new keys rather than forget one it holds: a flood of requests
// for other addresses must not let an address be mailed again early.
type Window struct {
	clock   auth.Clock
	limits  []Limit
	maxKeys int

	mu     sync.Mutex
	events map[string][]time.Time
	calls  int
	// swept is when a full table was last swept whole; a flood of new
	// keys must not buy a full sweep each.
	swept time.Time
}

// NewWindow returns a limiter; nil limits means DefaultSendLimits and
// maxKeys <= 0 means 100,000.
func NewWindow(clock auth.Clock, limits []Limit, maxKeys int) *Window {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	if len(limits) == 0 {
		limits = DefaultSendLimits
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &Window{clock: clock, limits: limits, maxKeys: maxKeys, events: map[string][]time.Time{}}
}

// Allow records an event for key and returns 0, or returns how long until
// every limit would allow one (and records nothing).
func (w *Window) Allow(_ context.Context, key string) (time.Duration, error) {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweep(now)
	past := w.events[key]
	var wait time.Duration
	for _, l := range w.limits {
		// The l.N-th most recent event must have left the window.
		if len(past) >= l.N {
			if d := past[len(past)-l.N].Add(l.Per).Sub(now); d > wait {
				wait = d
			}
		}
	}
	if wait > 0 {
		return wait, nil
	}
	if len(past) == 0 && len(w.events) >= w.maxKeys {
		if now.Sub(w.swept) >= time.Second {
			w.swept = now
			w.forget(now)
		}
		if len(w.events) >= w.maxKeys {
			// Full of live keys: fail closed, the new key waits until
			// the soonest window could have ended.
			return w.minPer(), nil
		}
	}
	past = append(past, now)
	if keep := w.maxN(); len(past) > keep {
		past = append(past[:0:0], past[len(past)-keep:]...)
	}
	w.events[key] = past
	return 0, nil
}

func (w *Window) maxN() int {
	n := 0
	for _, l := range w.limits {
		n = max(n, l.N)
	}
	return n
}

func (w *Window) maxPer() time.Duration {
	var d time.Duration
	for _, l := range w.limits {
		d = max(d, l.Per)
	}
	return d
}

func (w *Window) minPer() time.Duration {
	d := w.limits[0].Per
	for _, l := range w.limits {
		d = min(d, l.Per)
	}
	return d
}

// sweep forgets expired keys every 1,024 calls, so its cost spreads thin.
func (w *Window) sweep(now time.Time) {
	if w.calls++; w.calls%1024 == 0 {
		w.forget(now)
	}
}

// forget drops keys whose newest event is older than every window.
func (w *Window) forget(now time.Time) {
	per := w.maxPer()
	for k, past := range w.events {
		if now.Sub(past[len(past)-1]) >= per {
			delete(w.events, k)
		}
	}
}
