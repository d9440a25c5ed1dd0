package verify

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

// TestRevocationsBound: the remembered replies stay within maxChecks
// whatever the number of tokens, and an answer being asked is kept.
func TestRevocationsBound(t *testing.T) {
	t.Parallel()
	r := &revocations{interval: time.Minute}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	answered := func() *checkEntry {
		e := &checkEntry{done: make(chan struct{}), at: now}
		close(e.done)
		return e
	}
	for i := range maxChecks * 3 {
		r.putLocked(sha256.Sum256([]byte(strconv.Itoa(i))), answered(), now)
		if n := len(r.m); n > maxChecks {
			t.Fatalf("%d answers remembered, bound %d", n, maxChecks)
		}
	}
	// Answers past their interval go first.
	later := now.Add(time.Minute)
	for i := range maxChecks {
		r.putLocked(sha256.Sum256([]byte("new"+strconv.Itoa(i))), &checkEntry{done: make(chan struct{}), at: later}, later)
	}
	for k, e := range r.m {
		if e.at.Equal(now) {
			t.Fatalf("a stale answer %x outlived %d fresh ones", k[:4], maxChecks)
		}
	}
}
