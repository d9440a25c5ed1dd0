package api

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/auth"
)

// Metrics are the Prometheus collectors of one server. Each server has its
// own registry, so several Gatehouses in one process (tests, or an app that
// mounts two) do not collide. Every label takes its values from a small
// fixed set (routes, methods, results, limit and message kinds): never a
// user, an address or anything a client chose.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	signIns    *prometheus.CounterVec
	signUps    *prometheus.CounterVec
	limits     *prometheus.CounterVec
	codesSent  *prometheus.CounterVec
	codesTried *prometheus.CounterVec
	refreshes  *prometheus.CounterVec
	claims     prometheus.Counter
	deliveries *prometheus.CounterVec
	hashWait   prometheus.Histogram

	// The check's children are resolved once here, so a check costs an
	// atomic add and no label lookup (WithLabelValues hashes its labels).
	checkOK, checkUnauthorized, checkExpired, checkRevoked, checkError prometheus.Counter
	viewCached, viewLoaded                                             prometheus.Counter

	// series are the request series ObserveRequest resolved, by route,
	// method and status, for the same reason.
	seriesMu sync.RWMutex
	series   map[requestKey]*requestSeries
}

// requestKey names the series of one kind of answered request.
type requestKey struct {
	route, method string
	status        int
}

// requestSeries are the children of gatehouse_http_requests_total and
// gatehouse_http_request_duration_seconds one requestKey counts into.
type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// maxCachedSeries bounds Metrics.series: a route without a method in its
// pattern answers any method a client makes up, and each is a key.
const maxCachedSeries = 1024

// Results of /v1/check as gatehouse_checks_total counts them.
const (
	checkResultOK           = "ok"
	checkResultUnauthorized = "unauthorized"
	checkResultExpired      = "expired"
	checkResultRevoked      = "revoked"
	checkResultError        = "error"
)

// NewMetrics registers Gatehouse's collectors and the Go runtime ones.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sign_ins_total", Help: "Sign-in attempts by method and result.",
		}, []string{"method", "result"}),
		signUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sign_ups_total", Help: "Attempts to create an account by method and result.",
		}, []string{"method", "result"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_limits_tripped_total", Help: "Times a limit started refusing a key, by limit.",
		}, []string{"limit"}),
		codesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_codes_sent_total", Help: "Codes and links queued for delivery, by channel and message kind.",
		}, []string{"channel", "kind"}),
		codesTried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_codes_verified_total", Help: "Tries of a code or a link, by what was tried (code, link) and result.",
		}, []string{"type", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_refresh_tokens_total", Help: "Refresh tokens rotated, and rotated ones presented again (reuse_detected: the session is revoked).",
		}, []string{"event"}),
		claims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_account_claims_total", Help: "Accounts handed to the first person to prove their address.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_deliveries_total", Help: "Delivery attempts of outbox messages by channel and outcome (sent, retry, failed).",
		}, []string{"channel", "status"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_password_hash_wait_seconds", Help: "Time a password hash waited for a free argon2id slot.",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	checks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_checks_total", Help: "/v1/check answers by result (ok, unauthorized, expired, revoked, error).",
	}, []string{"result"})
	m.checkOK = checks.WithLabelValues(checkResultOK)
	m.checkUnauthorized = checks.WithLabelValues(checkResultUnauthorized)
	m.checkExpired = checks.WithLabelValues(checkResultExpired)
	m.checkRevoked = checks.WithLabelValues(checkResultRevoked)
	m.checkError = checks.WithLabelValues(checkResultError)
	views := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_session_views_total", Help: "Session lookups of tokens and cookies (the check's among them), by whether the in-process view answered (hit) or the store was read (miss).",
	}, []string{"cache"})
	m.viewCached, m.viewLoaded = views.WithLabelValues("hit"), views.WithLabelValues("miss")
	// Series of the fixed label values start at 0, so a dashboard's rate()
	// sees the first event and an alert on "absent" means what it says.
	for _, name := range []string{auth.LimitMFAAccount, auth.LimitCodeClient, auth.LimitSendClient, auth.LimitSendGlobal,
		auth.LimitPasswordAccount, auth.LimitPasswordClient, auth.LimitCeremonyClient} {
		m.limits.WithLabelValues(name)
	}
	for _, what := range []string{"code", "link"} {
		for _, result := range []string{auth.ResultSuccess, auth.ResultFailure, auth.ResultThrottled, auth.ResultError, auth.ResultAbandoned} {
			m.codesTried.WithLabelValues(what, result)
		}
	}
	m.refreshes.WithLabelValues(auth.RefreshRotated)
	m.refreshes.WithLabelValues(auth.RefreshReuse)
	for _, channel := range []string{"email", "sms"} {
		for _, status := range []string{"sent", "retry", "failed"} {
			m.deliveries.WithLabelValues(channel, status)
		}
	}
	m.reg.MustRegister(m.requests, m.latency, m.signIns, m.signUps, m.limits, m.codesSent, m.codesTried,
		m.refreshes, m.claims, m.deliveries, m.hashWait, checks, views,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchRedis exports gatehouse_redis_up: 1 while up() reports that Redis
// answers, 0 while it does not. Only a server with Redis calls it, so the
// metric's absence says there is none.
func (m *Metrics) WatchRedis(up func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_redis_up", Help: "1 while Redis (shared counters and revocations) answers, 0 while each node falls back to its own.",
	}, func() float64 {
		if up() {
			return 1
		}
		return 0
	}))
}

