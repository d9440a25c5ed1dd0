package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestObserveRequestSeries: requests counted through the resolved series
// land in the series of their route, method and status, each once, also
// for keys beyond the ones kept (maxCachedSeries).
func TestObserveRequestSeries(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	for range 3 {
		m.ObserveRequest("GET /v1/check", "GET", 200, time.Millisecond)
	}
	m.ObserveRequest("GET /v1/check", "GET", 401, time.Millisecond)
	m.ObserveRequest("GET /v1/check", "HEAD", 200, time.Millisecond)
	m.ObserveRequest("unmatched", "GET", 404, time.Millisecond)
	for i := range maxCachedSeries + 10 {
		m.ObserveRequest("/v1/", "M"+strconv.Itoa(i), 405, time.Millisecond)
	}
	m.ObserveRequest("/v1/", "M"+strconv.Itoa(maxCachedSeries+5), 405, time.Millisecond) // not kept: counted all the same
	for _, tc := range []struct {
		route, method, status string
		want                  float64
	}{
		{"GET /v1/check", "GET", "200", 3},
		{"GET /v1/check", "GET", "401", 1},
		{"GET /v1/check", "HEAD", "200", 1},
		{"unmatched", "GET", "404", 1},
		{"/v1/", "M0", "405", 1},
		{"/v1/", "M" + strconv.Itoa(maxCachedSeries+5), "405", 2},
	} {
		if got := counted(t, m.requests.WithLabelValues(tc.route, tc.method, tc.status)); got != tc.want {
			t.Errorf("%s %s %s: %v requests, want %v", tc.route, tc.method, tc.status, got, tc.want)
		}
	}
	for _, route := range []string{"GET /v1/check", "unmatched", "/v1/"} {
		var d dto.Metric
		if err := m.latency.WithLabelValues(route).(prometheus.Histogram).Write(&d); err != nil {
			t.Fatal(err)
		}
		if got, want := d.GetHistogram().GetSampleCount(), map[string]uint64{"GET /v1/check": 5, "unmatched": 1, "/v1/": maxCachedSeries + 11}[route]; got != want {
			t.Errorf("latency of %s: %d samples, want %d", route, got, want)
		}
	}
	if len(m.series) != maxCachedSeries {
		t.Errorf("%d series kept, want %d", len(m.series), maxCachedSeries)
	}
}

// counted reads a counter's value.
func counted(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}
