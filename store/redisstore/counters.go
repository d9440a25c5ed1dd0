package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// do runs script for one call and reads its answer with read. It returns
// false when the call must be answered by the fall-back: Redis is known
// to be down, or the command failed within the Client's timeout, which it
// then reports to the Client.
func do[T any](ctx context.Context, c *Client, script *redis.Script, keys []string, args []any, read func(*redis.Cmd) (T, error)) (T, bool) {
	var zero T
	if !c.Up() {
		return zero, false
	}
	cctx, cancel := c.Context(ctx)
	defer cancel()
	v, err := read(script.Run(cctx, c.Redis(), keys, args...))
	if err != nil {
		if ctx.Err() == nil { // the caller giving up says nothing about Redis
			_ = c.Report(err)
		}
		return zero, false
	}
	_ = c.Report(nil)
	return v, true
}

func readInt(cmd *redis.Cmd) (int64, error) { return cmd.Int64() }

func readInts(cmd *redis.Cmd) ([]int64, error) { return cmd.Int64Slice() }

func ms(d time.Duration) int64 { return d.Milliseconds() }

func fromMS(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func now(clock auth.Clock) int64 { return clock.Now().UnixMilli() }

// pair returns the keys of a counter's state held in two Redis keys: a
// hash of its numbers and a sorted set of its events. The braces put
// both in one hash slot (a script's keys must share one in a Cluster);
// the tag holds the colon at least, so it is never the empty one, which
// would hash each whole key apart.
func pair(c *Client, name, key string) []string {
	k := c.Key("{" + name + ":" + key + "}")
	return []string{k + ":s", k + ":e"}
}

// blockForLua is throttle's blockFor: block doubled per prior lock,
// capped at maxblock (raised to block when lower).
const blockForLua = `
local function blockfor(block, maxblock, prior)
  if maxblock < block then maxblock = block end
  local d = block
  for _ = 1, prior do
    if d >= maxblock / 2 then return maxblock end
    d = d * 2
  end
  return math.min(d, maxblock)
end
`

// Throttle is auth.Throttle in Redis, with the policy of throttle.Memory,
// safe for concurrent use. What follows holds for every counter of this
// package (Throttle, Window, Limiter).
//
// The counters keep the policy of package throttle exactly (its windows,
// lockouts that double while a key keeps failing, Reset and Return), as
// the scenarios of internal/throttle/throttletest check for both. Each
// call is one Lua script, so it is atomic however many nodes call at once:
// an attacker spreading guesses or sends over nodes meets the limits of
// one node. Time is the node's auth.Clock, passed to the script in
// milliseconds (Redis's own clock is not used, so tests can move time);
// every duration counts to the millisecond. Each key records when it may
// be forgotten and carries a Redis TTL to match, so nothing outlives its
// window or block.
//
// Unlike the in-process counters, these hold no bound of their own on
// the number of keys: Redis's maxmemory is that bound. Keep its policy
// noeviction (the default): every key here has a TTL, so any volatile-*
// or allkeys-* policy would let a flood of keys evict a lockout that
// protects someone, while a write refused for memory falls back as below.
//
// Fall-back: each counter carries the in-process counter of package
// throttle under the same policy, and answers from it while the Client
// knows Redis is down, and for any call whose command fails (the failure
// is reported to the Client, which then watches for Redis to come back).
// So no call waits on Redis longer than the Client's command timeout, and
// none fails because Redis is down. Counts made during an outage stay on
// the node that made them: they are not copied to Redis when it is back,
// and the counts Redis held from before the outage are used again (an
// outage that restarted Redis without persistence starts them afresh).
// Each node meets the single-node limits meanwhile, so an attacker gains
// at most the number of nodes times the limits, for as long as the
// outage lasts.
type Throttle struct {
	c     *Client
	name  string
	clock auth.Clock
	cfg   throttle.Config
	local *throttle.Memory
}

var _ auth.Throttle = (*Throttle)(nil)

// NewThrottle returns a throttle whose counts live in Redis under name
// (every node must give a counter the same name, and two counters of a
// deployment different ones) with the policy cfg sets, its defaults
// included, reading time from clock (nil means the system clock). While
// Redis is down it answers from a throttle.Memory of the same cfg;
// cfg.MaxKeys bounds only that one.
func NewThrottle(c *Client, name string, clock auth.Clock, cfg throttle.Config) *Throttle {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	return &Throttle{c: c, name: name, clock: clock, cfg: cfg.WithDefaults(), local: throttle.NewMemory(clock, cfg)}
}

// A throttle's hash holds b, the end of the current or last lockout; l,
// the lockouts remembered; e, when the key is forgotten (Window after its
// last failure or the end of its block, whichever is later); n, the last
// member number of its failures. Its sorted set holds the failures since
// the last lockout, scored by time.

// throttleWait: KEYS hash; ARGV now. Returns the milliseconds left.
var throttleWait = redis.NewScript(`
local now = tonumber(ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'b', 'e')
local b, e = tonumber(s[1]), tonumber(s[2])
if not b or not e or now >= e or now >= b then return 0 end
return b - now
`)

// throttleFail: KEYS hash, failures; ARGV now, MaxFailures, Window, Block,
// MaxBlock.
var throttleFail = redis.NewScript(blockForLua + `
local now, maxf, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local block, maxblock = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'b', 'l', 'e', 'n')
local b, l, e, n = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3]), tonumber(s[4]) or 0
if e and now >= e then
  redis.call('DEL', KEYS[1], KEYS[2])
  b, l, n = 0, 0, 0
elseif now < b then
  -- A failure during a lockout raced it; it must not start the next count.
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
n = n + 1
redis.call('ZADD', KEYS[2], now, n)
if redis.call('ZCARD', KEYS[2]) >= maxf then
  b = now + blockfor(block, maxblock, l)
  l = l + 1
  redis.call('DEL', KEYS[2])
end
e = math.max(now, b) + window
redis.call('HSET', KEYS[1], 'b', b, 'l', l, 'e', e, 'n', n)
redis.call('PEXPIRE', KEYS[1], e - now)
redis.call('PEXPIRE', KEYS[2], e - now)
return 0
`)

// Wait returns how long key is still locked out, or 0 when it may try now.
// It never fails.
func (t *Throttle) Wait(ctx context.Context, key string) (time.Duration, error) {
	keys := pair(t.c, t.name, key)
	if left, ok := do(ctx, t.c, throttleWait, keys[:1], []any{now(t.clock)}, readInt); ok {
		return fromMS(left), nil
	}
	return t.local.Wait(ctx, key)
}

// Fail records a failed attempt for key, and locks the key out when it is
// the MaxFailures-th within Window; a failure while the key is locked out
// is ignored (throttle.Memory.Fail says why). It never fails.
func (t *Throttle) Fail(ctx context.Context, key string) error {
	args := []any{now(t.clock), t.cfg.MaxFailures, ms(t.cfg.Window), ms(t.cfg.Block), ms(t.cfg.MaxBlock)}
	if _, ok := do(ctx, t.c, throttleFail, pair(t.c, t.name, key), args, readInt); ok {
		return nil
	}
	return t.local.Fail(ctx, key)
}

// Reset forgets key entirely, lockout history included, in Redis and in
// the fall-back alike: what the fall-back counted in an outage before
// this success must not count against the next one. It never fails.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	// While Redis is down it keeps what it held from before the outage.
	_, _ = do(ctx, t.c, del, pair(t.c, t.name, key), nil, readInt)
	return t.local.Reset(ctx, key)
}

