package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus collectors of one server. Each server has its
// own registry, so several Gatehouses in one process (tests, or an app that
// mounts two) do not collide.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	signIns  *prometheus.CounterVec
	limits   *prometheus.CounterVec
}

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
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_limits_tripped_total", Help: "Times a limit started refusing a key, by limit.",
		}, []string{"limit"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.signIns, m.limits,
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

// SignIn implements auth.Observer.
func (m *Metrics) SignIn(method, result string) { m.signIns.WithLabelValues(method, result).Inc() }

// LimitTripped implements auth.Observer.
func (m *Metrics) LimitTripped(name string) { m.limits.WithLabelValues(name).Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one served request: its route pattern, method
// and status, and how long it took.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
