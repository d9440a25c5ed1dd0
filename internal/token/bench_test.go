package token

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

func benchKeys(b *testing.B) *Keys {
	b.Helper()
	return newTestKeys(b, &memStore{}, clocktest.New(t0), testConfig())
}

func BenchmarkSign(b *testing.B) {
	k := benchKeys(b)
	ctx, c := context.Background(), testClaims(t0)
	for b.Loop() {
		if _, err := k.Sign(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the uncached path: a token seen for the first time.
func BenchmarkVerify(b *testing.B) {
	k := benchKeys(b)
	k.noCache = true
	ctx := context.Background()
	tok := mustSign(b, k, testClaims(t0))
	for b.Loop() {
		if _, err := k.Verify(ctx, tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is /v1/check's common case: a token verified before,
// from many goroutines at once. It uses the system clock (as production does;
// the fake clock's mutex would dominate).
func BenchmarkVerifyCached(b *testing.B) {
	k := newTestKeys(b, &memStore{}, auth.SystemClock{}, testConfig())
	ctx := context.Background()
	toks := make([]string, 1024)
	for i := range toks {
		c := testClaims(t0)
		c.ID = fmt.Sprint(i)
		toks[i] = mustSign(b, k, c)
		if _, err := k.Verify(ctx, toks[i], t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := k.Verify(ctx, toks[i%len(toks)], t0); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkVerifyInvalid is the cost of a garbage or forged token, which an
// attacker can send at will and which is never cached.
func BenchmarkVerifyInvalid(b *testing.B) {
	k := benchKeys(b)
	ctx := context.Background()
	tok := mustSign(b, k, testClaims(t0))
	forged := tamper(tok)
	for b.Loop() {
		if _, err := k.Verify(ctx, forged, t0); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}
