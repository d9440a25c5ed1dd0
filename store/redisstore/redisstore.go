// Package redisstore keeps in Redis the short-lived state every node of a
// deployment must share: the counters (auth.Throttle, auth.SendLimiter,
// auth.Limiter), so an attacker spreading guesses or sends over nodes meets
// the limits of one node, and the revocations (auth.Revocations), so every
// node drops a revoked session from its view within a second.
//
// Redis is a helper, never a dependency of a request: every command has a
// short deadline, and while Redis does not answer the counters fall back to
// each node's own (package throttle) and the session views to their reload
// interval. Client tracks whether Redis answers (a ping a second), for /readyz and the
// gatehouse_redis_up metric, and notices by itself when it is back.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options tunes a Client. Zero fields take the defaults documented on each.
type Options struct {
	// Prefix starts every key and channel (default "gatehouse:"), so several
	// deployments, or tests running in parallel, can share one Redis.
	Prefix string
	// Timeout bounds each command, the wait for a connection included
	// (default 250ms): past it the command fails and the caller falls back.
	Timeout time.Duration
	// Logger receives the warning that Redis is down (at most one a
	// minute) and the note that it is back (default slog.Default()).
	Logger *slog.Logger
}

const (
	defaultPrefix  = "gatehouse:"
	defaultTimeout = 250 * time.Millisecond
	// probeEvery is how often a Client asks Redis whether it answers: an
	// outage shows in /readyz within about a second even on an idle node,
	// and sharing resumes about a second after Redis comes back.
	probeEvery = time.Second
	// warnEvery bounds the warnings of an outage.
	warnEvery = time.Minute
)

// Client is a connection to Redis with its health. It is safe for
// concurrent use.
type Client struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	log     *slog.Logger

	up       atomic.Bool
	lastWarn atomic.Int64 // unix nanoseconds of the last "down" warning
	mu       sync.Mutex
	onUp     []func()
	stop     chan struct{}
	done     chan struct{}
}

// quietLog takes go-redis's own log lines (a dial that failed, a pool
// event: plain text on standard error by default, one a second through an
// outage) to slog's default logger at debug level: the Client says what
// matters once a minute in the node's own log.
type quietLog struct{}

func (quietLog) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// quiet installs quietLog once: go-redis has one logger per process.
var quiet sync.Once

// Open connects to the Redis that rawURL names and returns a Client whose
// health it starts watching. The URL is redis://[user:password@]host:port/db
// (rediss:// for TLS); with a master_name parameter it names Sentinels
// (addr=… for more of them), with addr=… parameters alone the nodes of a
// Cluster, as go-redis parses them. A URL that does not parse is an error;
// a Redis that does not answer is not: the Client starts down and comes up
// when Redis answers, as it would after an outage.
func Open(ctx context.Context, rawURL string, o Options) (*Client, error) {
	quiet.Do(func() { redis.SetLogger(quietLog{}) })
	rdb, err := newUniversal(rawURL)
	if err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Client{
		rdb: rdb, prefix: o.Prefix, timeout: o.Timeout, log: o.Logger,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	c.up.Store(true)
	c.Report(c.Ping(ctx))
	go c.probe()
	return c, nil
}

// newUniversal builds the go-redis client rawURL asks for. The password
// stays out of every error: errors end up in logs. Every client takes its
// deadlines from the context (ContextTimeoutEnabled): go-redis otherwise
// ignores them on the socket and waits its own read timeout (seconds) on
// a Redis that hangs, past the Client's command timeout.
func newUniversal(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("redis URL: want redis://[user:password@]host:port/db or rediss://… for TLS")
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL (Sentinel): %s", redacted(err, u))
		}
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL (Cluster): %s", redacted(err, u))
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %s", redacted(err, u))
	}
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o), nil
}

// redacted is err's text without u's password.
func redacted(err error, u *url.URL) string {
	msg := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "[password]")
	}
	return msg
}

// Redis returns the go-redis client, for the counters and revocations of
// this package.
func (c *Client) Redis() redis.UniversalClient { return c.rdb }

// Key returns name under the Client's prefix.
func (c *Client) Key(name string) string { return c.prefix + name }

// Context returns ctx bounded by the command timeout.
func (c *Client) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Up reports whether Redis answered the last command (or probe).
func (c *Client) Up() bool { return c.up.Load() }

// Ping asks Redis whether it answers, within the command timeout.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.Context(ctx)
	defer cancel()
	return c.rdb.Ping(ctx).Err()
}

// OnUp registers fn to run each time Redis answers again after failing
// (a subscription to re-make, a view to drop).
func (c *Client) OnUp(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onUp = append(c.onUp, fn)
}

// Report records the outcome of a command: an error (other than a
// cancelled caller or redis.Nil) marks Redis down, with a warning at most
// once a minute; a success marks it up. It returns err.
func (c *Client) Report(err error) error {
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		c.markUp()
	case errors.Is(err, context.Canceled):
		// The caller went away; that says nothing about Redis.
	default:
		c.markDown(err)
	}
	return err
}

func (c *Client) markUp() {
	if c.up.Swap(true) {
		return
	}
	c.log.Info("redis is back: counters and revocations are shared again")
	c.mu.Lock()
	fns := append([]func(){}, c.onUp...)
	c.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (c *Client) markDown(err error) {
	c.up.Store(false)
	now := time.Now().UnixNano()
	last := c.lastWarn.Load()
	if now-last < int64(warnEvery) || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn("redis does not answer: each node counts limits on its own and reloads sessions more often until it does",
		"err", err)
}

// probe pings Redis every probeEvery, so the health follows Redis without
// waiting for a request to try.
func (c *Client) probe() {
	defer close(c.done)
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			_ = c.Report(c.Ping(context.Background()))
		}
	}
}

// Close stops watching and closes the connections.
func (c *Client) Close() error {
	close(c.stop)
	<-c.done
	return c.rdb.Close()
}
