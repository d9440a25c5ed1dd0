package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// TestProblemOfClientGone: a 503 whose cause is the client going away (its
// request's context canceled) is logged at INFO, not as a backend failure
// at ERROR: a sign-in storm's clients giving up must not page anyone. The
// same error while the client is still there stays an ERROR.
func TestProblemOfClientGone(t *testing.T) {
	t.Parallel()
	busy := &auth.Error{Kind: auth.KindUnavailable, Message: "The server is busy; try again.", Cause: context.Canceled}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		ctx   context.Context
		err   error
		level string
	}{
		{"client gone", gone, busy, "INFO"},
		{"client gone, unknown error", gone, context.Canceled, "INFO"},
		{"client still there", context.Background(), busy, "ERROR"},
		{"store down, client gone", gone, &auth.Error{Kind: auth.KindUnavailable, Message: "A backend is unavailable; try again shortly."}, "ERROR"},
	} {
		var buf bytes.Buffer
		p := problemOf(c.ctx, slog.New(slog.NewTextHandler(&buf, nil)), c.err)
		if p.Status != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", c.name, p.Status)
		}
		if !strings.Contains(buf.String(), "level="+c.level) {
			t.Errorf("%s: logged %q, want level %s", c.name, buf.String(), c.level)
		}
	}
}
