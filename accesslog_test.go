package gatehouse

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestAccessLineMatchesSlog: the access line NewLogger's JSON logger writes
// is, byte for byte, the line slog's JSON handler writes for the same
// record, whether it took the direct way (plain strings) or slog's (a
// string that JSON must escape).
func TestAccessLineMatchesSlog(t *testing.T) {
	t.Parallel()
	if _, ok := NewLogger(Config{LogFormat: "json"}, nil).Handler().(*jsonLines); !ok {
		t.Fatal("NewLogger's JSON handler is not jsonLines: the direct way is never taken")
	}
	at := time.Date(2026, 12, 6, 17, 4, 5, 123456789, time.UTC)
	plain := accessLine{id: "3f2a9c0d1e2b4a5c", method: "GET", route: "GET /v1/check", path: "/v1/check",
		status: 200, duration: 41*time.Microsecond + 7, ip: "192.0.2.10"}
	for _, tc := range []struct {
		name string
		at   time.Time
		edit func(*accessLine)
	}{
		{"plain", at, func(*accessLine) {}},
		{"monotonic clock reading", time.Now(), func(*accessLine) {}},
		{"zone with an offset", at.In(time.FixedZone("CET", 3600)), func(*accessLine) {}},
		{"whole second", at.Truncate(time.Second), func(*accessLine) {}},
		{"unmatched, 404, zero duration, IPv6", at, func(a *accessLine) {
			a.route, a.path, a.status, a.duration, a.ip = "unmatched", "/nothing/here", 404, 0, "2001:db8::1"
		}},
		{"long duration, 503", at, func(a *accessLine) { a.status, a.duration = 503, 90*time.Second }},
		{"html characters stay", at, func(a *accessLine) { a.path = "/a<b>&c'd" }},
		{"quote", at, func(a *accessLine) { a.path = `/a"b` }},
		{"backslash", at, func(a *accessLine) { a.path = `/a\b` }},
		{"newline", at, func(a *accessLine) { a.path = "/a\nb" }},
		{"control character", at, func(a *accessLine) { a.path = "/a\x01b\x7f" }},
		{"non-ASCII", at, func(a *accessLine) { a.path = "/café/\u2028" }},
		{"invalid UTF-8", at, func(a *accessLine) { a.path = "/a\xffb" }},
		{"odd method", at, func(a *accessLine) { a.method = "PROPFIND" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := plain
			tc.edit(&a)
			var got, want bytes.Buffer
			logRequest(context.Background(), NewLogger(Config{LogFormat: "json", LogLevel: "info"}, &got), tc.at, &a)
			rec := slog.NewRecord(tc.at, slog.LevelInfo, "request", 0)
			rec.AddAttrs(slog.String("request_id", a.id), slog.String("method", a.method), slog.String("route", a.route),
				slog.String("path", a.path), slog.Int("status", a.status), slog.Duration("duration", a.duration), slog.String("ip", a.ip))
			if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("line\n got %s\nwant %s", got.String(), want.String())
			}
		})
	}
}

// TestAccessLineLevel: above level info there is no access line, and the
// text format (dev mode) still writes one through slog.
func TestAccessLineLevel(t *testing.T) {
	t.Parallel()
	a := accessLine{id: "1", method: "GET", route: "GET /v1/check", path: "/v1/check", status: 200, ip: "192.0.2.10"}
	var quiet bytes.Buffer
	logRequest(context.Background(), NewLogger(Config{LogFormat: "json", LogLevel: "warn"}, &quiet), time.Now(), &a)
	if quiet.Len() != 0 {
		t.Errorf("level warn wrote %q", quiet.String())
	}
	var text bytes.Buffer
	logRequest(context.Background(), NewLogger(Config{LogFormat: "text", LogLevel: "info"}, &text), time.Now(), &a)
	if !strings.Contains(text.String(), `msg=request request_id=1 method=GET route="GET /v1/check" path=/v1/check status=200 duration=0s ip=192.0.2.10`) {
		t.Errorf("text line %q", text.String())
	}
}
