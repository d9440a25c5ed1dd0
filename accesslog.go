package gatehouse

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// jsonLines is the handler of NewLogger's JSON logger: slog's JSON handler
// and, for the access line of each request, a writer of the same line
// without slog's generic machinery (a record, its attributes, a lookup of
// each value's kind), which costs about a fifth of a check.
//
// Both write through one lockedWriter, a whole line per Write, so lines
// never interleave.
type jsonLines struct {
	*slog.JSONHandler
	w *lockedWriter
}

// lockedWriter serializes the writes of the slog handler and of the access
// line (slog's handler locks only its own writes).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newJSONLines(w io.Writer, opts *slog.HandlerOptions) *jsonLines {
	lw := &lockedWriter{w: w}
	return &jsonLines{JSONHandler: slog.NewJSONHandler(lw, opts), w: lw}
}

// accessLine is what the access log says of one request. Its fields are
// the documented ones (docs/deploy.md, "The log"): no body, query string or
// header value, which may hold secrets.
type accessLine struct {
	id, method, route, path string
	status                  int
	duration                time.Duration
	ip                      string
}

// logRequest writes the access line of a request at level info, at time
// now: through
// jsonLines' own writer when log is NewLogger's JSON logger and every
// string in the line is plain ASCII that JSON carries as it is, else
// through slog.
func logRequest(ctx context.Context, log *slog.Logger, now time.Time, a *accessLine) {
	h := log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if j, ok := h.(*jsonLines); ok && plainJSON(a.id) && plainJSON(a.method) && plainJSON(a.route) && plainJSON(a.path) && plainJSON(a.ip) {
		bp := lineBufs.Get().(*[]byte)
		b := appendAccessJSON((*bp)[:0], now, a)
		_, _ = j.w.Write(b)
		*bp = b
		lineBufs.Put(bp)
		return
	}
	// A record without a caller's pc: the line's source would be this
	// function, and finding it costs a stack walk per request.
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("request_id", a.id), slog.String("method", a.method), slog.String("route", a.route),
		slog.String("path", a.path), slog.Int("status", a.status), slog.Duration("duration", a.duration), slog.String("ip", a.ip))
	_ = h.Handle(ctx, rec)
}

// lineBufs are the buffers access lines are built in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAccessJSON appends the line slog's JSON handler writes for the
// record logRequest would otherwise make (same keys, order and values;
// TestAccessLineMatchesSlog holds it to that). Every string must be
// plainJSON.
func appendAccessJSON(b []byte, t time.Time, a *accessLine) []byte {
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":"`...)
	b = append(b, a.id...)
	b = append(b, `","method":"`...)
	b = append(b, a.method...)
	b = append(b, `","route":"`...)
	b = append(b, a.route...)
	b = append(b, `","path":"`...)
	b = append(b, a.path...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(a.status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(a.duration), 10)
	b = append(b, `,"ip":"`...)
	b = append(b, a.ip...)
	return append(b, "\"}\n"...)
}

// plainJSON reports whether s is printable ASCII without a quote or a
// backslash: a JSON string that needs no escape, which slog writes as it
// is.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
