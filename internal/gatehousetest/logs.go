package gatehousetest

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Logs is the log of one or more servers of a test, and the secrets that
// must never appear in it: codes, link tokens, passwords, cookies and
// tokens. When the test ends (after its servers have closed) it fails the
// test if any of them does, and on a failure it shows the log's end.
type Logs struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets []string
}

// NewLogs returns an empty log checked when t ends.
func NewLogs(t testing.TB) *Logs {
	l := &Logs{}
	t.Cleanup(func() {
		if leaked := l.Leaks(l.String()); len(leaked) > 0 {
			t.Errorf("the server log holds secrets %q:\n%s", leaked, l.String())
		} else if t.Failed() {
			// What the server did is the first thing to read on a failure.
			log := l.String()
			if len(log) > 8000 {
				log = "…" + log[len(log)-8000:]
			}
			t.Logf("server log:\n%s", log)
		}
	})
	return l
}

// Write implements io.Writer for the server's logger.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Secret remembers values that must appear neither in the log nor in what
// admins see. Empty values are ignored.
func (l *Logs) Secret(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if v == "" || slices.Contains(l.secrets, v) {
			continue
		}
		l.secrets = append(l.secrets, v)
		// The signature of a JWT alone identifies it too (an unsigned
		// one, alg none, has none).
		if parts := strings.Split(v, "."); len(parts) == 3 && parts[2] != "" {
			l.secrets = append(l.secrets, parts[2])
		}
	}
}

// timings are the numbers of a JSON log line that are not data: a 6-digit
// duration in nanoseconds must not pass for a code.
var timings = regexp.MustCompile(`"(time|duration)":("[^"]*"|[0-9.e+-]+)`)

// Leaks returns the remembered secrets found in text. Codes, being short
// and numeric, count only as whole numbers.
func (l *Logs) Leaks(text string) []string {
	text = timings.ReplaceAllString(text, "")
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.secrets {
		if strings.Trim(s, "0123456789") == "" {
			if regexp.MustCompile(`(^|[^0-9])` + s + `([^0-9]|$)`).MatchString(text) {
				out = append(out, s)
			}
		} else if strings.Contains(text, s) {
			out = append(out, s)
		}
	}
	return out
}
