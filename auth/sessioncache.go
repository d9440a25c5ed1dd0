package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// sessionCache is this node's view of sessions that were recently checked,
// so the check endpoint does not cost a store round trip per request.
// Revocations made through this node remove entries at once, and those of
// other nodes as soon as Revocations delivers them; entries older than
// their TTL (Service.trust) are reloaded, which bounds how stale a view can
// be when a revocation is not delivered (no Revocations, or one that is not
// live).
type sessionCache struct {
	mu       sync.RWMutex
	max      int
	byID     map[string]*cacheEntry
	byCookie map[string]string // cookie hash → session ID
	// gen counts forgets. A check reads it before loading a session from
	// the store and put refuses the entry if a forget happened meanwhile,
	// so a revocation racing a load can never be undone by a stale entry.
	gen uint64
}

type cacheEntry struct {
	user     User
	session  Session
	loadedAt time.Time
	// memo holds what a caller derived from this view (Principal.Memo),
	// made once per entry: a reload is a new entry with an empty memo.
	memo atomic.Pointer[sync.Map]
	// reloading is set while a background reload of this view runs
	// (Service.view), so a busy session starts one, not one per check.
	reloading atomic.Bool
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, byID: map[string]*cacheEntry{}, byCookie: map[string]string{}}
}

func (c *sessionCache) get(id string) *cacheEntry {
	c.mu.RLock()
	e := c.byID[id]
	c.mu.RUnlock()
	return e
}

func (c *sessionCache) getByCookie(hash []byte) *cacheEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.byCookie[string(hash)]
	if !ok {
		return nil
	}
	return c.byID[id]
}

// generation answers the forget counter, to pass to put.
func (c *sessionCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches e unless a forget happened since generation answered gen.
func (c *sessionCache) put(e *cacheEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byID) >= c.max {
		// Drop an arbitrary tenth: cheaper than tracking recency on the hot
		// path, and a dropped entry only costs one reload.
		n := c.max / 10
		for id, old := range c.byID {
			c.dropLocked(id, old)
			if n--; n <= 0 {
				break
			}
		}
	}
	if old := c.byID[e.session.ID]; old != nil {
		c.dropLocked(e.session.ID, old)
	}
	c.byID[e.session.ID] = e
	if e.session.CookieHash != nil {
		c.byCookie[string(e.session.CookieHash)] = e.session.ID
	}
}

func (c *sessionCache) dropLocked(id string, e *cacheEntry) {
	delete(c.byID, id)
	if e.session.CookieHash != nil {
		delete(c.byCookie, string(e.session.CookieHash))
	}
}

// forget removes sessions by ID.
func (c *sessionCache) forget(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range ids {
		if e := c.byID[id]; e != nil {
			c.dropLocked(id, e)
		}
	}
}

// forgetUser removes every session of a user; it is rare (disable, delete,
// profile change), so a scan is fine.
func (c *sessionCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id, e := range c.byID {
		if e.user.ID == userID {
			c.dropLocked(id, e)
		}
	}
}

// forgetAll empties the cache, when revocations may have been missed
// (Revocation.Resync).
func (c *sessionCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.byID)
	clear(c.byCookie)
}
