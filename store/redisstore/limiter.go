package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// Limiter is auth.Limiter in Redis, with the policy of throttle.Limiter,
// safe for concurrent use; Throttle's doc says what every counter of this
// package shares (atomic scripts, TTLs, the fall-back).
type Limiter struct {
	c     *Client
	name  string
	clock auth.Clock
	local *throttle.Limiter
}

var _ auth.Limiter = (*Limiter)(nil)

// NewLimiter returns a limiter whose events live in Redis under name
// (every node must give a counter the same name, and two counters of a
// deployment different ones), reading time from clock (nil means the
// system clock). While Redis is down it answers from a throttle.Limiter.
func NewLimiter(c *Client, name string, clock auth.Clock) *Limiter {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	return &Limiter{c: c, name: name, clock: clock, local: throttle.NewLimiter(clock, 0)}
}

// A limiter's hash holds b, the end of the current or last lock; l, the
// locks remembered; r, 1 while a sliding-window key is refused (so only
// the first refusal of a run trips); f, when the key is forgotten (its
// window after its last event or the end of its lock, whichever is
// later); n, the last member number of its events. Its sorted set holds
// the events within the window, scored by time.

// limiterTake: KEYS hash, events; ARGV now, Max, Per, Block, MaxBlock.
// Returns {wait in milliseconds, tripped 0 or 1}.
var limiterTake = redis.NewScript(blockForLua + `
local now, max, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local block, maxblock = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'b', 'l', 'r', 'f', 'n')
local b, l, r, f, n = tonumber(s[1]) or 0, tonumber(s[2]) or 0, s[3] == '1', tonumber(s[4]) or 0, tonumber(s[5]) or 0
if now >= f then
  -- Forgotten (or new), lock history and all.
  redis.call('DEL', KEYS[1], KEYS[2])
  b, l, r, f, n = 0, 0, false, 0, 0
end
if now < b then return {b - now, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - per)
local wait, tripped = 0, 0
if redis.call('ZCARD', KEYS[2]) < max then
  n = n + 1
  redis.call('ZADD', KEYS[2], now, n)
  r = false
  f = math.max(f, now + per)
elseif block <= 0 then
  if not r then tripped = 1 end
  r = true
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  wait = per
  if oldest[2] then wait = tonumber(oldest[2]) + per - now end
else
  wait = blockfor(block, maxblock, l)
  l = l + 1
  b = now + wait
  redis.call('DEL', KEYS[2]) -- spent on this lock
  f = math.max(f, b + per)
  tripped = 1
end
redis.call('HSET', KEYS[1], 'b', b, 'l', l, 'r', r and 1 or 0, 'f', f, 'n', n)
local ttl = math.max(f - now, 1)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {wait, tripped}
`)

// limiterReturn: KEYS hash, events; ARGV now. Takes back the newest event
// unless the key is locked.
var limiterReturn = redis.NewScript(`
local now = tonumber(ARGV[1])
local b = tonumber(redis.call('HGET', KEYS[1], 'b')) or 0
if now >= b then redis.call('ZPOPMAX', KEYS[2]) end
return 0
`)

// Take implements auth.Limiter. It never fails.
func (m *Limiter) Take(ctx context.Context, key string, l auth.Limit) (time.Duration, bool, error) {
	args := []any{now(m.clock), l.Max, ms(l.Per), ms(l.Block), ms(l.MaxBlock)}
	if r, ok := do(ctx, m.c, limiterTake, pair(m.c, m.name, key), args, readInts); ok && len(r) == 2 {
		return fromMS(r[0]), r[1] == 1, nil
	}
	return m.local.Take(ctx, key, l)
}

// Return implements auth.Limiter. It never fails.
func (m *Limiter) Return(ctx context.Context, key string) error {
	if _, ok := do(ctx, m.c, limiterReturn, pair(m.c, m.name, key), []any{now(m.clock)}, readInt); ok {
		return nil
	}
	return m.local.Return(ctx, key)
}
