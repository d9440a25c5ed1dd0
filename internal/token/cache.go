package token

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// cacheSize bounds the verification cache. At well under 1 KiB per token it
// stays below ~8 MiB, and it covers the tokens live on a busy node at once.
const cacheSize = 8192

// verifyCache remembers successful verifications by token string, so the hot
// path (/v1/check on every request of every app) pays for an Ed25519
// signature check once per token rather than once per request. Only tokens
// that passed every check are stored, and a hit needs the exact same string.
type verifyCache struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

// cacheEntry is a verified token: its claims, the key set that verified it
// (a hit counts only under that same set, so a reload that changes keys
// invalidates entries) and the end of its key's trust.
type cacheEntry struct {
	set      *keySet
	claims   auth.AccessClaims
	trustEnd time.Time
}

// check returns the claims if the entry is still good at now.
func (e *cacheEntry) check(now time.Time) (*auth.AccessClaims, error) {
	if !e.trustEnd.IsZero() && !now.Before(e.trustEnd) {
		return nil, fmt.Errorf("%w: key no longer trusted", ErrInvalid)
	}
	if !now.Before(e.claims.Expiry) {
		return nil, fmt.Errorf("%w at %s", ErrExpired, e.claims.Expiry.Format(time.RFC3339))
	}
	c := e.claims
	c.AMR = slices.Clone(c.AMR) // the caller may change its copy
	c.Roles = slices.Clone(c.Roles)
	return &c, nil
}

func (c *verifyCache) get(tok string) (cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.m[tok]
	c.mu.RUnlock()
	return e, ok
}

// put stores e unless it is already useless at now. When the cache is full it
// drops expired and stale entries, then arbitrary ones (map order) down to
// 7/8 of the bound, so the sweep runs at most once per cacheSize/8 inserts.
func (c *verifyCache) put(tok string, e cacheEntry, now time.Time) {
	if !now.Before(e.claims.Expiry) || (!e.trustEnd.IsZero() && !now.Before(e.trustEnd)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cacheEntry)
	}
	if _, ok := c.m[tok]; !ok && len(c.m) >= cacheSize {
		for k, old := range c.m {
			if old.set != e.set || !now.Before(old.claims.Expiry) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < cacheSize*7/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[tok] = e
}

// reset empties the cache after the key set changed.
func (c *verifyCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *verifyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
