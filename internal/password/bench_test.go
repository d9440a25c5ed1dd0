package password

import (
	"context"
	"testing"
)

func BenchmarkHash(b *testing.B) {
	h := New(DefaultParams, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPassword is what the verification benchmarks verify.
const benchPassword = "correct horse battery staple"

// hashed returns a hasher with the default settings and benchPassword's
// hash under it.
func hashed(b *testing.B) (*Hasher, string) {
	h := New(DefaultParams, 0)
	enc, err := h.Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return h, enc
}

func BenchmarkVerify(b *testing.B) {
	h, enc := hashed(b)
	for b.Loop() {
		if ok, err := h.Verify(b.Context(), enc, benchPassword); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	commonSet() // measure checks, not the one-time load
	pws := []string{"password", "Tr0ub4dor&3", "tangerine-obelisk-marmalade-7-quartz", "short"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		DefaultPolicy.Check(pws[i%len(pws)])
		i++
	}
}

// BenchmarkVerifyParallel runs one verification per core at once, as a
// sign-in storm does: its ns/op (wall time per hash) is the machine's real
// hashing ceiling, which is below cores ÷ BenchmarkVerify where the cores
// share caches and memory bandwidth.
func BenchmarkVerifyParallel(b *testing.B) {
	h, enc := hashed(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(context.Background(), enc, benchPassword); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
