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
	// base anchors the offsets kept in entries (8 bytes an event rather
	// than a time.Time's 24: a key may hold Max of them).
	base time.Time

	mu    sync.Mutex
	keys  map[string]*limited
	calls int
	// swept is when a full table was last swept whole; a flood of new
	// keys must not buy a full sweep each.
	swept time.Duration
}

var _ auth.Limiter = (*Limiter)(nil)

// limited is one key's state. Times are offsets from Limiter.base.
type limited struct {
	// events within the window, oldest first.
	events []time.Duration
	// blockedUntil is the end of the current or last lock (Block limits).
	blockedUntil time.Duration
	// lockouts counts locks while the key is remembered; the next lock is
	// Block << lockouts.
	lockouts int
	// refusing is set while a sliding-window key is refused, so only the
	// first refusal of a run trips.
	refusing bool
	// forget is when the key may be forgotten: its window after its last
	// event or the end of its lock, whichever is later.
	forget time.Duration
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
	return &Limiter{clock: clock, maxKeys: maxKeys, base: clock.Now(), keys: make(map[string]*limited)}
}

// Take implements auth.Limiter. It never fails; the error is for
// implementations that reach a network.
func (m *Limiter) Take(_ context.Context, key string, l auth.Limit) (time.Duration, bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now, false)
	e := m.keys[key]
	if e != nil && now >= e.forget {
		*e = limited{} // forgotten, lock history and all; the sweep has not come by yet
	}
	if e == nil {
		if len(m.keys) >= m.maxKeys && now-m.swept >= time.Second {
			m.swept = now
			m.sweep(now, true)
		}
		if len(m.keys) >= m.maxKeys {
			// Fail closed. A minute: full tables are swept each second,
			// so room comes as soon as held keys expire.
			return time.Minute, false, nil
		}
		e = &limited{}
		m.keys[key] = e
	}
	if now < e.blockedUntil {
		return e.blockedUntil - now, false, nil
	}
	// Forget events that left the window.
	n := 0
	for n < len(e.events) && now >= e.events[n]+l.Per {
		n++
	}
	e.events = append(e.events[:0], e.events[n:]...)
	if len(e.events) < l.Max {
		e.events = append(e.events, now)
		e.refusing = false
		e.forget = max(e.forget, now+l.Per)
		return 0, false, nil
	}
	if l.Block <= 0 {
		tripped := !e.refusing
		e.refusing = true
		return e.events[0] + l.Per - now, tripped, nil
	}
	block := blockFor(l.Block, l.MaxBlock, e.lockouts)
	e.lockouts++
	e.blockedUntil = now + block
	e.events = e.events[:0] // spent on this lock
	e.forget = max(e.forget, e.blockedUntil+l.Per)
	return block, true, nil
}

// Return implements auth.Limiter.
func (m *Limiter) Return(_ context.Context, key string) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.keys[key]; e != nil && now >= e.blockedUntil && len(e.events) > 0 {
		e.events = e.events[:len(e.events)-1]
	}
	return nil
}

// sweep forgets keys past their forget time. It runs every 1,024 calls so
// its cost spreads thin, or at once when all is set (the table is full).
func (m *Limiter) sweep(now time.Duration, all bool) {
	if m.calls++; !all && m.calls%1024 != 0 {
		return
	}
	for k, e := range m.keys {
		if now >= e.forget {
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

func (m *Limiter) now() time.Duration { return m.clock.Now().Sub(m.base) }
