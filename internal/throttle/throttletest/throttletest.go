// Package throttletest walks auth's counters through time: the
// moving-clock scenarios that fix their policy (how long a lockout is, how
// it doubles, when failures and events leave their window, when a key is
// forgotten). Package throttle's in-process counters and the shared ones
// of store/redisstore run the same tables, so a node counts alike whether
// Redis answers or not. The storetest groups check what every
// implementation of the ports must do with a clock that stands still;
// these check the policy of package throttle, which the shared counters
// copy.
//
// Times in the tables are whole milliseconds: the shared counters keep
// time to the millisecond.
package throttletest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// Start is where every scenario's clock starts.
var Start = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// ThrottleStep is one step of a Throttle scenario: advance the clock,
// Reset, Fail a number of times, then Wait must answer Wait.
type ThrottleStep struct {
	Advance time.Duration
	Reset   bool
	Fails   int
	Wait    time.Duration
}

// ThrottleScenario is one key's history under Config.
type ThrottleScenario struct {
	Name   string
	Config throttle.Config
	Steps  []ThrottleStep
}

const (
	block = time.Minute      // throttle.Config's default Block
	win   = 15 * time.Minute // and Window
)

// ThrottleScenarios are the policy of throttle.Memory.
var ThrottleScenarios = []ThrottleScenario{
	{"4 failures do not block", throttle.Config{}, []ThrottleStep{
		{Fails: 4, Wait: 0},
	}},
	{"the 5th failure blocks for Block", throttle.Config{}, []ThrottleStep{
		{Fails: 4, Wait: 0},
		{Fails: 1, Wait: block},
		{Advance: 20 * time.Second, Wait: 40 * time.Second},
		{Advance: 40*time.Second - time.Millisecond, Wait: time.Millisecond},
		{Advance: time.Millisecond, Wait: 0},
	}},
	{"repeat lockouts double, capped at MaxBlock", throttle.Config{}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Advance: block, Fails: 4, Wait: 0},
		{Fails: 1, Wait: 2 * block},
		{Advance: 2 * block, Fails: 5, Wait: 4 * block},
		{Advance: 4 * block, Fails: 5, Wait: 8 * block},
		{Advance: 8 * block, Fails: 5, Wait: 16 * block},
		{Advance: 16 * block, Fails: 5, Wait: 32 * block},
		{Advance: 32 * block, Fails: 5, Wait: time.Hour},
		{Advance: time.Hour, Fails: 5, Wait: time.Hour},
	}},
	{"cap that is not a power of two", throttle.Config{Block: time.Minute, MaxBlock: 3 * time.Minute}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Advance: block, Fails: 5, Wait: 2 * block},
		{Advance: 2 * block, Fails: 5, Wait: 3 * block},
		{Advance: 3 * block, Fails: 5, Wait: 3 * block},
	}},
	{"failures during a block are ignored", throttle.Config{}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Fails: 20, Wait: block},
		{Advance: block, Fails: 4, Wait: 0},
	}},
	{"failures older than Window are forgotten", throttle.Config{}, []ThrottleStep{
		{Fails: 4, Wait: 0},
		{Advance: win, Fails: 1, Wait: 0},
		{Fails: 3, Wait: 0},
		{Fails: 1, Wait: block},
	}},
	{"the window slides", throttle.Config{}, []ThrottleStep{
		{Fails: 2, Wait: 0},                           // t=0
		{Advance: 10 * time.Minute, Fails: 2},         // t=10m: 4 in window
		{Advance: 5 * time.Minute, Fails: 1, Wait: 0}, // the two at t=0 left: 3
		{Fails: 1, Wait: 0},
		{Fails: 1, Wait: block},
	}},
	{"lockout history lapses after Window without failures", throttle.Config{}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Advance: block + win, Fails: 5, Wait: block},
	}},
	{"lockout history is kept within Window", throttle.Config{}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Advance: block + win - time.Millisecond, Fails: 5, Wait: 2 * block},
	}},
	{"Reset forgets failures and history", throttle.Config{}, []ThrottleStep{
		{Fails: 5, Wait: block},
		{Reset: true, Wait: 0},
		{Fails: 4, Wait: 0},
		{Reset: true, Fails: 4, Wait: 0},
		{Fails: 1, Wait: block},
	}},
	{"custom limits", throttle.Config{MaxFailures: 2, Block: time.Second, MaxBlock: 4 * time.Second}, []ThrottleStep{
		{Fails: 1, Wait: 0},
		{Fails: 1, Wait: time.Second},
		{Advance: time.Second, Fails: 2, Wait: 2 * time.Second},
		{Advance: 2 * time.Second, Fails: 2, Wait: 4 * time.Second},
		{Advance: 4 * time.Second, Fails: 2, Wait: 4 * time.Second},
	}},
	{"a short window", throttle.Config{MaxFailures: 2, Window: time.Second, Block: time.Second}, []ThrottleStep{
		{Fails: 1, Wait: 0},
		{Advance: time.Second, Fails: 1, Wait: 0}, // the first left the window
		{Fails: 1, Wait: time.Second},
		{Advance: 2*time.Second - time.Millisecond, Fails: 2, Wait: 2 * time.Second}, // history held a Window past the block
		{Advance: 3 * time.Second, Fails: 2, Wait: time.Second},                      // and forgotten then
	}},
}

