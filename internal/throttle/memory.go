// Package throttle keeps auth's counters in this process: Memory slows
// down password guessing (auth.Throttle: failed sign-ins per account and
// client address, and a lockout once a key fails too often), Window bounds
// sends per address (auth.SendLimiter), and Limiter counts the limits
// given with each call (auth.Limiter: second-factor failures per account,
// wrong codes and sends per client, sends in all). Each is bounded in
// memory and refuses new keys when full rather than forget one it holds.
// Shared implementations for several nodes are in store/redisstore, which
// answers from these while Redis is down; both pass the moving-clock
// scenarios of throttletest.
package throttle

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Config tunes a Memory throttle. Zero fields take the defaults documented
// on each.
type Config struct {
	// MaxFailures within Window lock the key out (default 5).
	MaxFailures int
	// Window is how long a failure counts (default 15m). It is also how long
	// a key's lockout history is remembered after its last block ends, so a
	// key that keeps failing gets ever longer blocks.
	Window time.Duration
	// Block is the first lockout (default 1m); each further lockout within
	// the remembered history doubles it.
	Block time.Duration
	// MaxBlock caps the doubling (default 1h).
	MaxBlock time.Duration
	// MaxKeys bounds memory (default 100,000): an attacker spraying failures
	// over many emails or addresses must not grow the table without limit.
	// When full, a key the table does not hold is answered as locked out
	// (for Block) until entries expire: forgetting a held key instead
	// would let a flood of other keys wipe the lockout that protects
	// someone.
	MaxKeys int
}

const (
	defaultMaxFailures = 5
	defaultWindow      = 15 * time.Minute
	defaultBlock       = time.Minute
	defaultMaxBlock    = time.Hour
	defaultMaxKeys     = 100_000
)

// WithDefaults returns c with every zero field set to its default, as
// NewMemory uses it (shared counters read the same defaults from here).
func (c Config) WithDefaults() Config {
	if c.MaxFailures <= 0 {
		c.MaxFailures = defaultMaxFailures
	}
	if c.Window <= 0 {
		c.Window = defaultWindow
	}
	if c.Block <= 0 {
		c.Block = defaultBlock
	}
	if c.MaxBlock <= 0 {
		c.MaxBlock = defaultMaxBlock
	}
	if c.MaxBlock < c.Block {
		c.MaxBlock = c.Block
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = defaultMaxKeys
	}
	return c
}

// Memory is an in-process auth.Throttle, safe for concurrent use. It starts
// no goroutine: expired entries are swept by the calls themselves, so there
// is nothing to close.
type Memory struct {
	clock auth.Clock
	cfg   Config
	// base anchors the offsets stored in entries; time.Time.Sub keeps using
	// the monotonic clock when the real clock is used.
	base time.Time

	mu      sync.Mutex
	entries map[string]*entry
	// byExpiry orders entries by when they are forgotten, for the sweep and
	// for eviction when MaxKeys is reached.
	byExpiry expiryHeap
}

var _ auth.Throttle = (*Memory)(nil)

// entry is one key's state. Times are offsets from Memory.base.
type entry struct {
	key string
	// failures since the last lockout, oldest first, at most MaxFailures.
	failures []time.Duration
	// blockedUntil is the end of the current or last lockout.
	blockedUntil time.Duration
	// lockouts counts lockouts in the remembered history; the next block is
	// Block << lockouts.
	lockouts int
	// expires is when the key is forgotten entirely: Window after its last
	// failure or after its block ends, whichever is later.
	expires time.Duration
	index   int // in byExpiry
}

// NewMemory returns an empty throttle reading time from clock (nil means the
// system clock).
func NewMemory(clock auth.Clock, cfg Config) *Memory {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	return &Memory{
		clock:   clock,
		cfg:     cfg.WithDefaults(),
		base:    clock.Now(),
		entries: make(map[string]*entry),
	}
}

// Wait returns how long key is still locked out, or 0 when it may try now.
// It never fails; the error is for implementations that reach a network.
func (m *Memory) Wait(_ context.Context, key string) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	e := m.entries[key]
	if e == nil && len(m.entries) >= m.cfg.MaxKeys {
		return m.cfg.Block, nil // full: fail closed (Config.MaxKeys)
	}
	if e == nil || now >= e.blockedUntil {
		return 0, nil
	}
	return e.blockedUntil - now, nil
}

// Fail records a failed attempt for key, and locks the key out when it is
// the MaxFailures-th within Window. A failure reported while the key is
// locked out is ignored: callers check Wait first and do not try the
// password then, so it can only come from a request that raced the lockout,
// and it must not start the count for the next one.
func (m *Memory) Fail(_ context.Context, key string) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	e := m.entries[key]
	if e == nil {
		if len(m.entries) >= m.cfg.MaxKeys {
			return nil // full: Wait refuses this key until there is room
		}
		e = m.insert(key)
	} else if now < e.blockedUntil {
		return nil
	}

	// Forget failures that left the window.
	cutoff := now - m.cfg.Window
	n := 0
	for n < len(e.failures) && e.failures[n] <= cutoff {
		n++
	}
	e.failures = append(e.failures[:0], e.failures[n:]...)

	e.failures = append(e.failures, now)
	if len(e.failures) >= m.cfg.MaxFailures {
		e.blockedUntil = now + m.blockFor(e.lockouts)
		e.lockouts++
		e.failures = e.failures[:0] // spent on this lockout
	}
	e.expires = max(now, e.blockedUntil) + m.cfg.Window
	heap.Fix(&m.byExpiry, e.index)
	return nil
}

// Reset forgets key entirely, lockout history included: a successful sign-in
// proves the person, not an attacker, was at the keyboard.
func (m *Memory) Reset(_ context.Context, key string) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if e := m.entries[key]; e != nil {
		m.remove(e)
	}
	return nil
}

// blockFor returns the block after prior lockouts: Block doubled per prior
// lockout, capped at MaxBlock without overflowing.
func (m *Memory) blockFor(prior int) time.Duration {
	return blockFor(m.cfg.Block, m.cfg.MaxBlock, prior)
}

func (m *Memory) now() time.Duration { return m.clock.Now().Sub(m.base) }

// sweep forgets entries that have expired. Each call pays only for what
// expired since the last one, so the sweep needs no goroutine.
func (m *Memory) sweep(now time.Duration) {
	for len(m.byExpiry) > 0 && m.byExpiry[0].expires <= now {
		m.remove(m.byExpiry[0])
	}
}

// insert adds an entry for key; the caller has made sure there is room.
func (m *Memory) insert(key string) *entry {
	e := &entry{key: key, failures: make([]time.Duration, 0, m.cfg.MaxFailures)}
	m.entries[key] = e
	heap.Push(&m.byExpiry, e)
	return e
}

func (m *Memory) remove(e *entry) {
	heap.Remove(&m.byExpiry, e.index)
	delete(m.entries, e.key)
}

// expiryHeap is a min-heap of entries by expires (container/heap).
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
