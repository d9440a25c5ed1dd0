package gatehouse_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// otlpReceiver is an OTLP/HTTP trace receiver in process: it decodes each
// export request as a collector would and keeps its spans.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
	bad   []string
}

func startReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
			rcv.bad = append(rcv.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rcv.spans = append(rcv.spans, ss.GetSpans()...)
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func (rcv *otlpReceiver) received() []*tracepb.Span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]*tracepb.Span(nil), rcv.spans...)
}

// TestTracingSignIn turns tracing on the standard way (the OTEL_*
// variables, so the test cannot run in parallel), signs in by password,
// and finds at the receiver the sign-in's request span named by its
// route, the flow's span under it and the store's under that; the
// request's log line carries the trace's id. The server is closed before
// looking: Close flushes the spans.
func TestTracingSignIn(t *testing.T) {
	rcv := startReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	s := gatehousetest.Start(t)
	s.Account(t, "traced@example.com")
	s.Close(t)

	spans := rcv.received()
	if len(rcv.bad) > 0 {
		t.Fatalf("the receiver refused exports: %q", rcv.bad)
	}
	byID := map[string]*tracepb.Span{}
	for _, sp := range spans {
		byID[hex.EncodeToString(sp.GetSpanId())] = sp
	}
	var req *tracepb.Span
	for _, sp := range spans {
		if sp.GetName() == "POST /v1/token" {
			req = sp
		}
	}
	if req == nil {
		t.Fatalf("no span named POST /v1/token among %d: %v", len(spans), names(spans))
	}
	if req.GetKind() != tracepb.Span_SPAN_KIND_SERVER || len(req.GetParentSpanId()) != 0 {
		t.Errorf("request span: kind %v, parent %x; want a server root", req.GetKind(), req.GetParentSpanId())
	}
	if got := attr(req, "http.response.status_code"); got != "200" {
		t.Errorf("request span status %q; want 200", got)
	}
	// The flow under the request, and a statement under the flow.
	parentOf := func(sp *tracepb.Span) *tracepb.Span { return byID[hex.EncodeToString(sp.GetParentSpanId())] }
	var flow, stmt *tracepb.Span
	for _, sp := range spans {
		if sp.GetName() == "auth.SignInPassword" && parentOf(sp) == req {
			flow = sp
		}
	}
	if flow == nil {
		t.Fatalf("no auth.SignInPassword span under the request span: %v", names(spans))
	}
	for _, sp := range spans {
		if strings.HasPrefix(sp.GetName(), "db ") && parentOf(sp) == flow {
			stmt = sp
		}
	}
	if stmt == nil {
		t.Fatalf("no store span under auth.SignInPassword: %v", names(spans))
	}
	if attr(stmt, "db.system.name") != "sqlite" || !strings.Contains(attr(stmt, "db.query.text"), "users") {
		t.Errorf("store span %s: system %q, query %q", stmt.GetName(), attr(stmt, "db.system.name"), attr(stmt, "db.query.text"))
	}

	traceID := hex.EncodeToString(req.GetTraceId())
	var seen bool
	sc := bufio.NewScanner(strings.NewReader(s.Logs.String()))
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			Route   string `json:"route"`
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "request" || line.Route != "POST /v1/token" {
			continue
		}
		seen = true
		if line.TraceID != traceID || line.SpanID != hex.EncodeToString(req.GetSpanId()) {
			t.Errorf("the request's log line has trace %q span %q; want %s %x", line.TraceID, line.SpanID, traceID, req.GetSpanId())
		}
	}
	if !seen {
		t.Errorf("no request log line of POST /v1/token:\n%s", s.Logs)
	}
}

// TestTracingOffByDefault: without the variables nothing is exported and
// log lines carry no trace ids.
func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	s.Account(t, "untraced@example.com")
	if strings.Contains(s.Logs.String(), "trace_id") {
		t.Errorf("trace ids in the log while tracing is off:\n%s", s.Logs)
	}
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.GetName())
	}
	return out
}

// attr answers a span attribute's value as text ("" when absent).
func attr(sp *tracepb.Span, key string) string {
	for _, kv := range sp.GetAttributes() {
		if kv.GetKey() != key {
			continue
		}
		if v, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_IntValue); ok {
			return strconv.FormatInt(v.IntValue, 10)
		}
		return kv.GetValue().GetStringValue()
	}
	return ""
}
