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
// per key (at most the largest N), and at most maxKeys keys.
type Window struct {
	clock   auth.Clock
	limits  []Limit
	maxKeys int

	mu     sync.Mutex
	events map[string][]time.Time
	calls  int
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
		w.evictOldest()
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

// sweep forgets keys whose newest event is older than every window; it
// runs every 1,024 calls so its cost spreads thin.
func (w *Window) sweep(now time.Time) {
	if w.calls++; w.calls%1024 != 0 {
		return
	}
	per := w.maxPer()
	for k, past := range w.events {
		if now.Sub(past[len(past)-1]) >= per {
			delete(w.events, k)
		}
	}
}

// evictOldest makes room by dropping the key whose newest event is oldest:
// the one whose limits matter least now.
func (w *Window) evictOldest() {
	var oldestKey string
	var oldest time.Time
	for k, past := range w.events {
		if t := past[len(past)-1]; oldestKey == "" || t.Before(oldest) {
			oldestKey, oldest = k, t
		}
	}
	delete(w.events, oldestKey)
}