// del deletes its keys.
var del = redis.NewScript(`return redis.call('DEL', unpack(KEYS))`)

// Window is auth.SendLimiter in Redis, with the policy of throttle.Window,
// safe for concurrent use; Throttle's doc says what every counter of this
// package shares (atomic scripts, TTLs, the fall-back).
type Window struct {
	c      *Client
	name   string
	clock  auth.Clock
	limits []any // N and Per (ms) of each limit in turn, for the script
	local  *throttle.Window
}

var _ auth.SendLimiter = (*Window)(nil)

// NewWindow returns a send limiter whose events live in Redis under name
// (every node must give a counter the same name, and two counters of a
// deployment different ones) with limits (nil means
// throttle.DefaultSendLimits; each N at least 1), reading time from clock
// (nil means the system clock). While Redis is down it answers from a
// throttle.Window of the same limits.
func NewWindow(c *Client, name string, clock auth.Clock, limits []throttle.Limit) *Window {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	if len(limits) == 0 {
		limits = throttle.DefaultSendLimits
	}
	args := make([]any, 0, 2*len(limits))
	for _, l := range limits {
		args = append(args, l.N, ms(l.Per))
	}
	return &Window{c: c, name: name, clock: clock, limits: args, local: throttle.NewWindow(clock, limits, 0)}
}

// windowAllow: KEYS the key's events, oldest first, at most the largest N
// of them; ARGV now, then N and Per of each limit. Returns the milliseconds
// to wait, or 0 when the event was recorded.
var windowAllow = redis.NewScript(`
local now = tonumber(ARGV[1])
local len = redis.call('LLEN', KEYS[1])
local wait, keep, ttl = 0, 1, 0
for i = 2, #ARGV, 2 do
  local n, per = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  keep, ttl = math.max(keep, n), math.max(ttl, per)
  -- The n-th most recent event must have left the window.
  if len >= n then
    local d = tonumber(redis.call('LINDEX', KEYS[1], -n)) + per - now
    if d > wait then wait = d end
  end
end
if wait > 0 then return wait end
redis.call('RPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], -keep, -1)
-- Every event in it has left every window by then.
redis.call('PEXPIRE', KEYS[1], math.max(ttl, 1))
return 0
`)

// Allow records an event for key and returns 0, or returns how long until
// every limit would allow one (and records nothing). It never fails.
func (w *Window) Allow(ctx context.Context, key string) (time.Duration, error) {
	args := append([]any{now(w.clock)}, w.limits...)
	if wait, ok := do(ctx, w.c, windowAllow, []string{w.c.Key(w.name + ":" + key)}, args, readInt); ok {
		return fromMS(wait), nil
	}
	return w.local.Allow(ctx, key)
}
