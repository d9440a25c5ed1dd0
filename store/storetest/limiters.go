package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Limiters runs the conformance tests of auth.Limiter. open returns an
// empty limiter that reads a clock standing still during the test. How a
// lock grows and when events leave the window are checked with a moving
// clock by the implementation's own tests.
func Limiters(t *testing.T, open func(t *testing.T) auth.Limiter) {
	t.Helper()
	runGroup(t, "Limiter", open, limiterTests)
}

var limiterTests = []storeTest[auth.Limiter]{
	{"LocksPastTheLimitAndTripsOnce", testLimiterLock},
	{"ReturnTakesBackOne", testLimiterReturn},
	{"ReturnDoesNotEndALock", testLimiterReturnLocked},
	{"SlidingWindowTripsOnce", testLimiterSliding},
	{"KeysApart", testLimiterKeysApart},
	{"ConcurrentTakesNeverPassTheLimit", testLimiterConcurrently},
}

// lockLimit locks a key for a minute past its third event in an hour.
var lockLimit = auth.Limit{Max: 3, Per: time.Hour, Block: time.Minute, MaxBlock: time.Hour}

// take calls Take and fails the test on an error.
func take(t *testing.T, s auth.Limiter, key string, l auth.Limit) (time.Duration, bool) {
	t.Helper()
	wait, tripped, err := s.Take(t.Context(), key, l)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	return wait, tripped
}

// takeFree takes n events that must all be let through.
func takeFree(t *testing.T, s auth.Limiter, key string, l auth.Limit, n int) {
	t.Helper()
	for i := range n {
		if wait, tripped := take(t, s, key, l); wait != 0 || tripped {
			t.Fatalf("Take #%d of %d = %v, %v; want 0, false", i+1, n, wait, tripped)
		}
	}
}

func testLimiterLock(t *testing.T, s auth.Limiter) {
	key := "mfa:" + newID()
	takeFree(t, s, key, lockLimit, lockLimit.Max)
	if wait, tripped := take(t, s, key, lockLimit); wait != lockLimit.Block || !tripped {
		t.Errorf("Take past the limit = %v, %v; want %v, tripped", wait, tripped, lockLimit.Block)
	}
	for i := range 2 { // locked, and it trips no more: one lock, one notice
		if wait, tripped := take(t, s, key, lockLimit); wait <= 0 || wait > lockLimit.Block || tripped {
			t.Errorf("Take #%d while locked = %v, %v; want a wait, not tripped", i+1, wait, tripped)
		}
	}
}

func testLimiterReturn(t *testing.T, s auth.Limiter) {
	// A right code takes its try back; the failures before it stay.
	key := "mfa:" + newID()
	takeFree(t, s, key, lockLimit, lockLimit.Max)
	if err := s.Return(t.Context(), key); err != nil {
		t.Fatalf("Return: %v", err)
	}
	takeFree(t, s, key, lockLimit, 1)
	if wait, _ := take(t, s, key, lockLimit); wait <= 0 {
		t.Error("one Return freed more than one try")
	}
	if err := s.Return(t.Context(), "mfa:"+newID()); err != nil {
		t.Errorf("Return of an unknown key: %v", err)
	}
}

func testLimiterReturnLocked(t *testing.T, s auth.Limiter) {
	key := "mfa:" + newID()
	takeFree(t, s, key, lockLimit, lockLimit.Max)
	take(t, s, key, lockLimit)
	for range lockLimit.Max + 1 {
		if err := s.Return(t.Context(), key); err != nil {
			t.Fatalf("Return: %v", err)
		}
	}
	if wait, _ := take(t, s, key, lockLimit); wait <= 0 {
		t.Error("Return ended a lock")
	}
}

func testLimiterSliding(t *testing.T, s auth.Limiter) {
	l := auth.Limit{Max: 2, Per: time.Hour}
	key := "send-ip:" + newID()
	takeFree(t, s, key, l, l.Max)
	if wait, tripped := take(t, s, key, l); wait <= 0 || wait > l.Per || !tripped {
		t.Errorf("Take past the limit = %v, %v; want a wait within %v, tripped", wait, tripped, l.Per)
	}
	if wait, tripped := take(t, s, key, l); wait <= 0 || tripped {
		t.Errorf("Take again = %v, %v; want a wait, not tripped", wait, tripped)
	}
}

func testLimiterKeysApart(t *testing.T, s auth.Limiter) {
	locked, other := "code-ip:"+newID(), "code-ip:"+newID()
	takeFree(t, s, locked, lockLimit, lockLimit.Max)
	take(t, s, locked, lockLimit)
	takeFree(t, s, other, lockLimit, lockLimit.Max)
}

func testLimiterConcurrently(t *testing.T, s auth.Limiter) {
	// Tries at the same instant are let through at most Max times, and
	// exactly one of those past it trips the lock.
	const n = 24
	key := "mfa:" + newID()
	type result struct {
		free, tripped bool
	}
	rs, errs := race(n, func(int) (result, error) {
		wait, tripped, err := s.Take(t.Context(), key, lockLimit)
		return result{wait == 0, tripped}, err
	})
	noErrors(t, "Take", errs)
	free, tripped := 0, 0
	for _, r := range rs {
		if r.free {
			free++
		}
		if r.tripped {
			tripped++
		}
	}
	if free != lockLimit.Max || tripped != 1 {
		t.Errorf("%d concurrent Takes: %d let through, %d tripped; want %d and 1", n, free, tripped, lockLimit.Max)
	}
}
