package token

import (
	"crypto/ed25519"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestSignerWritesWhatJoseWrote: the signer writes, byte for byte, the
// token go-jose's jwt builder wrote for the same key and claims (Ed25519 is
// deterministic), so replacing the builder changed nothing a verifier or a
// client can see: header, claims, their order and escaping.
func TestSignerWritesWhatJoseWrote(t *testing.T) {
	t.Parallel()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	const kid = "k1-thumbprint"
	ours, err := newSigner(priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(typAccess),
	)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	full := goodClaims(now)
	full.SessionID, full.Email, full.AAL = "sess-1", "ann+<tag>&\u2028@example.com", "aal2"
	full.AMR, full.Roles = []string{"pwd", "otp"}, []string{"admin", "editor"}
	full.EmailVerified, full.PhoneVerified = true, true
	full.NotBefore = jwt.NewNumericDate(now)
	for name, c := range map[string]accessClaims{
		"minimal": goodClaims(now),
		"full":    full,
		"unicode": {Issuer: "https://ä.example", Subject: "ü", Audience: jwt.Audience{"a", "b"},
			Expiry: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now), AMR: []string{}, Email: "\"quoted\"\\"},
	} {
		want, err := jwt.Signed(theirs).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ours.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
