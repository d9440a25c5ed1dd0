package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Throttles runs the conformance tests of auth.Throttle. open returns an
// empty throttle that locks a key out at its fifth failure within a
// minute or more (internal/throttle's defaults) and reads a clock that
// stands still during the test. What comes after a lockout (how long,
// how it grows) is the implementation's policy, for its own tests.
func Throttles(t *testing.T, open func(t *testing.T) auth.Throttle) {
	t.Helper()
	runGroup(t, "Throttle", open, throttleTests)
}

// SendLimiters runs the conformance tests of auth.SendLimiter. open
// returns an empty limiter that allows one send per key per minute or
// longer and reads a clock that stands still during the test.
func SendLimiters(t *testing.T, open func(t *testing.T) auth.SendLimiter) {
	t.Helper()
	runGroup(t, "SendLimiter", open, sendLimiterTests)
}

var throttleTests = []storeTest[auth.Throttle]{
	{"LocksOutAtTheLimit", testThrottleLimit},
	{"ResetForgets", testThrottleReset},
	{"KeysApart", testThrottleKeysApart},
	{"ConcurrentFailuresAllCount", testThrottleConcurrently},
}

var sendLimiterTests = []storeTest[auth.SendLimiter]{
	{"OneThenWait", testSendLimit},
	{"KeysApart", testSendLimitKeysApart},
	{"ConcurrentSendsOneAllowed", testSendLimitConcurrently},
}

// throttleLimit is the failure that locks a key out.
const throttleLimit = 5

func checkWait(t *testing.T, s auth.Throttle, key string, locked bool) {
	t.Helper()
	wait, err := s.Wait(t.Context(), key)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if (wait > 0) != locked {
		t.Errorf("Wait(%s) = %v; want locked out %v", key, wait, locked)
	}
}

func mustFail(t *testing.T, s auth.Throttle, key string, n int) {
	t.Helper()
	for range n {
		if err := s.Fail(t.Context(), key); err != nil {
			t.Fatalf("Fail: %v", err)
		}
	}
}

func testThrottleLimit(t *testing.T, s auth.Throttle) {
	key := "acct:" + newID()
	checkWait(t, s, key, false)
	mustFail(t, s, key, throttleLimit-1)
	checkWait(t, s, key, false)
	mustFail(t, s, key, 1)
	checkWait(t, s, key, true)
}

func testThrottleReset(t *testing.T, s auth.Throttle) {
	// A success forgets the failures before it: the next lockout takes a
	// whole run of failures again.
	key := "acct:" + newID()
	mustFail(t, s, key, throttleLimit-1)
	if err := s.Reset(t.Context(), key); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	mustFail(t, s, key, throttleLimit-1)
	checkWait(t, s, key, false)
	if err := s.Reset(t.Context(), "acct:"+newID()); err != nil {
		t.Errorf("Reset of an unknown key: %v", err)
	}
}

func testThrottleKeysApart(t *testing.T, s auth.Throttle) {
	locked, other := "ip:"+newID(), "ip:"+newID()
	mustFail(t, s, locked, throttleLimit)
	checkWait(t, s, locked, true)
	checkWait(t, s, other, false)
}

func testThrottleConcurrently(t *testing.T, s auth.Throttle) {
	// Failures at the same instant all count, or an attacker gets more
	// guesses by sending them in parallel.
	key := "acct:" + newID()
	noErrors(t, "Fail", raceAll(throttleLimit, func(int) error { return s.Fail(t.Context(), key) }))
	checkWait(t, s, key, true)
}

func testSendLimit(t *testing.T, s auth.SendLimiter) {
	key := "mail:" + newID() + "@example.com"
	if wait, err := s.Allow(t.Context(), key); err != nil || wait != 0 {
		t.Fatalf("first Allow = %v, %v; want 0", wait, err)
	}
	for i := range 2 { // refused, and refused again: a refusal records nothing that frees the key
		wait, err := s.Allow(t.Context(), key)
		if err != nil || wait <= 0 || wait > 24*time.Hour {
			t.Errorf("Allow #%d right after a send = %v, %v; want a wait", i+2, wait, err)
		}
	}
}

func testSendLimitKeysApart(t *testing.T, s auth.SendLimiter) {
	for i := range 3 {
		key := fmt.Sprintf("mail:%d-%s@example.com", i, newID())
		if wait, err := s.Allow(t.Context(), key); err != nil || wait != 0 {
			t.Errorf("first Allow of key #%d = %v, %v; want 0", i, wait, err)
		}
	}
}

func testSendLimitConcurrently(t *testing.T, s auth.SendLimiter) {
	// A burst of requests for one address sends one message.
	key := "mail:" + newID() + "@example.com"
	waits, errs := race(16, func(int) (bool, error) {
		wait, err := s.Allow(t.Context(), key)
		return wait == 0, err
	})
	oneWins(t, "Allow", waits, errs)
}
