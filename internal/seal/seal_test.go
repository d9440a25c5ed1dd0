package seal

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testSecret = "correct horse battery staple"

func mustNew(t testing.TB, secret string) *Box {
	t.Helper()
	b, err := New(secret)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestNewRejectsShortSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{"empty", "", true},
		{"one byte", "x", true},
		{"15 bytes", strings.Repeat("a", 15), true},
		{"16 bytes", strings.Repeat("a", 16), false},
		{"long", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%d bytes) error = %v, want error %v", len(tt.secret), err, tt.wantErr)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	other := mustNew(t, testSecret+"!")
	plain := []byte("an Ed25519 seed, 32 bytes long..")
	sealed, err := box.Seal("signing-key", plain)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}

	tests := []struct {
		name    string
		box     *Box
		purpose string
		sealed  []byte
		want    []byte // nil: must fail with ErrOpen
	}{
		{"round trip", box, "signing-key", sealed, plain},
		{"same secret, new box", mustNew(t, testSecret), "signing-key", sealed, plain},
		{"wrong purpose", box, "totp-secret", sealed, nil},
		{"purpose prefix", box, "signing-ke", sealed, nil},
		{"wrong secret", other, "signing-key", sealed, nil},
		{"tampered version", box, "signing-key", flip(0), nil},
		{"tampered nonce", box, "signing-key", flip(1), nil},
		{"tampered ciphertext", box, "signing-key", flip(overhead - 16), nil},
		{"tampered tag", box, "signing-key", flip(len(sealed) - 1), nil},
		{"truncated by one", box, "signing-key", sealed[:len(sealed)-1], nil},
		{"only header", box, "signing-key", sealed[:1+nonceLen], nil},
		{"one byte", box, "signing-key", sealed[:1], nil},
		{"empty", box, "signing-key", []byte{}, nil},
		{"nil", box, "signing-key", nil, nil},
		{"appended byte", box, "signing-key", append(bytes.Clone(sealed), 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.box.Open(tt.purpose, tt.sealed)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Open succeeded, want error")
				}
				if !errors.Is(err, ErrOpen) {
					t.Fatalf("Open error = %v, want ErrOpen", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Open = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSealFormat(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", nil},
		{"short", []byte("x")},
		{"seed", bytes.Repeat([]byte{7}, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := box.Seal("p", tt.plain)
			if err != nil {
				t.Fatal(err)
			}
			b, err := box.Seal("p", tt.plain)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != overhead+len(tt.plain) {
				t.Errorf("len = %d, want %d", len(a), overhead+len(tt.plain))
			}
			if a[0] != version {
				t.Errorf("version byte = %d, want %d", a[0], version)
			}
			if bytes.Equal(a, b) {
				t.Errorf("two seals of the same plaintext are equal: nonce reused")
			}
			// A plaintext of a few bytes turns up in any 30 random bytes
			// by chance (one byte: one time in nine), so only a longer one
			// says anything.
			if len(tt.plain) >= 8 && bytes.Contains(a, tt.plain) {
				t.Errorf("sealed value contains the plaintext")
			}
			got, err := box.Open("p", a)
			if err != nil || !bytes.Equal(got, tt.plain) {
				t.Errorf("Open = %q, %v; want %q", got, err, tt.plain)
			}
		})
	}
}

func TestEmptyPurpose(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	if _, err := box.Seal("", []byte("x")); err == nil {
		t.Error("Seal with empty purpose succeeded")
	}
	sealed, err := box.Seal("p", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := box.Open("", sealed); err == nil {
		t.Error("Open with empty purpose succeeded")
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	again := mustNew(t, testSecret)
	other := mustNew(t, testSecret+"!")

	purposes := []string{"otp-code", "refresh-successor", "backup-code", "", "otp-code\x00"}
	seen := map[string]string{}
	for _, p := range purposes {
		k := box.Key(p)
		if len(k) != 32 {
			t.Errorf("Key(%q) has %d bytes, want 32", p, len(k))
		}
		if prev, dup := seen[string(k)]; dup {
			t.Errorf("Key(%q) == Key(%q)", p, prev)
		}
		seen[string(k)] = p
	}

	tests := []struct {
		name    string
		a, b    []byte
		wantEql bool
	}{
		{"deterministic, same box", box.Key("otp-code"), box.Key("otp-code"), true},
		{"deterministic, same secret", box.Key("otp-code"), again.Key("otp-code"), true},
		{"other secret", box.Key("otp-code"), other.Key("otp-code"), false},
		{"distinct purposes", box.Key("otp-code"), box.Key("backup-code"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := bytes.Equal(tt.a, tt.b); got != tt.wantEql {
				t.Errorf("equal = %v, want %v", got, tt.wantEql)
			}
		})
	}
}

// TestKeyIndependentOfSealing checks that a subkey cannot open sealed values:
// no purpose label makes Key return the sealing key.
func TestKeyIndependentOfSealing(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	for _, p := range []string{"", "gatehouse seal v1", "seal v1"} {
		if bytes.Equal(box.Key(p), box.sealingKeyForTest(t)) {
			t.Errorf("Key(%q) equals the sealing key", p)
		}
	}
}

func TestBoxDoesNotPrintKeys(t *testing.T) {
	t.Parallel()
	box := mustNew(t, testSecret)
	for _, format := range []string{"%v", "%+v", "%#v", "%x", "%s", "%d", "%q"} {
		s := fmt.Sprintf(format, box) + fmt.Sprintf(format, *box)
		for _, k := range [][]byte{box.k.prk, box.sealingKeyForTest(t)} {
			if strings.Contains(s, string(k)) || strings.Contains(s, hex.EncodeToString(k)) ||
				strings.Contains(s, fmt.Sprint(k)) {
				t.Errorf("Sprintf(%q, box) shows key material: %s", format, s)
			}
		}
	}
}

// sealingKeyForTest re-derives the AES key the way New does.
func (b *Box) sealingKeyForTest(t *testing.T) []byte {
	t.Helper()
	k, err := hkdf.Expand(sha256.New, b.k.prk, infoSeal, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzOpen(f *testing.F) {
	box := mustNew(f, testSecret)
	sealed, err := box.Seal("p", []byte("hello"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte{})
	f.Add([]byte{version})
	// Each fuzz worker runs this setup and seals with its own random nonce,
	// so the oracle is the plaintext: anything but "hello" opening is a
	// forgery.
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := box.Open("p", in)
		if err == nil && string(got) != "hello" {
			t.Fatalf("Open accepted a forged value %x", in)
		}
		if err != nil && !errors.Is(err, ErrOpen) {
			t.Fatalf("Open error %v does not match ErrOpen", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	box := mustNew(b, testSecret)
	pt := make([]byte, 32)
	for b.Loop() {
		if _, err := box.Seal("signing-key", pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	box := mustNew(b, testSecret)
	for b.Loop() {
		box.Key("otp-code")
	}
}
