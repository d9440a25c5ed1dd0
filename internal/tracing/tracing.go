// Package tracing is what Gatehouse does with OpenTelemetry's API: a span
// per request named by its route (Handler, Finish), child spans for the
// flows, the store and delivery (Start), and trace ids in log lines
// (LogHandler). It imports the API only (go.opentelemetry.io/otel/trace):
// a child span comes from the provider of the span in its context, so
// nothing here holds a global, and with tracing off (no span in the
// context) every call costs a context lookup and nothing else. Package
// otlp, beside it, sets the provider up from the OTEL_* variables.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of the spans this package starts.
const Scope = "github.com/gatehouse/gatehouse"

// Handler starts a server span around every request, a child of the
// caller's when the request carries a W3C traceparent (a proxy that traces
// too). The span is named by the method until Finish names it by the route
// that served the request.
func Handler(tp trace.TracerProvider, next http.Handler) http.Handler {
	tracer := tp.Tracer(Scope)
	var prop propagation.TraceContext
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Finish names the request span of ctx after route (the pattern that
// served it, never the path, which may carry ids) and records the status;
// a 5xx marks the span failed. It does nothing while tracing is off.
func Finish(ctx context.Context, route string, status int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// Start starts a child span of the span in ctx, from the same provider,
// and returns the function that ends it with err's outcome. Without a
// recording span in ctx (tracing off, or a context that never had one) it
// starts nothing and allocates nothing: the flows and the store call it on
// every path.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(err error)) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noEnd
	}
	ctx, span := parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			// The kind of failure, not its text: an error may quote
			// what a client sent.
			span.SetStatus(codes.Error, fmt.Sprintf("%T", err))
		}
		span.End()
	}
}

func noEnd(error) {}

// LogHandler adds the trace_id and span_id of the span in a record's
// context to every log line, so the lines of one request can be found
// from its trace and the other way round.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
