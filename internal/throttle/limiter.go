package throttle

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Limiter is an in-process auth.Limiter, safe for concurrent use. It keeps
// at most maxKeys keys; when full it refuses new keys instead of forgetting
// one it holds, so a flood of other keys cannot wipe the count that
// protects someone.
type Limiter struct {
	clock   auth.Clock
	maxKeys int

	mu    sync.Mutex
	keys  map[string]*limited
	calls int
	// swept is when a full table was last swept whole; a flood of new
	// keys must not buy a full sweep each.
	swept time.Time
}

var _ auth.Limiter = (*Limiter)(nil)

// limited is one key's state.
type limited struct {
	// events within the window, oldest first.
	events []time.Time
	// blockedUntil is the end of the current or last lock (Block limits).
	blockedUntil time.Time
	// lockouts counts locks while the key is remembered; the next lock is
	// Block << lockouts.
	lockouts int
	// refusing is set while a sliding-window key is refused, so only the
	// first refusal of a run trips.
	refusing bool
	// forget is when the key may be forgotten: its window after its last
	// event or the end of its lock, whichever is later.
	forget time.Time
}

// NewLimiter returns an empty limiter reading time from clock (nil means
// the system clock) that holds at most maxKeys keys (<= 0 means 100,000).
func NewLimiter(clock auth.Clock, maxKeys int) *Limiter {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	if maxKeys <= 0 {
		maxKeys = defaultMaxKeys
	}
	return &Limiter{clock: clock, maxKeys: maxKeys, keys: make(map[string]*limited)}
}

// Take implements auth.Limiter. It never fails; the error is for
// implementations that reach a network.
func (m *Limiter) Take(_ context.Context, key string, l auth.Limit) (time.Duration, bool, error) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now, false)
	e := m.keys[key]
	if e != nil && !now.Before(e.forget) {
		*e = limited{} // forgotten, lock history and all; the sweep has not come by yet
	}
	if e == nil {
		if len(m.keys) >= m.maxKeys && now.Sub(m.swept) >= time.Second {
			m.swept = now
			m.sweep(now, true)
		}
		if len(m.keys) >= m.maxKeys {
			// Fail closed: a new key waits as long as a tripped one would.
			return max(l.Block, l.Per), false, nil
		}
		e = &limited{}
		m.keys[key] = e
	}
	if now.Before(e.blockedUntil) {
		return e.blockedUntil.Sub(now), false, nil
	}
	// Forget events that left the window.
	n := 0
	for n < len(e.events) && !now.Before(e.events[n].Add(l.Per)) {
		n++
	}
	e.events = append(e.events[:0], e.events[n:]...)
	if len(e.events) < l.Max {
		e.events = append(e.events, now)
		e.refusing = false
		e.forget = later(e.forget, now.Add(l.Per))
		return 0, false, nil
	}
	if l.Block <= 0 {
		tripped := !e.refusing
		e.refusing = true
		return e.events[0].Add(l.Per).Sub(now), tripped, nil
	}
	block := blockFor(l.Block, l.MaxBlock, e.lockouts)
	e.lockouts++
	e.blockedUntil = now.Add(block)
	e.events = e.events[:0] // spent on this lock
	e.forget = later(e.forget, e.blockedUntil.Add(l.Per))
	return block, true, nil
}

// Return implements auth.Limiter.
func (m *Limiter) Return(_ context.Context, key string) error {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.keys[key]; e != nil && !now.Before(e.blockedUntil) && len(e.events) > 0 {
		e.events = e.events[:len(e.events)-1]
	}
	return nil
}

// sweep forgets keys past their forget time. It runs every 1,024 calls so
// its cost spreads thin, or at once when all is set (the table is full).
func (m *Limiter) sweep(now time.Time, all bool) {
	if m.calls++; !all && m.calls%1024 != 0 {
		return
	}
	for k, e := range m.keys {
		if !now.Before(e.forget) {
			delete(m.keys, k)
		}
	}
}

// blockFor returns block doubled per prior lock, capped at maxBlock
// without overflowing.
func blockFor(block, maxBlock time.Duration, prior int) time.Duration {
	maxBlock = max(maxBlock, block)
	d := block
	for range prior {
		if d >= maxBlock/2 {
			return maxBlock
		}
		d *= 2
	}
	return min(d, maxBlock)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
