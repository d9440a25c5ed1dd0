package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/access/accesstest"
)

// The hot path: /v1/check as a forward-auth target calls it, in process
// (no network), after a first request has filled the caches. The fake
// clock stands still, so the session cache never goes stale: this measures
// the steady state between reloads (every 2 s of real time in production).
func benchCheck(b *testing.B, e *env, auth reqOpt) {
	b.Helper()
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/v1/check", nil)
		auth(r)
		return r
	}
	warm := httptest.NewRecorder()
	e.G.ServeHTTP(warm, req())
	if warm.Code != http.StatusOK {
		b.Fatalf("warm-up: %d %s", warm.Code, warm.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			e.G.ServeHTTP(rec, req())
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

func BenchmarkCheckBearer(b *testing.B) {
	e := newEnv(b, sqliteDB, withoutLog())
	tok := e.account(b, "bench@example.com")
	benchCheck(b, e, bearer(tok.AccessToken))
}

func BenchmarkCheckCookie(b *testing.B) {
	e := newEnv(b, sqliteDB, withoutLog())
	e.passwordlessUser(b, "bench@example.com")
	benchCheck(b, e, e.cookie(e.browserSession(b, "bench@example.com")))
}

// BenchmarkCheckFrontDoor is one Bearer check through the whole
// (*gatehouse.Gatehouse).Handler() as a production server runs it: the
// request id, client address, access-log line (JSON at level info, as
// GATEHOUSE_LOG_FORMAT's default writes it, here to io.Discard), metrics,
// cross-origin protection and security headers around the check. One
// request and one ResponseWriter are reused, with a new header map for
// each request as net/http makes, on one goroutine, so allocations and
// instruction counts (callgrind) are the middleware's and the handler's,
// not httptest's or the scheduler's.
func BenchmarkCheckFrontDoor(b *testing.B) {
	e := newEnv(b, sqliteDB, withConfig(func(c *gatehouse.Config) {
		c.LogLevel, c.LogFormat = "info", "json"
		c.Logger = gatehouse.NewLogger(*c, io.Discard)
	}))
	tok := e.account(b, "bench@example.com")
	h := e.G.Handler()
	r := httptest.NewRequest("GET", "/v1/check", nil)
	r.RemoteAddr = "192.0.2.10:51234"
	bearer(tok.AccessToken)(r)
	w := &discardWriter{h: make(http.Header)}
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK {
		b.Fatalf("warm-up: %d", w.status)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.h = make(http.Header)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("%d", w.status)
		}
	}
}

// discardWriter is the ResponseWriter BenchmarkCheckFrontDoor reuses: it
// keeps the status and drops the body.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// BenchmarkPasswordSignIn is one password sign-in per op with the default
// argon2id cost (19 MiB, t=2, p=1), which dominates it.
func BenchmarkPasswordSignIn(b *testing.B) {
	e := newEnv(b, sqliteDB, withoutLog())
	e.signUp(b, "bench@example.com", testPassword)
	body := `{"grant_type":"password","email":"bench@example.com","password":"` + testPassword + `"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.G.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkCheckBearerTraced is BenchmarkCheckBearer with tracing on (an
// SDK provider sampling every request, exporting nowhere): the cost of the
// request span, against BenchmarkCheckBearer's none while tracing is off.
func BenchmarkCheckBearerTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(b, sqliteDB, withoutLog(), withConfig(func(c *gatehouse.Config) { c.TracerProvider = tp }))
	tok := e.account(b, "bench@example.com")
	benchCheck(b, e, bearer(tok.AccessToken))
}

// BenchmarkCheckRules is BenchmarkCheckCookie as a proxy asks it (a
// forwarded host and URI), with no rules file and with a hundred rules:
// for a host some rules name (its three rules and the wildcards are
// read, none matches) and for one only the wildcards can match.
func BenchmarkCheckRules(b *testing.B) {
	for _, bc := range []struct{ name, rules, host, uri string }{
		{"none", "", "app31.example.com", "/inbox/42?tab=all"},
		{"hundred/exact-host", accesstest.HundredRules(), "app31.example.com", "/inbox/42?tab=all"},
		{"hundred/wildcard-host", accesstest.HundredRules(), "unknown.example.com", "/some/deep/path"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []option{withoutLog()}
			if bc.rules != "" {
				opts = append(opts, withRules(rulesFile(b, bc.rules)))
			}
			e := newEnv(b, sqliteDB, opts...)
			e.passwordlessUser(b, "bench@example.com")
			cookie := e.cookie(e.browserSession(b, "bench@example.com"))
			benchCheck(b, e, func(r *http.Request) {
				cookie(r)
				traefik("https", bc.host, bc.uri)(r)
			})
		})
	}
}
