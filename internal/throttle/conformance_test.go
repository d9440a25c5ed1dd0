package throttle_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/throttle/throttletest"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The in-process counters pass the groups a shared (Redis) implementation
// must pass too.
func TestConformance(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	storetest.Throttles(t, func(*testing.T) auth.Throttle {
		return throttle.NewMemory(clocktest.New(at), throttle.Config{})
	})
	storetest.SendLimiters(t, func(*testing.T) auth.SendLimiter {
		return throttle.NewWindow(clocktest.New(at), nil, 0)
	})
	storetest.Limiters(t, func(*testing.T) auth.Limiter {
		return throttle.NewLimiter(clocktest.New(at), 0)
	})
}

// The policy, walked through time: the shared counters run the same tables.
func TestScenarios(t *testing.T) {
	t.Parallel()
	t.Run("Memory", func(t *testing.T) {
		t.Parallel()
		throttletest.Throttles(t, func(_ *testing.T, clock auth.Clock, cfg throttle.Config) auth.Throttle {
			return throttle.NewMemory(clock, cfg)
		})
	})
	t.Run("Window", func(t *testing.T) {
		t.Parallel()
		throttletest.Windows(t, func(_ *testing.T, clock auth.Clock, limits []throttle.Limit) auth.SendLimiter {
			return throttle.NewWindow(clock, limits, 0)
		})
	})
	t.Run("Limiter", func(t *testing.T) {
		t.Parallel()
		throttletest.Limiters(t, func(_ *testing.T, clock auth.Clock) auth.Limiter {
			return throttle.NewLimiter(clock, 0)
		})
	})
}
