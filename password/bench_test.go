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

func BenchmarkVerify(b *testing.B) {
	h := New(DefaultParams, 0)
	enc, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := h.Verify(b.Context(), enc, "correct horse battery staple"); !ok || err != nil {
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
	h := New(DefaultParams, 0)
	enc, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(context.Background(), enc, "correct horse battery staple"); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
