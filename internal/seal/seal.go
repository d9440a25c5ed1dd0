// Package seal protects secrets at rest (signing keys, TOTP secrets) under
// keys derived from the server secret, GATEHOUSE_SECRET.
//
// Everything is derived with HKDF-SHA256 from that one secret, so a cluster
// whose nodes share it can open each other's sealed values, and nothing but
// the secret has to be kept safe outside the database.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// minSecretLen is the shortest server secret New accepts, in bytes. A shorter
// secret could be guessed offline from any sealed value in a stolen database.
const minSecretLen = 16

const (
	// version is the first byte of every sealed value, so the format can
	// change later while old values still open.
	version byte = 1
	// salt and the info labels separate Gatehouse's keys from any other use
	// of the same secret. Changing them makes every sealed value unreadable.
	salt       = "gatehouse"
	infoSeal   = "gatehouse seal v1"
	infoSubkey = "gatehouse subkey v1\x00"
	keyLen     = 32
	nonceLen   = 12
	overhead   = 1 + nonceLen + 16 // version, nonce, GCM tag
)

// ErrOpen is matched (errors.Is) by every error Open returns: the value was
// sealed under another secret or for another purpose, was altered, truncated
// or is in an unknown format. Open never says which, to leak nothing.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Box seals and opens values under keys derived from the server secret. It is
// safe for concurrent use.
type Box struct {
	k *keys
}

// Format prints a placeholder for every verb, so a Box logged by mistake
// (even with %#v or a bad verb) never shows key material.
func (Box) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "seal.Box{redacted}") }

type keys struct {
	aead cipher.AEAD
	prk  []byte // HKDF pseudorandom key, for per-purpose subkeys
}

// New derives a Box from the server secret. It refuses an empty secret or one
// shorter than 16 bytes.
func New(secret string) (*Box, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("seal: server secret must be at least %d bytes, got %d", minSecretLen, len(secret))
	}
	prk, err := hkdf.Extract(sha256.New, []byte(secret), []byte(salt))
	if err != nil {
		return nil, fmt.Errorf("seal: extract key: %w", err)
	}
	key, err := hkdf.Expand(sha256.New, prk, infoSeal, keyLen)
	if err != nil {
		return nil, fmt.Errorf("seal: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: new GCM: %w", err)
	}
	return &Box{k: &keys{aead: aead, prk: prk}}, nil
}

// Seal encrypts and authenticates plaintext for purpose (a fixed label such
// as "signing-key" or "totp-secret"). The purpose is bound as additional
// data, so a value sealed for one purpose cannot be opened as another even
// when a row is copied into the wrong column. The result is
// version || nonce || ciphertext || tag; a fresh random nonce is used each
// time, so sealing the same plaintext twice gives different values.
func (b *Box) Seal(purpose string, plaintext []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("seal: empty purpose")
	}
	out := make([]byte, 1+nonceLen, overhead+len(plaintext))
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return b.k.aead.Seal(out, out[1:], plaintext, additionalData(purpose)), nil
}

// Open reverses Seal for the same purpose. Any failure matches ErrOpen.
func (b *Box) Open(purpose string, sealed []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("seal: empty purpose")
	}
	if len(sealed) < overhead {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrOpen, sealed[0])
	}
	nonce, ct := sealed[1:1+nonceLen], sealed[1+nonceLen:]
	pt, err := b.k.aead.Open(nil, nonce, ct, additionalData(purpose))
	if err != nil {
		// Wrong secret, wrong purpose and tampering look the same to GCM.
		return nil, fmt.Errorf("%w: authentication failed", ErrOpen)
	}
	return pt, nil
}

// Key returns a 32-byte key for purpose, for HMAC uses such as hashing
// one-time codes or deriving refresh-token successors. It is deterministic
// (the same secret and purpose always give the same key, on every node) and
// independent of the sealing key and of every other purpose's key. Use a
// fixed, non-empty label per use.
func (b *Box) Key(purpose string) []byte {
	k, err := hkdf.Expand(sha256.New, b.k.prk, infoSubkey+purpose, keyLen)
	if err != nil {
		// Expand fails only when asked for more than 255 hash lengths.
		panic("seal: derive subkey: " + err.Error())
	}
	return k
}

// additionalData binds the format version and the purpose to the ciphertext.
func additionalData(purpose string) []byte {
	ad := make([]byte, 0, 1+len(purpose))
	ad = append(ad, version)
	return append(ad, purpose...)
}
