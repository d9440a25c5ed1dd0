package token

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// fuzzSeed makes FuzzVerify's key, and so its tokens, the same on every run,
// so the valid tokens in testdata/fuzz/FuzzVerify stay valid.
var fuzzSeed = sha256.Sum256([]byte("gatehouse FuzzVerify key"))

// fuzzTokens returns Keys over a store holding the fixed key, and the tokens
// it signed (Ed25519 signatures are deterministic).
func fuzzTokens(tb testing.TB) (*Keys, []string) {
	tb.Helper()
	sk, err := sealSigningKey(testBox(tb), ed25519.NewKeyFromSeed(fuzzSeed[:]), t0)
	if err != nil {
		tb.Fatal(err)
	}
	k := newTestKeys(tb, &memStore{keys: []auth.SigningKey{*sk}}, clocktest.New(t0), testConfig())
	full := testClaims(t0)
	bare := auth.AccessClaims{Subject: "u", IssuedAt: t0, Expiry: t0.Add(10 * time.Minute)}
	expired := testClaims(t0.Add(-time.Hour))
	var toks []string
	for _, c := range []auth.AccessClaims{full, bare, expired} {
		toks = append(toks, mustSign(tb, k, c))
	}
	return k, toks
}

// FuzzVerify feeds Verify arbitrary strings: it must never panic, and must
// accept (or call expired) only the exact strings the test signed.
func FuzzVerify(f *testing.F) {
	k, toks := fuzzTokens(f)
	signed := map[string]bool{}
	for _, tok := range toks {
		signed[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)/2])
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	now := t0.Add(time.Minute)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := k.Verify(context.Background(), tok, now)
		switch {
		case err == nil:
			if !signed[tok] || c == nil || c.Subject == "" {
				t.Fatalf("Verify accepted %q: %+v", tok, c)
			}
		case errors.Is(err, ErrExpired):
			if !signed[tok] || c != nil {
				t.Fatalf("Verify called %q authentic but expired", tok)
			}
		case !errors.Is(err, ErrInvalid) || c != nil:
			t.Fatalf("Verify(%q) = %v, %v; want ErrInvalid", tok, c, err)
		}
	})
}

// TestFuzzCorpusValid keeps the checked-in corpus useful: its valid seeds
// must still verify, or the fuzzer would never start from a good token.
func TestFuzzCorpusValid(t *testing.T) {
	t.Parallel()
	k, _ := fuzzTokens(t)
	tests := []struct {
		file string
		want error
	}{
		{"valid_full", nil},
		{"valid_bare", nil},
		{"expired", ErrExpired},
		{"truncated_sig", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 2 || lines[0] != "go test fuzz v1" {
				t.Fatalf("not a corpus file: %q", b)
			}
			tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = k.Verify(context.Background(), tok, t0.Add(time.Minute))
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
