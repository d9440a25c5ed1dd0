package token

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

func TestCacheBound(t *testing.T) {
	t.Parallel()
	var c verifyCache
	set := &keySet{}
	live := cacheEntry{set: set, claims: auth.AccessClaims{Expiry: t0.Add(time.Hour)}}
	for i := range cacheSize * 3 {
		c.put(strings.Repeat("x", i%7)+string(rune(i)), live, t0)
		if n := c.len(); n > cacheSize {
			t.Fatalf("cache grew to %d entries, bound %d", n, cacheSize)
		}
	}
	// Useless entries are not stored.
	var d verifyCache
	d.put("expired", cacheEntry{set: set, claims: auth.AccessClaims{Expiry: t0}}, t0)
	d.put("untrusted", cacheEntry{set: set, claims: live.claims, trustEnd: t0}, t0)
	if n := d.len(); n != 0 {
		t.Errorf("stored %d useless entries", n)
	}
}