// Throttles runs ThrottleScenarios, each on a throttle open returns: empty,
// reading clock, under cfg.
func Throttles(t *testing.T, open func(t *testing.T, clock auth.Clock, cfg throttle.Config) auth.Throttle) {
	t.Helper()
	for _, tc := range ThrottleScenarios {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := clocktest.New(Start)
			s := open(t, clock, tc.Config)
			const key = "user@example.com"
			for i, st := range tc.Steps {
				clock.Advance(st.Advance)
				if st.Reset {
					if err := s.Reset(ctx, key); err != nil {
						t.Fatalf("step %d: Reset: %v", i, err)
					}
				}
				for range st.Fails {
					if err := s.Fail(ctx, key); err != nil {
						t.Fatalf("step %d: Fail: %v", i, err)
					}
				}
				got, err := s.Wait(ctx, key)
				if err != nil {
					t.Fatalf("step %d: Wait: %v", i, err)
				}
				if got != st.Wait {
					t.Fatalf("step %d (%+v): Wait = %v, want %v", i, st, got, st.Wait)
				}
			}
			// Another key is never affected.
			if got, err := s.Wait(ctx, "other@example.com"); got != 0 || err != nil {
				t.Errorf("Wait(other key) = %v, %v; want 0", got, err)
			}
		})
	}
}

// WindowStep is one step of a SendLimiter scenario: advance the clock,
// then Allow Sends times; each but the last must be let through, and the
// last answers Wait.
type WindowStep struct {
	Advance time.Duration
	Sends   int
	Wait    time.Duration
}

// WindowScenario is one key's sends under Limits.
type WindowScenario struct {
	Name   string
	Limits []throttle.Limit
	Steps  []WindowStep
}

// WindowScenarios are the policy of throttle.Window.
var WindowScenarios = []WindowScenario{
	{"one a minute, ten an hour", throttle.DefaultSendLimits, []WindowStep{
		{Sends: 1, Wait: 0},
		{Sends: 1, Wait: time.Minute},
		{Advance: 30 * time.Second, Sends: 1, Wait: 30 * time.Second}, // a refusal records nothing
		{Advance: 30 * time.Second, Sends: 1, Wait: 0},
		// One a minute up to ten in the hour (sends at 0, 1m, …, 9m).
		{Advance: time.Minute, Sends: 1}, {Advance: time.Minute, Sends: 1},
		{Advance: time.Minute, Sends: 1}, {Advance: time.Minute, Sends: 1},
		{Advance: time.Minute, Sends: 1}, {Advance: time.Minute, Sends: 1},
		{Advance: time.Minute, Sends: 1}, {Advance: time.Minute, Sends: 1},
		// At 10m30s the eleventh waits for the first to leave the hour.
		{Advance: 90 * time.Second, Sends: 1, Wait: 49*time.Minute + 30*time.Second},
		{Advance: 49*time.Minute + 30*time.Second - time.Millisecond, Sends: 1, Wait: time.Millisecond},
		{Advance: time.Millisecond, Sends: 1, Wait: 0},
		{Sends: 1, Wait: time.Minute},
	}},
	{"a burst limit", []throttle.Limit{{N: 3, Per: time.Second}}, []WindowStep{
		{Sends: 4, Wait: time.Second},
		{Advance: 999 * time.Millisecond, Sends: 1, Wait: time.Millisecond},
		{Advance: time.Millisecond, Sends: 4, Wait: time.Second},
	}},
	{"every limit must allow", []throttle.Limit{{N: 2, Per: time.Hour}, {N: 1, Per: time.Second}}, []WindowStep{
		{Sends: 1, Wait: 0},
		{Advance: time.Second, Sends: 2, Wait: time.Hour - time.Second},
		{Advance: time.Hour, Sends: 1, Wait: 0},
	}},
}

