package gatehouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/store/redisstore"
)

// share moves what every node must agree on to Redis when
// GATEHOUSE_REDIS_URL is set. Without it, a node on PostgreSQL (which
// other nodes may share) says at start that its limits are its own.
func (g *Gatehouse) share(ctx context.Context, metrics *api.Metrics) error {
	cfg := g.cfg
	if cfg.RedisURL == "" {
		if strings.HasPrefix(cfg.DatabaseURL, "postgres") {
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
