package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/gatehouse/gatehouse/internal/password"
)

// setMemoryLimit gives the Go runtime a soft memory limit (see
// debug.SetMemoryLimit) fitted to the server, unless GOMEMLIMIT is set in
// the environment (read through lookup), which the runtime has already
// applied and which wins, "off" included. It returns the limit in force
// and whether this call set it.
//
// Why: a password hash allocates password.DefaultParams.Memory (19 MiB)
// afresh, and at most GOMAXPROCS hashes run at once. Under a sign-in storm
// the live heap is those arrays plus a few MiB; with only GOGC=100 the
// runtime lets the heap grow to twice that before it collects, and the
// process held 160–180 MiB. With a limit the runtime collects as the heap
// nears it instead, and the scavenger returns what lies above it. The
// limit fits the storm, not a large heap: watchMemoryLimit raises it for a
// server that keeps more (many sessions in its view).
func setMemoryLimit(lookup func(string) (string, bool)) (limit int64, set bool) {
	if _, ok := lookup("GOMEMLIMIT"); ok {
		return debug.SetMemoryLimit(-1), false
	}
	limit = memoryLimit(runtime.GOMAXPROCS(0), password.DefaultParams.Memory)
	debug.SetMemoryLimit(limit)
	return limit, true
}

// memoryLimitBase is what memoryLimit leaves for everything but the hashes:
// about 10 MiB at rest, a storm's 500 waiting connections and the garbage
// between collections. Measured on two cores (docs/benchmarks.md), 500
// sign-ins at once need about 67 MiB of anonymous memory; 32 MiB here
// (72 in all) kept the storm's rate, 28 cost a fifth of it.
const memoryLimitBase = 32 << 20

// memoryLimit is the limit setMemoryLimit sets for hashes argon2id hashes
// at once of memKiB each: memoryLimitBase and hashReserve.
func memoryLimit(hashes int, memKiB uint32) int64 {
	return memoryLimitBase + hashReserve(hashes, memKiB)
}

// hashReserve is the room of hashes argon2id arrays of memKiB each, with a
// MiB of slack apiece.
func hashReserve(hashes int, memKiB uint32) int64 {
	return int64(hashes) * (int64(memKiB)<<10 + 1<<20)
}

// memoryWatch is how often watchMemoryLimit looks at the live heap.
const memoryWatch = 5 * time.Second

// watchMemoryLimit keeps the fitted limit from starving a heap that
// outgrows it, until ctx ends. Below its live heap, a memory limit makes
// the runtime collect back to back, capping the collector at half the CPU
// rather than failing: a server whose session view holds many thousands of
// sessions would lose half its cores. Every period it sets the limit to
// limitFor the live heap of the last collection.
func watchMemoryLimit(ctx context.Context, fitted, reserve int64, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			adjustMemoryLimit(fitted, reserve)
		}
	}
}

// adjustMemoryLimit sets and returns the limit for the live heap of the
// last collection (see limitFor).
func adjustMemoryLimit(fitted, reserve int64) int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return debug.SetMemoryLimit(-1) // a runtime without the metric: leave it
	}
	limit := limitFor(fitted, reserve, int64(s[0].Value.Uint64()))
	debug.SetMemoryLimit(limit)
	return limit
}

// limitFor returns the limit for a heap whose live objects took live bytes
// at the last collection: fitted while what the server keeps fits it,
// else room for that to double before a collection (as GOGC=100 would
// allow) with the hashes' reserve on top. What the server keeps is counted
// without the reserve, as hashes running during the collection count among
// the live objects: a storm's own arrays never raise the limit.
func limitFor(fitted, reserve, live int64) int64 {
	kept := max(0, live-reserve)
	return max(fitted, 2*kept+reserve)
}
