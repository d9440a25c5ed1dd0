package token

import (
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

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

func TestWellFormed(t *testing.T) {
	t.Parallel()
	k, toks := fuzzTokens(t)
	good := toks[0]
	last := good[len(good)-1]
	// Set an unused low bit of the last character: the same signature bytes.
	nonCanonical := good[:len(good)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b64[last]|1])
	tests := []struct {
		name string
		tok  string
		want bool
		// joseAccepts: go-jose alone would verify it; wellFormed is what stops it.
		joseAccepts bool
	}{
		{"signed token", good, true, true},
		{"unused bits set", nonCanonical, false, true},
		{"newline inside", good[:30] + "\n" + good[30:], false, true},
		{"carriage return at end", good + "\r", false, true},
		{"padding", good + "==", false, false},
		{"empty segment", "a..b", false, false},
		{"length 1 mod 4", "aaaaa.bb.cc", false, false},
		{"four segments", "aa.bb.cc.dd", false, false},
		{"plus and slash", "a+.b/.cc", false, false},
		{"three short segments", "aA.bA.cA", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wellFormed(tt.tok); got != tt.want {
				t.Errorf("wellFormed = %v, want %v", got, tt.want)
			}
			accepted := false
			if parsed, err := jwt.ParseSigned(tt.tok, []jose.SignatureAlgorithm{jose.EdDSA}); err == nil {
				var m map[string]any
				accepted = parsed.Claims(k.set.Load().key(parsed.Headers[0].KeyID).pub, &m) == nil
			}
			if accepted != tt.joseAccepts {
				t.Errorf("go-jose accepts = %v, want %v", accepted, tt.joseAccepts)
			}
		})
	}
}
