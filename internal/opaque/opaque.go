// Package opaque makes and checks the random bearer secrets Gatehouse hands
// out (refresh tokens, session cookies, link tokens). Only their SHA-256
// hashes are stored: a stolen database holds nothing that signs anybody in.
// It imports nothing of Gatehouse so the domain can use it.
package opaque

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// size is 256 bits of entropy: far past any guessing.
const size = 32

// New returns a fresh random secret (base64url, no padding) and its hash.
func New() (plain string, hash []byte, err error) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("opaque: read random: %w", err)
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, Hash(plain), nil
}

// Hash returns the SHA-256 of plain: what the store keeps and looks up.
// A plain hash (no salt) is right here because the secret itself has 256
// bits of entropy and lookups must be by hash.
func Hash(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Derive returns a secret computed from parent under key: HMAC-SHA256 of
// label, a zero byte and parent. A refresh token's successor is derived from
// it so a client replaying the parent within the grace period can be given
// the same successor without the server storing any plaintext.
func Derive(key []byte, parent, label string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(parent))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
