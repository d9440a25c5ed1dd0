package verify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestWellFormed(t *testing.T) {
	t.Parallel()
	seed := sha256.Sum256([]byte("verify TestWellFormed key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, (&jose.SignerOptions{}).WithType(typAccess))
	if err != nil {
		t.Fatal(err)
	}
	good, err := jwt.Signed(signer).Claims(map[string]any{"sub": "u"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
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
				accepted = parsed.Claims(priv.Public(), &m) == nil
			}
			if accepted != tt.joseAccepts {
				t.Errorf("go-jose accepts = %v, want %v", accepted, tt.joseAccepts)
			}
		})
	}
}
