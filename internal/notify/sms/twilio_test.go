package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/sendtest"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
	"github.com/gatehouse/gatehouse/internal/notify/sms/twiliotest"
)

func newSender(t *testing.T, smsURL string, opts sms.Options) notify.SMSSender {
	t.Helper()
	s, err := sms.New(smsURL, opts)
	if err != nil {
		t.Fatalf("sms.New: %v", err)
	}
	return s
}

func send(t *testing.T, s notify.SMSSender) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s.SendSMS(ctx, testSMS)
}

var smsSID = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestTwilioSends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		slash bool // API URL given with a trailing slash
		want  twiliotest.Message
	}{
		{name: "from a number", query: "?from=+15550100", want: twiliotest.Message{From: "+15550100"}},
		{name: "from a sender ID", query: "?from=Gatehouse", want: twiliotest.Message{From: "Gatehouse"}},
		{name: "messaging service", query: "?messaging_service_sid=" + testMG, want: twiliotest.Message{MessagingServiceSID: testMG}},
		{name: "API URL with slash", query: "?from=+15550100", slash: true, want: twiliotest.Message{From: "+15550100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.Start(t, testSID, testToken)
			base := srv.URL()
			if tt.slash {
				base += "/"
			}
			if err := send(t, newSender(t, twilioURL+tt.query, sms.Options{TwilioAPIURL: base})); err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 || srv.Requests() != 1 {
				t.Fatalf("Twilio got %d messages in %d requests, want 1 in 1", len(msgs), srv.Requests())
			}
			got := msgs[0]
			if !smsSID.MatchString(got.SID) {
				t.Errorf("message SID %q", got.SID)
			}
			want := tt.want
			want.To, want.Body, want.SID = testSMS.To, testSMS.Text, got.SID
			if got != want {
				t.Errorf("Twilio got %+v, want %+v", got, want)
			}
		})
	}
}

func TestTwilioErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		token     string // "" for the right one
		status    int    // FailNext's answer, unless token is wrong
		code      int
		message   string
		permanent bool
		want      []string
	}{
		{
			name: "400 invalid number", status: 400, code: 21211,
			message:   "The 'To' number +447911123456 is not a valid phone number.",
			permanent: true,
			want:      []string{"twilio: 400: error 21211: The 'To' number +447911123456 is not a valid phone number."},
		},
		{
			name: "400 unsubscribed recipient", status: 400, code: 21610,
			message:   "Attempt to send to unsubscribed recipient",
			permanent: true,
			want:      []string{"400", "error 21610", "unsubscribed"},
		},
		{
			name: "401 wrong token", token: "0123456789abcdef0123456789abcdef",
			permanent: true,
			want:      []string{"twilio: 401: error 20003: Authenticate"},
		},
		{
			name: "403 permission", status: 403, code: 21408,
			message:   "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
			permanent: true,
			want:      []string{"403", "error 21408", "Permission to send"},
		},
		{
			name: "404 not found", status: 404, code: 20404,
			message:   "The requested resource was not found",
			permanent: true,
			want:      []string{"404", "error 20404"},
		},
		{
			name: "429 too many requests", status: 429, code: 20429,
			message: "Too Many Requests",
			want:    []string{"twilio: 429: error 20429: Too Many Requests"},
		},
		{
			name: "500 internal", status: 500, code: 20500,
			message: "Internal Server Error",
			want:    []string{"twilio: 500: error 20500: Internal Server Error"},
		},
		{
			name: "503 unavailable", status: 503, code: 20503,
			message: "Service Unavailable",
			want:    []string{"twilio: 503: error 20503: Service Unavailable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.Start(t, testSID, testToken)
			token := testToken
			if tt.token != "" {
				token = tt.token
			} else {
				srv.FailNext(1, tt.status, tt.code, tt.message)
			}
			s := newSender(t, "twilio://"+testSID+":"+token+"@?from=+15550100", sms.Options{TwilioAPIURL: srv.URL()})
			err := send(t, s)
			sendtest.CheckFailure(t, "SendSMS", err, tt.permanent, tt.want, token)
			if n := srv.Requests(); n != 1 {
				t.Errorf("Twilio got %d requests, want 1", n)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("Twilio accepted %d messages, want 0", n)
			}
		})
	}
}

