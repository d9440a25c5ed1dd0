package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/gatehouse/gatehouse/internal/password"
)

// Not parallel: the memory limit is the process's.

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	fitted := memoryLimit(runtime.GOMAXPROCS(0), password.DefaultParams.Memory)
	const preset = 300 << 20 // what the runtime took from GOMEMLIMIT
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantLimit int64
		wantSet   bool
	}{
		{"no GOMEMLIMIT: fitted to the hashes", map[string]string{}, fitted, true},
		{"GOMEMLIMIT set: it wins", map[string]string{"GOMEMLIMIT": "300MiB"}, preset, false},
		{"GOMEMLIMIT=off: no limit, as asked", map[string]string{"GOMEMLIMIT": "off"}, preset, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(preset)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			limit, set := setMemoryLimit(lookup)
			if limit != tc.wantLimit || set != tc.wantSet {
				t.Errorf("setMemoryLimit = %d, %v; want %d, %v", limit, set, tc.wantLimit, tc.wantSet)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("runtime's limit = %d, want %d", got, tc.wantLimit)
			}
		})
	}

	// The same through the process's environment, as serve reads it.
	t.Setenv("GOMEMLIMIT", "300MiB")
	debug.SetMemoryLimit(preset)
	if _, set := setMemoryLimit(os.LookupEnv); set {
		t.Error("setMemoryLimit(os.LookupEnv) with GOMEMLIMIT in the environment set a limit")
	}
}

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		hashes int
		memKiB uint32
		want   int64
	}{
		{1, 19 * 1024, 32<<20 + 20<<20},
		{2, 19 * 1024, 32<<20 + 40<<20},
		{16, 19 * 1024, 32<<20 + 320<<20},
		{2, 64 * 1024, 32<<20 + 130<<20},
	} {
		got := memoryLimit(tc.hashes, tc.memKiB)
		if got != tc.want {
			t.Errorf("memoryLimit(%d, %d KiB) = %d MiB, want %d MiB", tc.hashes, tc.memKiB, got>>20, tc.want>>20)
		}
		if got == math.MaxInt64 || got <= 0 {
			t.Errorf("memoryLimit(%d, %d KiB) = %d: no limit", tc.hashes, tc.memKiB, got)
		}
	}
}

func TestLimitFor(t *testing.T) {
	const fitted, reserve = 72 << 20, 40 << 20
	for _, tc := range []struct {
		name string
		live int64
		want int64
	}{
		{"at rest", 5 << 20, fitted},
		// Two arrays and what 500 waiting connections hold.
		{"a storm's arrays", 12<<20 + 38<<20, fitted},
		{"a session view of 100 MiB", 100 << 20, 2*(100<<20-reserve) + reserve},
		{"nothing live", 0, fitted},
	} {
		if got := limitFor(fitted, reserve, tc.live); got != tc.want {
			t.Errorf("%s: limitFor(live %d MiB) = %d MiB, want %d MiB", tc.name, tc.live>>20, got>>20, tc.want>>20)
		}
	}
}

// TestAdjustMemoryLimit: a heap that outgrows the fitted limit raises it
// (the runtime would otherwise collect back to back), and the limit comes
// back down once the heap does.
func TestAdjustMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	fitted := memoryLimit(2, password.DefaultParams.Memory)
	reserve := hashReserve(2, password.DefaultParams.Memory)
	debug.SetMemoryLimit(fitted)

	kept := make([][]byte, 160)
	for i := range kept {
		kept[i] = make([]byte, 1<<20) // 160 MiB the server keeps
	}
	runtime.GC()
	raised := adjustMemoryLimit(fitted, reserve)
	if raised < 2*(160<<20-reserve)+reserve {
		t.Errorf("with 160 MiB live, the limit = %d MiB; want at least %d MiB", raised>>20, (2*(160<<20-reserve)+reserve)>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != raised {
		t.Errorf("runtime's limit = %d, want %d", got, raised)
	}
	runtime.KeepAlive(kept)
	runtime.GC()
	if got := adjustMemoryLimit(fitted, reserve); got != fitted {
		t.Errorf("once the heap shrank, the limit = %d MiB; want the fitted %d MiB", got>>20, fitted>>20)
	}
}
