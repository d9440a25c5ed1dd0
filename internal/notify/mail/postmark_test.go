package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/sendtest"
)

const postmarkToken = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

// postmarkServer is a stand-in for Postmark's API that checks each request
// exactly as Postmark documents POST /email, then returns status and body.
func postmarkServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/email" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s, want POST /email", r.Method, r.URL)
		}
		for name, want := range map[string]string{
			"Accept":                  "application/json",
			"Content-Type":            "application/json",
			"X-Postmark-Server-Token": postmarkToken,
		} {
			if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("header %s = %q, want exactly %q", name, got, want)
			}
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		var got map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&got); err != nil {
			t.Errorf("body is not one JSON object: %v\n%s", err, raw)
		}
		want := map[string]any{
			"From":          testFrom,
			"To":            testEmail.To,
			"Subject":       testEmail.Subject,
			"TextBody":      testEmail.Text,
			"HtmlBody":      testEmail.HTML,
			"MessageStream": "outbound",
		}
		if !maps.Equal(got, want) {
			t.Errorf("JSON fields %v, want exactly %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			for k, v := range want {
				if got[k] != v {
					t.Errorf("field %s = %#v, want %#v", k, got[k], v)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestPostmarkSends(t *testing.T) {
	t.Parallel()
	srv, hits := postmarkServer(t, http.StatusOK, `{"To":"alice@example.com","SubmittedAt":"2026-03-01T12:00:00.0000000-05:00","MessageID":"b7bc2f4a-e38e-4336-af7d-e6c392c2f817","ErrorCode":0,"Message":"OK"}`)
	for _, base := range []string{srv.URL, srv.URL + "/"} {
		s := newSender(t, "postmark://"+postmarkToken, mail.Options{PostmarkAPIURL: base})
		if err := send(t, s); err != nil {
			t.Fatalf("Send via %s: %v", base, err)
		}
	}
	if hits.Load() != 2 {
		t.Errorf("Postmark got %d requests, want 2", hits.Load())
	}
}

func TestPostmarkErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		want      []string
	}{
		{
			name:      "422 invalid email",
			status:    http.StatusUnprocessableEntity,
			body:      `{"ErrorCode":300,"Message":"Invalid email request"}`,
			permanent: true,
			want:      []string{"422", "ErrorCode 300", "Invalid email request"},
		},
		{
			name:      "422 inactive recipient",
			status:    http.StatusUnprocessableEntity,
			body:      `{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive."}`,
			permanent: true,
			want:      []string{"ErrorCode 406", "inactive"},
		},
		{
			name:      "401 bad token",
			status:    http.StatusUnauthorized,
			body:      `{"ErrorCode":10,"Message":"No Account or Server API tokens were supplied in the HTTP headers."}`,
			permanent: true,
			want:      []string{"401", "ErrorCode 10", "API tokens"},
		},
		{
			name:   "429 rate limited",
			status: http.StatusTooManyRequests,
			body:   `{"ErrorCode":429,"Message":"Rate limit exceeded"}`,
			want:   []string{"429", "Rate limit exceeded"},
		},
		{
			name:   "500 internal error",
			status: http.StatusInternalServerError,
			body:   `{"ErrorCode":0,"Message":"Internal Server Error"}`,
			want:   []string{"500", "Internal Server Error"},
		},
		{
			name:   "503 from a proxy, not JSON",
			status: http.StatusServiceUnavailable,
			body:   "<html><body>Service   Unavailable</body></html>",
			want:   []string{"503", "Service Unavailable"},
		},
		{
			name:      "200 with an error code",
			status:    http.StatusOK,
			body:      `{"ErrorCode":406,"Message":"inactive"}`,
			permanent: true,
			want:      []string{"ErrorCode 406"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := postmarkServer(t, tt.status, tt.body)
			err := send(t, newSender(t, "postmark://"+postmarkToken, mail.Options{PostmarkAPIURL: srv.URL}))
			sendtest.CheckFailure(t, "Send", err, tt.permanent, tt.want, postmarkToken)
		})
	}
}

func TestPostmarkUnreachableIsTemporary(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	err := send(t, newSender(t, "postmark://"+postmarkToken, mail.Options{PostmarkAPIURL: srv.URL}))
	sendtest.CheckTemporary(t, "Send to a closed server", err, postmarkToken)
}

func TestPostmarkHonoursContext(t *testing.T) {
	t.Parallel()
	srv := sendtest.Hang(t)
	s := newSender(t, "postmark://"+postmarkToken, mail.Options{PostmarkAPIURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, testEmail); err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a hung server = %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

func TestPostmarkBadAPIURL(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"ftp://example.com", "not a url", "https://"} {
		_, err := mail.New("postmark://"+postmarkToken, testFrom, mail.Options{PostmarkAPIURL: base})
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_POSTMARK_API_URL") {
			t.Errorf("PostmarkAPIURL %q: %v, want an error naming GATEHOUSE_POSTMARK_API_URL", base, err)
		}
	}
}