func TestTwilioRetriesSucceed(t *testing.T) {
	t.Parallel()
	srv := twiliotest.Start(t, testSID, testToken)
	srv.FailNext(2, http.StatusServiceUnavailable, 20503, "Service Unavailable")
	s := newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL()})
	for i := range 2 {
		if err := send(t, s); err == nil || notify.IsPermanent(err) {
			t.Fatalf("attempt %d = %v, want a temporary error", i+1, err)
		}
	}
	if err := send(t, s); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if got := srv.Wait(t, 1, 5*time.Second); len(got) != 1 || srv.Requests() != 3 {
		t.Errorf("Twilio accepted %d messages in %d requests, want 1 in 3", len(got), srv.Requests())
	}
}

// rawServer returns every request with status and body, as a proxy in
// front of Twilio might.
func rawServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTwilioOtherAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		want      []string
		maxLen    int
	}{
		{
			name: "non-JSON 500", status: 500,
			body: "<html><body>Internal   Server\nError</body></html>",
			want: []string{"twilio: 500: <html><body>Internal Server Error</body></html>"},
		},
		{
			name: "non-JSON 502, huge", status: 502,
			body:   "<html>" + strings.Repeat("Bad Gateway ", 100_000) + "</html>",
			want:   []string{"twilio: 502: <html>Bad Gateway"},
			maxLen: 400,
		},
		{
			name: "empty 503", status: 503,
			want: []string{"twilio: 503: (empty answer)"},
		},
		{
			name: "non-JSON 400", status: 400, body: "Bad Request", permanent: true,
			want: []string{"twilio: 400: Bad Request"},
		},
		{
			name: "JSON without code or message", status: 500, body: `{"status":500}`,
			want: []string{`twilio: 500: {"status":500}`},
		},
		{
			name: "error that echoes the token", status: 400, permanent: true,
			body: `{"code":20003,"message":"Bad credentials ` + testSID + `:` + testToken + `","status":400}`,
			want: []string{"error 20003", "[auth token]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, tt.status, tt.body)
			err := send(t, newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL}))
			sendtest.CheckFailure(t, "SendSMS", err, tt.permanent, tt.want, testToken)
			if tt.maxLen > 0 && len(err.Error()) > tt.maxLen {
				t.Errorf("error is %d bytes long, want at most %d", len(err.Error()), tt.maxLen)
			}
		})
	}
}

func TestTwilioAnySuccessStatus(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, http.StatusOK, "not even JSON")
	if err := send(t, newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL})); err != nil {
		t.Errorf("SendSMS with a 200 answer: %v", err)
	}
}

func TestTwilioRefusesBadMessagesLocally(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  notify.SMS
		want string
	}{
		{name: "national number", msg: notify.SMS{To: "07911123456", Text: "hi"}, want: `recipient "07911123456" is not an E.164 number`},
		{name: "no recipient", msg: notify.SMS{Text: "hi"}, want: "not an E.164 number"},
		{name: "empty text", msg: notify.SMS{To: "+447911123456"}, want: "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.Start(t, testSID, testToken)
			s := newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL()})
			err := s.SendSMS(context.Background(), tt.msg)
			if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SendSMS(%+v) = %v, want a permanent error with %q", tt.msg, err, tt.want)
			}
			if n := srv.Requests(); n != 0 {
				t.Errorf("Twilio got %d requests, want none", n)
			}
		})
	}
}

func TestTwilioUnreachableIsTemporary(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	err := send(t, newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL}))
	sendtest.CheckTemporary(t, "SendSMS to a closed server", err, testToken)
}

func TestTwilioHonoursContextAndTimeout(t *testing.T) {
	t.Parallel()
	srv := sendtest.Hang(t)

	tests := []struct {
		name    string
		timeout time.Duration // Options.Timeout
		ctx     func() (context.Context, context.CancelFunc)
		wantIs  error
	}{
		{
			name: "deadline",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			},
			wantIs: context.DeadlineExceeded,
		},
		{
			name: "cancelled",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantIs: context.Canceled,
		},
		{
			name:    "client timeout",
			timeout: 100 * time.Millisecond,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithCancel(context.Background())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: srv.URL, Timeout: tt.timeout})
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := s.SendSMS(ctx, testSMS)
			if err == nil || notify.IsPermanent(err) {
				t.Errorf("SendSMS to a hung server = %v, want a temporary error", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("SendSMS = %v, want it to wrap %v", err, tt.wantIs)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("SendSMS took %v after its context ended", d)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error repeats the token: %q", err)
			}
		})
	}
}
