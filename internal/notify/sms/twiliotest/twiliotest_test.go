package twiliotest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify/sms/twiliotest"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "5ecre7d0c0ffee5ecre7d0c0ffee5ec1"
	mg    = "MG0123456789abcdef0123456789abcdef"
)

// recorder stands in for the test the server reports to, so these tests
// can check what it reports instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatals []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

func (r *recorder) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(append([]string(nil), r.errors...), r.fatals...)
}

// request is one call to the fake API.
type request struct {
	method      string
	path        string // "" for the right one
	user, pass  string // "-" for no Authorization
	contentType string // "" for form-encoded
	body        string
}

func (q request) do(t *testing.T, srv *twiliotest.Server) (int, map[string]any) {
	t.Helper()
	method := q.method
	if method == "" {
		method = http.MethodPost
	}
	path := q.path
	if path == "" {
		path = "/2010-04-01/Accounts/" + sid + "/Messages.json"
	}
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case q.user == "-":
	case q.user == "" && q.pass == "":
		req.SetBasicAuth(sid, token)
	default:
		req.SetBasicAuth(q.user, q.pass)
	}
	ct := q.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("answer Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, raw)
	}
	return resp.StatusCode, body
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

var goodForm = form("To", "+447911123456", "From", "+15550100", "Body", "Your code is 482913 & more")

func TestAcceptsWellFormedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		want       twiliotest.Message
		wantStatus string
	}{
		{
			name:       "from a number",
			body:       goodForm,
			want:       twiliotest.Message{To: "+447911123456", From: "+15550100", Body: "Your code is 482913 & more"},
			wantStatus: "queued",
		},
		{
			name:       "from a sender ID",
			body:       form("To", "+447911123456", "From", "Gate House", "Body", "hi"),
			want:       twiliotest.Message{To: "+447911123456", From: "Gate House", Body: "hi"},
			wantStatus: "queued",
		},
		{
			name:       "messaging service",
			body:       form("To", "+15550101", "MessagingServiceSid", mg, "Body", "hi"),
			want:       twiliotest.Message{To: "+15550101", MessagingServiceSID: mg, Body: "hi"},
			wantStatus: "accepted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.Start(t, sid, token)
			status, body := request{body: tt.body}.do(t, srv)
			if status != http.StatusCreated {
				t.Fatalf("status %d, want 201: %v", status, body)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 || srv.Requests() != 1 {
				t.Fatalf("%d messages in %d requests, want 1 in 1", len(msgs), srv.Requests())
			}
			got := msgs[0]
			if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(got.SID) {
				t.Errorf("SID %q", got.SID)
			}
			want := tt.want
			want.SID = got.SID
			if got != want {
				t.Errorf("recorded %+v, want %+v", got, want)
			}
			var from, service any
			if want.From != "" {
				from = want.From
			}
			if want.MessagingServiceSID != "" {
				service = want.MessagingServiceSID
			}
			for key, v := range map[string]any{
				"sid":                   got.SID,
				"account_sid":           sid,
				"to":                    want.To,
				"from":                  from,
				"body":                  want.Body,
				"status":                tt.wantStatus,
				"messaging_service_sid": service,
				"uri":                   "/2010-04-01/Accounts/" + sid + "/Messages/" + got.SID + ".json",
			} {
				if body[key] != v {
					t.Errorf("answer %s = %#v, want %#v", key, body[key], v)
				}
			}
			created, _ := body["date_created"].(string)
			if at, err := time.Parse(time.RFC1123Z, created); err != nil || time.Since(at) > time.Minute {
				t.Errorf("date_created %q: %v", created, err)
			}
		})
	}
}

func TestRejectsWrongCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		user, pass string
	}{
		{name: "wrong password", user: sid, pass: "wrong"},
		{name: "wrong account", user: "AC00000000000000000000000000000000", pass: token},
		{name: "no Authorization", user: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{TB: t}
			srv := twiliotest.Start(rec, sid, token)
			status, body := request{user: tt.user, pass: tt.pass, body: goodForm}.do(t, srv)
			if status != http.StatusUnauthorized || body["code"] != 20003.0 || body["message"] != "Authenticate" ||
				body["more_info"] != "https://www.twilio.com/docs/errors/20003" || body["status"] != 401.0 {
				t.Errorf("answer %d %v, want Twilio's 401 with code 20003", status, body)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("recorded %d messages", n)
			}
			if got := rec.reported(); len(got) != 0 {
				t.Errorf("wrong credentials failed the test: %q", got)
			}
		})
	}
}

func TestRejectsMalformedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    request
		status int
		code   float64
	}{
		{name: "missing To", req: request{body: form("From", "+15550100", "Body", "hi")}, status: 400, code: 21604},
		{name: "empty To", req: request{body: form("To", "", "From", "+15550100", "Body", "hi")}, status: 400, code: 21604},
		{name: "To not E.164", req: request{body: form("To", "07911123456", "From", "+15550100", "Body", "hi")}, status: 400, code: 21211},
		{name: "missing Body", req: request{body: form("To", "+447911123456", "From", "+15550100")}, status: 400, code: 21602},
		{name: "Body too long", req: request{body: form("To", "+447911123456", "From", "+15550100", "Body", strings.Repeat("é", 1601))}, status: 400, code: 21617},
		{name: "missing From", req: request{body: form("To", "+447911123456", "Body", "hi")}, status: 400, code: 21603},
		{name: "From and service", req: request{body: form("To", "+447911123456", "From", "+15550100", "MessagingServiceSid", mg, "Body", "hi")}, status: 400, code: 21603},
		{name: "From invalid", req: request{body: form("To", "+447911123456", "From", "Gate-House!", "Body", "hi")}, status: 400, code: 21212},
		{name: "service not MG", req: request{body: form("To", "+447911123456", "MessagingServiceSid", "PN123", "Body", "hi")}, status: 400, code: 21701},
		{name: "unknown field", req: request{body: goodForm + "&StatusCallback=https%3A%2F%2Fx"}, status: 400, code: 20001},
		{name: "field twice", req: request{body: goodForm + "&To=%2B15550101"}, status: 400, code: 20001},
		{name: "JSON body", req: request{contentType: "application/json", body: `{"To":"+447911123456"}`}, status: 400, code: 21604},
		{name: "GET", req: request{method: http.MethodGet}, status: 405, code: 20004},
		{name: "wrong path", req: request{path: "/2010-04-01/Accounts/" + sid + "/Messages"}, status: 404, code: 20404},
		{name: "query string", req: request{path: "/2010-04-01/Accounts/" + sid + "/Messages.json?To=%2B15550101"}, status: 404, code: 20404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{TB: t}
			srv := twiliotest.Start(rec, sid, token)
			status, body := tt.req.do(t, srv)
			if status != tt.status || body["code"] != tt.code || body["status"] != float64(tt.status) {
				t.Errorf("answer %d %v, want %d with code %v", status, body, tt.status, tt.code)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("answer %v has no message", body)
			}
			if body["more_info"] != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", int(tt.code)) {
				t.Errorf("answer more_info %v", body["more_info"])
			}
			if got := rec.reported(); len(got) != 1 {
				t.Errorf("the test was told %q, want one error", got)
			}
			if n := len(srv.Messages()); n != 0 || srv.Requests() != 1 {
				t.Errorf("recorded %d messages in %d requests, want 0 in 1", n, srv.Requests())
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := twiliotest.Start(t, sid, token)
	srv.FailNext(1, http.StatusTooManyRequests, 20429, "Too Many Requests")
	srv.FailNext(2, http.StatusServiceUnavailable, 20503, "Service Unavailable")
	want := []struct {
		status int
		code   float64
	}{{429, 20429}, {503, 20503}, {503, 20503}, {201, 0}, {201, 0}}
	for i, w := range want {
		status, body := request{body: goodForm}.do(t, srv)
		if status != w.status {
			t.Errorf("request %d: status %d, want %d", i+1, status, w.status)
		}
		if w.code != 0 && (body["code"] != w.code || body["status"] != float64(w.status)) {
			t.Errorf("request %d: answer %v, want code %v", i+1, body, w.code)
		}
	}
	if n, r := len(srv.Messages()), srv.Requests(); n != 2 || r != 5 {
		t.Errorf("%d messages in %d requests, want 2 in 5", n, r)
	}
}

func TestFailNextSparesWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := twiliotest.Start(t, sid, token)
	srv.FailNext(1, http.StatusInternalServerError, 20500, "Internal Server Error")
	if status, _ := (request{user: sid, pass: "wrong", body: goodForm}).do(t, srv); status != http.StatusUnauthorized {
		t.Errorf("wrong credentials: status %d, want 401", status)
	}
	if status, _ := (request{body: goodForm}).do(t, srv); status != http.StatusInternalServerError {
		t.Errorf("after them: status %d, want the queued 500", status)
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	srv := twiliotest.Start(t, sid, token)
	go func() {
		for range 3 {
			time.Sleep(10 * time.Millisecond)
			resp, err := http.DefaultClient.Do(func() *http.Request {
				req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(goodForm))
				req.SetBasicAuth(sid, token)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req
			}())
			if err == nil {
				_ = resp.Body.Close()
			}
		}
	}()
	if got := srv.Wait(t, 3, 10*time.Second); len(got) != 3 {
		t.Errorf("Wait answered %d messages, want 3", len(got))
	}

	rec := &recorder{TB: t}
	start := time.Now()
	if got := srv.Wait(rec, 4, 50*time.Millisecond); got != nil {
		t.Errorf("Wait past its timeout answered %d messages", len(got))
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second {
		t.Errorf("Wait gave up after %v, want about 50ms", d)
	}
	if got := rec.reported(); len(got) != 1 || !strings.Contains(got[0], "3 messages") {
		t.Errorf("Wait past its timeout told the test %q", got)
	}
}
