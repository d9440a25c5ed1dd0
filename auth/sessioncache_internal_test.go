package auth

import "testing"

// forgetAll empties the cache and, like every forget, refuses the entries
// of loads that started before it.
func TestSessionCacheForgetAll(t *testing.T) {
	t.Parallel()
	c := newSessionCache(100)
	a, d := entry("a", "u1", "ca"), entry("d", "u2", "cd")
	c.put(a, c.generation())
	gen := c.generation()
	c.forgetAll()
	if c.get("a") != nil || c.getByCookie([]byte("ca")) != nil {
		t.Error("forgetAll kept an entry")
	}
	c.put(d, gen)
	if c.get("d") != nil {
		t.Error("an entry loaded before forgetAll was cached")
	}
	c.put(d, c.generation())
	if c.get("d") != d {
		t.Error("an entry loaded after forgetAll was not cached")
	}
}
