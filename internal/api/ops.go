package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// registerOps registers the routes operators and tools use (health,
// readiness, metrics, the documentation) and the catch-all that turns
// every other request into a problem.
func (s *Server) registerOps() {
	ops := []string{"Operations"}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "uptime_seconds": int(time.Since(startedAt).Seconds())})
	})
	s.document(&huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: ops, Summary: "The process is up"},
		&huma.Schema{Type: "object"}, "application/json")

	s.mux.HandleFunc("GET /readyz", s.readyz)
	o := &huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: ops, Summary: "Storage answers (503 when it does not); with Redis, the body says whether it is up"}
	s.document(o, &huma.Schema{Type: "object"}, "application/json")
	o.Responses["503"] = &huma.Response{Description: "Storage does not answer, or not within 2 s: a problem (code unavailable) whose detail ends in (database: timeout) or (database: unreachable)."}

	s.mux.Handle("GET /metrics", s.metrics.Handler())
	s.document(&huma.Operation{OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: ops, Summary: "Prometheus metrics"},
		&huma.Schema{Type: "string"}, "text/plain")

	// The pages serve /docs, an index of this document.
	s.document(&huma.Operation{OperationID: "docs", Method: http.MethodGet, Path: "/docs", Tags: ops, Summary: "This API's documentation as a page"},
		&huma.Schema{Type: "string"}, "text/html")
	// huma serves the document itself, in four forms; list them too.
	s.document(&huma.Operation{OperationID: "openapi", Method: http.MethodGet, Path: "/openapi.json", Tags: ops, Summary: "This OpenAPI 3.1 document"},
		&huma.Schema{Type: "object"}, "application/openapi+json")
	s.document(&huma.Operation{OperationID: "openapiYAML", Method: http.MethodGet, Path: "/openapi.yaml", Tags: ops, Summary: "This OpenAPI 3.1 document as YAML"},
		&huma.Schema{Type: "string"}, "application/openapi+yaml")
	s.document(&huma.Operation{OperationID: "openapi30", Method: http.MethodGet, Path: "/openapi-3.0.json", Tags: ops, Summary: "This document down-converted to OpenAPI 3.0, for older tools"},
		&huma.Schema{Type: "object"}, "application/openapi+json")
	s.document(&huma.Operation{OperationID: "openapi30YAML", Method: http.MethodGet, Path: "/openapi-3.0.yaml", Tags: ops, Summary: "This document down-converted to OpenAPI 3.0, as YAML"},
		&huma.Schema{Type: "string"}, "application/openapi+yaml")

	s.mux.HandleFunc("/", s.notFound)
}

// readyTimeout bounds /readyz's check: shorter than the store's own
// deadline, so a load balancer takes a node whose database has slowed down
// out of rotation before its requests start to fail.
const readyTimeout = 2 * time.Second

// readyz reports whether storage answers within readyTimeout, so a load
// balancer stops sending requests to a node whose database is gone or
// hangs. A 503's detail names the backend and how it failed, as
// "(backend: failure)", in the problem shape the contract fixes; never the
// error itself, which may hold a host name or a user. The log gets the
// whole error.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.o.Store.Ping(ctx); err != nil {
		const backend = "database"
		failure := failureKind(err)
		if ctx.Err() == context.DeadlineExceeded {
			// pgx reports a ping its deadline cut short as a bad
			// connection, not a deadline: the check's own clock decides.
			failure = failureTimeout
		}
		s.log.ErrorContext(ctx, "readiness check failed", "backend", backend, "failure", failure, "err", err)
		detail := "The database could not be reached (" + backend + ": " + failure + ")."
		if failure == failureTimeout {
			detail = "The database did not answer within " + readyTimeout.String() + " (" + backend + ": " + failure + ")."
		}
		writeProblem(w, newProblem(http.StatusServiceUnavailable, string(auth.KindUnavailable), detail))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case s.o.Redis == nil:
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	case s.o.Redis.Up():
		_, _ = w.Write([]byte(`{"status":"ready","redis":"up"}` + "\n"))
	default:
		// Still ready: limits fall back to this node's own counters and
		// sessions to a short reload, so taking the node out of rotation
		// would only make the outage worse.
		_, _ = w.Write([]byte(`{"status":"ready","redis":"down"}` + "\n"))
	}
}

// Health is a backend that may be down without the node being unready.
type Health interface {
	// Up reports whether the backend answers now.
	Up() bool
}

// The ways a backend fails a readiness check: it did not answer within the
// deadline (a database that hangs: a stalled disk, a lock pile-up, a full
// pool), or it answered with an error (refused, closed, gone).
const (
	failureTimeout     = "timeout"
	failureUnreachable = "unreachable"
)

// failureKind classifies a failed check's error.
func failureKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return failureTimeout
	}
	return failureUnreachable
}

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// notFound responds to every request no route matched: 405 with Allow when the
// path exists under another method, else 404; both as problems. A path the
// document lists but another surface serves (the link page) counts too.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	documented := s.api.OpenAPI().Paths[r.URL.Path]
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" || documentedOp(documented, m) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "This route does not answer "+r.Method+"."))
		return
	}
	writeProblem(w, newProblem(http.StatusNotFound, string(auth.KindNotFound), "There is nothing at this path."))
}

// documentedOp reports whether item lists an operation for method.
func documentedOp(item *huma.PathItem, method string) bool {
	if item == nil {
		return false
	}
	return map[string]*huma.Operation{
		http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
	}[method] != nil
}

// Operation is one operation of the OpenAPI document, for an index of
// them (the /docs page).
type Operation struct {
	Tag, Method, Path, Summary, Description string
}

// tagOrder is the order the document's tags are presented in.
var tagOrder = []string{"Sign-in", "Signed-in user", "For other applications", "Admin", "Operations", "Other"}

// Operations returns every operation the document lists, grouped by tag in
// the order they are presented, then by path and method.
func (s *Server) Operations() []Operation {
	groups := map[string][]Operation{}
	for path, item := range s.api.OpenAPI().Paths {
		for _, o := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if o == nil {
				continue
			}
			tag := "Other"
			if len(o.Tags) > 0 && slices.Contains(tagOrder, o.Tags[0]) {
				tag = o.Tags[0]
			}
			groups[tag] = append(groups[tag], Operation{tag, o.Method, path, o.Summary, o.Description})
		}
	}
	var out []Operation
	for _, tag := range tagOrder {
		ops := groups[tag]
		sort.Slice(ops, func(i, j int) bool { return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method })
		out = append(out, ops...)
	}
	return out
}

// startedAt is only for /healthz's uptime.
var startedAt = time.Now()