// WatchDB exports the pool statistics of db (go_sql_* with db_name=name:
// connections open, in use, idle, waits and their duration).
func (m *Metrics) WatchDB(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// OutboxStats answers the outbox's pending messages and when the oldest of
// them was queued (zero without any).
type OutboxStats func(ctx context.Context) (pending int, oldest time.Time, err error)

// WatchOutbox exports gatehouse_outbox_depth and
// gatehouse_outbox_oldest_age_seconds, asking stats once per scrape; now
// is the server's clock. A failed read exports neither, so a scrape shows
// the store's trouble as missing series, not as an empty outbox.
func (m *Metrics) WatchOutbox(stats OutboxStats, now func() time.Time) {
	m.reg.MustRegister(&outboxCollector{stats: stats, now: now})
}

var (
	outboxDepthDesc = prometheus.NewDesc("gatehouse_outbox_depth", "Messages waiting in the outbox (pending, retries included).", nil, nil)
	outboxAgeDesc   = prometheus.NewDesc("gatehouse_outbox_oldest_age_seconds", "Age of the oldest message waiting in the outbox (0 when none waits).", nil, nil)
)

type outboxCollector struct {
	stats OutboxStats
	now   func() time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
}

// outboxScrapeTimeout bounds the one query a scrape makes.
const outboxScrapeTimeout = 2 * time.Second

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
	defer cancel()
	n, oldest, err := c.stats(ctx)
	if err != nil {
		// Not an invalid metric: that fails the whole scrape, and a
		// database that is down must not hide every other metric.
		return
	}
	age := 0.0
	if n > 0 && !oldest.IsZero() {
		age = max(c.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
}

var _ auth.Observer = (*Metrics)(nil)

// SignIn implements auth.Observer.
func (m *Metrics) SignIn(method, result string) { m.signIns.WithLabelValues(method, result).Inc() }

// SignUp implements auth.Observer.
func (m *Metrics) SignUp(method, result string) { m.signUps.WithLabelValues(method, result).Inc() }

// LimitTripped implements auth.Observer.
func (m *Metrics) LimitTripped(name string) { m.limits.WithLabelValues(name).Inc() }

// CodeSent implements auth.Observer.
func (m *Metrics) CodeSent(channel, kind string) { m.codesSent.WithLabelValues(channel, kind).Inc() }

// CodeVerified implements auth.Observer.
func (m *Metrics) CodeVerified(what, result string) {
	m.codesTried.WithLabelValues(what, result).Inc()
}

// Refresh implements auth.Observer.
func (m *Metrics) Refresh(event string) { m.refreshes.WithLabelValues(event).Inc() }

// AccountClaimed implements auth.Observer.
func (m *Metrics) AccountClaimed() { m.claims.Inc() }

// SessionView implements auth.Observer; it is on the check's hot path.
func (m *Metrics) SessionView(cached bool) {
	if cached {
		m.viewCached.Inc()
	} else {
		m.viewLoaded.Inc()
	}
}

// Delivered counts one delivery attempt of an outbox message (the
// notify worker's hook): channel "email" or "sms", status "sent",
// "retry" or "failed".
func (m *Metrics) Delivered(channel, status string) {
	m.deliveries.WithLabelValues(channel, status).Inc()
}

// HashWaited records how long a password hash waited for a slot (the
// password hasher's hook).
func (m *Metrics) HashWaited(d time.Duration) { m.hashWait.Observe(d.Seconds()) }

// check counts one /v1/check answer: nil for a session let through, else
// the error it was refused with.
func (m *Metrics) check(err error) {
	if err == nil {
		m.checkOK.Inc()
		return
	}
	switch auth.KindOf(err) {
	case auth.KindUnauthorized:
		m.checkUnauthorized.Inc()
	case auth.KindTokenExpired:
		m.checkExpired.Inc()
	case auth.KindTokenRevoked:
		m.checkRevoked.Inc()
	default:
		m.checkError.Inc()
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one served request: its route pattern, method
// and status, and how long it took.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	s := m.seriesOf(requestKey{route: route, method: method, status: status})
	s.count.Inc()
	s.latency.Observe(d.Seconds())
}

// seriesOf returns k's series, resolved on first use and kept (up to
// maxCachedSeries) so that a request costs two atomic updates rather than
// two label lookups.
func (m *Metrics) seriesOf(k requestKey) *requestSeries {
	m.seriesMu.RLock()
	s := m.series[k]
	m.seriesMu.RUnlock()
	if s != nil {
		return s
	}
	s = &requestSeries{
		count:   m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
		latency: m.latency.WithLabelValues(k.route),
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	if m.series == nil {
		m.series = make(map[requestKey]*requestSeries)
	}
	if len(m.series) < maxCachedSeries {
		m.series[k] = s
	}
	return s
}
