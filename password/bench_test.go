package password

import (
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
