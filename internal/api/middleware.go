package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// clientOf returns who sent the request (set by the outermost middleware).
func clientOf(ctx context.Context) auth.Client { return httpauth.ClientFrom(ctx) }

// statusWriter remembers the status for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID answers the client's X-Request-Id when it is short and plain,
// else a new random one, so a request can be followed through proxies.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && plain(id) {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// observe is the outermost middleware: request id, client address, one log
// line per request (method, route, status, duration: never a body, a query
// string or a header value, which may hold secrets), metrics, and recovery
// from panics as a 500 problem.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set("X-Request-Id", id)
		r = httpauth.WithClient(r)
		ctx := r.Context()
		ip := clientOf(ctx).IP
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, newProblem(http.StatusInternalServerError, "internal", "The server failed to answer; this is a bug."))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.metrics.observe(route, r.Method, status, d)
			s.log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", route),
				slog.String("path", r.URL.Path), slog.Int("status", status), slog.Duration("duration", d), slog.String("ip", ip))
		}()
		next.ServeHTTP(sw, r)
	})
}