// Windows runs WindowScenarios, each on a limiter open returns: empty,
// reading clock, under limits.
func Windows(t *testing.T, open func(t *testing.T, clock auth.Clock, limits []throttle.Limit) auth.SendLimiter) {
	t.Helper()
	for _, tc := range WindowScenarios {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := clocktest.New(Start)
			s := open(t, clock, tc.Limits)
			const key = "mail:user@example.com"
			for i, st := range tc.Steps {
				clock.Advance(st.Advance)
				for n := range st.Sends {
					got, err := s.Allow(ctx, key)
					if err != nil {
						t.Fatalf("step %d: Allow: %v", i, err)
					}
					want := time.Duration(0)
					if n == st.Sends-1 {
						want = st.Wait
					}
					if got != want {
						t.Fatalf("step %d (%+v), send %d: Allow = %v, want %v", i, st, n+1, got, want)
					}
				}
			}
			if got, err := s.Allow(ctx, "mail:other@example.com"); got != 0 || err != nil {
				t.Errorf("Allow(other key) = %v, %v; want 0", got, err)
			}
		})
	}
}

// LimiterStep is one step of a Limiter scenario: advance the clock,
// Return Returns times, then Take Takes times under Limit; the last Take
// answers Wait, and Tripped is whether any of them tripped.
type LimiterStep struct {
	Advance time.Duration
	Returns int
	Takes   int
	Wait    time.Duration
	Tripped bool
}

// LimiterScenario is one key's history under Limit.
type LimiterScenario struct {
	Name  string
	Limit auth.Limit
	Steps []LimiterStep
}

// lockLimit is the shape of auth's own limits, smaller.
var lockLimit = auth.Limit{Max: 3, Per: time.Hour, Block: 15 * time.Minute, MaxBlock: time.Hour}

