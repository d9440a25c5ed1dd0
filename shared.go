package gatehouse

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/store/redisstore"
)

// share moves what every node must agree on to Redis when
// GATEHOUSE_REDIS_URL is set. Without it, a node on PostgreSQL (which
// other nodes may share) says at start that its limits are its own.
func (g *Gatehouse) share(ctx context.Context, metrics *api.Metrics) error {
	cfg := g.cfg
	if cfg.RedisURL == "" {
		if g.store.Dialect() == "postgres" {
			g.log.InfoContext(ctx, "limits are counted by this node alone: with several nodes on this database, set GATEHOUSE_REDIS_URL so they share limits and revocations")
		}
		return nil
	}
	c, err := redisstore.Open(ctx, cfg.RedisURL, redisstore.Options{Prefix: cfg.RedisPrefix, Logger: g.log})
	if err != nil {
		return fmt.Errorf("GATEHOUSE_REDIS_URL: %w", err)
	}
	g.redis = c
	metrics.WatchRedis(c.Up)
	if !c.Up() {
		g.log.WarnContext(ctx, "redis does not answer at start: this node counts limits on its own until it does")
	}
	return nil
}

// redisHealth is the Redis /readyz reports on; nil (no interface value
// around a nil pointer) without one.
func (g *Gatehouse) redisHealth() api.Health {
	if g.redis == nil {
		return nil
	}
	return g.redis
}

// sharedCounters puts deps' counters in Redis when there is one, each
// under a name every node gives it alike, with the limits the in-process
// counters it replaces were built with (and those as the fall-back while
// Redis does not answer), and publishes revocations through it.
func (g *Gatehouse) sharedCounters(deps *auth.Deps) {
	if g.redis == nil {
		return
	}
	clock := g.cfg.Clock
	deps.Revocations = redisstore.NewRevocations(g.redis)
	deps.Throttle = redisstore.NewThrottle(g.redis, "password", clock, throttle.Config{})
	deps.Limiter = redisstore.NewLimiter(g.redis, "limits", clock)
	if deps.SendLimiter != nil {
		deps.SendLimiter = redisstore.NewWindow(g.redis, "sends", clock, throttle.DefaultSendLimits)
	}
	if deps.CountryLimiter != nil {
		deps.CountryLimiter = redisstore.NewWindow(g.redis, "sms-countries", clock, g.countryLimits())
	}
}
