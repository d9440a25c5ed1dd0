package gatehouse

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
)

// TestObserve: the shared middleware turns a panic into a 500 problem and
// a log line, logs every request once with its route and client, and hands
// the client on to the handlers.
func TestObserve(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(auth.ClientFrom(r.Context()).IP))
	})
	h := observe(mux, api.NewMetrics(), log, nil)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/boom?secret=hunter2", nil)
	req.RemoteAddr = "192.0.2.9:4711"
	h.ServeHTTP(rec, req)
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != "internal" || p.Status != 500 {
		t.Errorf("a panic: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec.Header().Get("X-Request-Id") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("a panic: headers %v", rec.Header())
	}
	out := logs.String()
	for _, want := range []string{`"msg":"panic"`, `"route":"GET /boom"`, `"status":500`, `"ip":"192.0.2.9"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("the log holds the query string:\n%s", out)
	}

	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/who", nil)
	req.RemoteAddr = "[2001:db8::7]:443"
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "2001:db8::7" {
		t.Errorf("the client handed on: %d %q", rec.Code, rec.Body)
	}
}