// LimiterScenarios are the policy of throttle.Limiter.
var LimiterScenarios = []LimiterScenario{
	{"events leave the window", lockLimit, []LimiterStep{
		{Takes: 3},
		{Advance: time.Hour, Takes: 3}, // the first three are gone
		{Takes: 1, Wait: 15 * time.Minute, Tripped: true},
	}},
	{"the window slides", lockLimit, []LimiterStep{
		{Takes: 2},
		{Advance: 30 * time.Minute, Takes: 1},
		{Advance: 30*time.Minute - time.Millisecond, Takes: 1, Wait: 15 * time.Minute, Tripped: true},
		{Advance: 15 * time.Minute, Takes: 3}, // a lock spends the events before it
	}},
	{"locks double up to MaxBlock", lockLimit, []LimiterStep{
		{Takes: 4, Wait: 15 * time.Minute, Tripped: true},
		{Advance: 15 * time.Minute, Takes: 4, Wait: 30 * time.Minute, Tripped: true},
		{Advance: 30 * time.Minute, Takes: 4, Wait: time.Hour, Tripped: true},
		{Advance: time.Hour, Takes: 4, Wait: time.Hour, Tripped: true},
	}},
	{"a lock counts down and trips once", lockLimit, []LimiterStep{
		{Takes: 4, Wait: 15 * time.Minute, Tripped: true},
		{Advance: 10 * time.Minute, Takes: 3, Wait: 5 * time.Minute},
		{Advance: 5*time.Minute - time.Millisecond, Takes: 1, Wait: time.Millisecond},
		{Advance: time.Millisecond, Takes: 1},
	}},
	{"forgotten after its window, history and all", lockLimit, []LimiterStep{
		{Takes: 4, Wait: 15 * time.Minute, Tripped: true},
		{Advance: 15*time.Minute + time.Hour, Takes: 4, Wait: 15 * time.Minute, Tripped: true},
	}},
	{"history kept within its window", lockLimit, []LimiterStep{
		{Takes: 4, Wait: 15 * time.Minute, Tripped: true},
		{Advance: 15*time.Minute + time.Hour - time.Millisecond, Takes: 4, Wait: 30 * time.Minute, Tripped: true},
	}},
	{"Return takes back the newest, one each", lockLimit, []LimiterStep{
		{Takes: 3},
		{Returns: 2, Takes: 2},
		{Takes: 1, Wait: 15 * time.Minute, Tripped: true},
	}},
	{"Return leaves the oldest in the window", lockLimit, []LimiterStep{
		{Takes: 1},
		{Advance: 50 * time.Minute, Takes: 2},
		{Returns: 1, Takes: 1},
		// The one at 0 leaves at 1h; the two at 50m stay.
		{Advance: 10 * time.Minute, Takes: 1},
		{Takes: 1, Wait: 15 * time.Minute, Tripped: true},
	}},
	{"Return never ends a lock", lockLimit, []LimiterStep{
		{Takes: 4, Wait: 15 * time.Minute, Tripped: true},
		{Advance: time.Minute, Returns: 5, Takes: 1, Wait: 14 * time.Minute},
		{Advance: 14 * time.Minute, Returns: 1, Takes: 3}, // nothing left to return: the lock spent them
		{Takes: 1, Wait: 30 * time.Minute, Tripped: true},
	}},
	{"a sliding window trips once a run", auth.Limit{Max: 2, Per: time.Hour}, []LimiterStep{
		{Takes: 2},
		{Advance: 20 * time.Minute, Takes: 1, Wait: 40 * time.Minute, Tripped: true},
		{Advance: 20 * time.Minute, Takes: 2, Wait: 20 * time.Minute},
		{Advance: 20 * time.Minute, Takes: 2}, // both left the window
		{Takes: 1, Wait: time.Hour, Tripped: true},
	}},
	{"a sliding window lets one in as one leaves", auth.Limit{Max: 2, Per: time.Hour}, []LimiterStep{
		{Takes: 1},
		{Advance: 30 * time.Minute, Takes: 1},
		{Takes: 1, Wait: 30 * time.Minute, Tripped: true},
		{Advance: 30 * time.Minute, Takes: 1},
		{Takes: 1, Wait: 30 * time.Minute, Tripped: true},
		{Returns: 1, Takes: 1},
	}},
}

// Limiters runs LimiterScenarios, each on a limiter open returns: empty,
// reading clock.
func Limiters(t *testing.T, open func(t *testing.T, clock auth.Clock) auth.Limiter) {
	t.Helper()
	for _, tc := range LimiterScenarios {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := clocktest.New(Start)
			s := open(t, clock)
			const key = "mfa:user"
			for i, st := range tc.Steps {
				clock.Advance(st.Advance)
				for range st.Returns {
					if err := s.Return(ctx, key); err != nil {
						t.Fatalf("step %d: Return: %v", i, err)
					}
				}
				var wait time.Duration
				var tripped bool
				for range st.Takes {
					w, tr, err := s.Take(ctx, key, tc.Limit)
					if err != nil {
						t.Fatalf("step %d: Take: %v", i, err)
					}
					wait, tripped = w, tripped || tr
				}
				if wait != st.Wait || tripped != st.Tripped {
					t.Fatalf("step %d (%+v): wait %v, tripped %v; want %v, %v", i, st, wait, tripped, st.Wait, st.Tripped)
				}
			}
			if w, tr, err := s.Take(ctx, "mfa:other", tc.Limit); w != 0 || tr || err != nil {
				t.Errorf("Take(other key) = %v, %v, %v; want 0", w, tr, err)
			}
		})
	}
}
