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
		{1, 19 * 1024, 48<<20 + 20<<20},
		{2, 19 * 1024, 48<<20 + 40<<20},
		{16, 19 * 1024, 48<<20 + 320<<20},
		{2, 64 * 1024, 48<<20 + 130<<20},
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
