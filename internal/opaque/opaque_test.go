package opaque

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		plain, hash, err := New()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(plain)
		if err != nil || len(raw) != 32 || len(plain) != 43 {
			t.Fatalf("plain %q: %d bytes, err %v; want 32 bytes of base64url", plain, len(raw), err)
		}
		if !bytes.Equal(hash, Hash(plain)) {
			t.Fatalf("hash is not Hash(plain)")
		}
		if seen[plain] {
			t.Fatalf("New repeated %q", plain)
		}
		seen[plain] = true
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(Hash(tt.in)); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	h := sha256.Sum256([]byte("x"))
	other := sha256.Sum256([]byte("y"))
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"same", h[:], bytes.Clone(h[:]), true},
		{"different", h[:], other[:], false},
		{"prefix", h[:], h[:31], false},
		{"empty vs hash", nil, h[:], false},
		{"both empty", nil, []byte{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDerive(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 32)
	key2 := bytes.Repeat([]byte{2}, 32)
	base := Derive(key, "parent", "refresh")
	if raw, err := base64.RawURLEncoding.Strict().DecodeString(base); err != nil || len(raw) != 32 {
		t.Fatalf("Derive = %q: want 32 bytes of base64url (err %v)", base, err)
	}
	tests := []struct {
		name      string
		got       string
		wantEqual bool
	}{
		{"deterministic", Derive(key, "parent", "refresh"), true},
		{"other key", Derive(key2, "parent", "refresh"), false},
		{"other parent", Derive(key, "parent2", "refresh"), false},
		{"other label", Derive(key, "parent", "refresh2"), false},
		{"label and parent not concatenated", Derive(key, "tparent", "refresh"), false},
		{"swapped", Derive(key, "refresh", "parent"), false},
		{"not the parent's hash", base64.RawURLEncoding.EncodeToString(Hash("parent")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if (tt.got == base) != tt.wantEqual {
				t.Errorf("Derive = %q, base %q, want equal %v", tt.got, base, tt.wantEqual)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDerive(b *testing.B) {
	key := make([]byte, 32)
	parent := base64.RawURLEncoding.EncodeToString(key)
	for b.Loop() {
		Derive(key, parent, "refresh")
	}
}
