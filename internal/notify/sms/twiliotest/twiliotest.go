// Package twiliotest runs a local stand-in for Twilio's Messages API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json) on httptest, for
// tests of the Twilio sender and of whole flows that send codes by SMS. It
// checks each request as Twilio documents it and returns as Twilio does,
// success and errors alike, so a sender that passes here speaks to Twilio.
//
// A malformed request (wrong method or path, not form-encoded, a missing,
// invalid or unknown field) is answered with Twilio's error and also fails
// the test, so a test that ignores the answer still catches it. Wrong
// credentials are only answered with 401, as Twilio does: a test may mean
// to send them.
package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/notify/sendtest"
)

// maxBody is the most the server reads of a request; Twilio's limit on
// Body is 1600 characters, far below it.
const maxBody = 1 << 20

// maxChars is Twilio's limit on a message body.
const maxChars = 1600

// Message is one message the server accepted.
type Message struct {
	To                  string
	From                string // "" when sent through a messaging service
	MessagingServiceSID string // "" when sent from a number or sender ID
	Body                string
	SID                 string // the "SM…" SID the server answered
}

// Server is a running fake of Twilio's Messages API for one account.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	sid   string
	token string
	got   chan struct{}

	mu       sync.Mutex
	msgs     []Message
	requests int
	fails    []failure
}

// failure is one answer queued by FailNext.
type failure struct {
	status  int
	code    int
	message string
}

// Start runs a server that accepts accountSID with authToken until the
// test ends.
func Start(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := &Server{t: t, sid: accountSID, token: authToken, got: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the API's base URL, to pass as GATEHOUSE_TWILIO_API_URL (or
// sms.Options.TwilioAPIURL).
func (s *Server) URL() string { return s.srv.URL }

// Messages returns a copy of what the server accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Requests returns how many requests the server got, accepted or not, so a
// test can see retries and requests that should not have been made.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Wait waits until the server has accepted at least n messages and returns
// them, or fails the test after timeout: the outbox sends asynchronously.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	return sendtest.Wait(t, "twiliotest", n, timeout, s.got, s.Messages)
}

// FailNext makes the next n well-formed, authenticated requests answer
// status with Twilio's error body for code and message, to test retries
// (429, 5xx) and refusals (400 with 21211, 21610 and the like). Calls
// queue up behind one another.
func (s *Server) FailNext(n, status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status: status, code: code, message: message})
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	path := "/2010-04-01/Accounts/" + s.sid + "/Messages.json"
	if r.URL.Path != path || r.URL.RawQuery != "" {
		s.t.Errorf("twiliotest: request to %s, want %s", r.URL, path)
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		s.t.Errorf("twiliotest: method %s, want POST", r.Method)
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || len(r.Header.Values("Authorization")) != 1 || user != s.sid || pass != s.token {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	msg, status, code, text := s.check(r)
	if code != 0 {
		s.t.Errorf("twiliotest: bad request: %s", text)
		writeError(w, status, code, text)
		return
	}

	s.mu.Lock()
	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		s.mu.Unlock()
		writeError(w, f.status, f.code, f.message)
		return
	}
	msg.SID = newSID()
	s.msgs = append(s.msgs, msg)
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
	s.writeCreated(w, msg)
}

// check returns the message r carries, or Twilio's status, code and
// message for what is wrong with it.
func (s *Server) check(r *http.Request) (m Message, status, code int, text string) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" || len(r.Header.Values("Content-Type")) != 1 {
		// Twilio reads no fields from any other body, so To is missing.
		return m, http.StatusBadRequest, 21604, fmt.Sprintf("A 'To' phone number is required. (Content-Type %q, want application/x-www-form-urlencoded)", ct)
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		return m, http.StatusBadRequest, 20001, "Unable to read the request body"
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return m, http.StatusBadRequest, 20001, fmt.Sprintf("The request body is not form-encoded: %v", err)
	}
	for key, vals := range form {
		switch key {
		case "To", "Body", "From", "MessagingServiceSid":
			if len(vals) != 1 {
				return m, http.StatusBadRequest, 20001, fmt.Sprintf("Parameter '%s' given %d times", key, len(vals))
			}
		default:
			return m, http.StatusBadRequest, 20001, fmt.Sprintf("Unknown parameter '%s'", key)
		}
	}
	m = Message{
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
	}
	_, hasFrom := form["From"]
	_, hasService := form["MessagingServiceSid"]
	switch {
	case m.To == "":
		return m, http.StatusBadRequest, 21604, "A 'To' phone number is required."
	case !isE164(m.To):
		return m, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To)
	case m.Body == "":
		return m, http.StatusBadRequest, 21602, "Message body is required."
	case utf8.RuneCountInString(m.Body) > maxChars:
		return m, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit."
	case hasFrom == hasService:
		return m, http.StatusBadRequest, 21603, "A 'From' phone number is required. (Send exactly one of 'From' and 'MessagingServiceSid'.)"
	case hasFrom && !isE164(m.From) && !isAlphanumericID(m.From):
		return m, http.StatusBadRequest, 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", m.From)
	case hasService && !strings.HasPrefix(m.MessagingServiceSID, "MG"):
		return m, http.StatusBadRequest, 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", m.MessagingServiceSID)
	}
	return m, 0, 0, ""
}

// writeError returns Twilio's error body.
func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

// writeCreated returns 201 with the message resource, as Twilio does right
// after it queued a message.
func (s *Server) writeCreated(w http.ResponseWriter, m Message) {
	now := time.Now().UTC().Format(time.RFC1123Z)
	uri := "/2010-04-01/Accounts/" + s.sid + "/Messages/" + m.SID
	var from, service any // JSON null unless set
	status := "queued"
	if m.From != "" {
		from = m.From
	}
	if m.MessagingServiceSID != "" {
		// Twilio picks the number later, and says "accepted" until then.
		service = m.MessagingServiceSID
		status = "accepted"
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":           s.sid,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  from,
		"messaging_service_sid": service,
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri + ".json",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values: cannot happen
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newSID returns a message SID as Twilio writes them: SM and 32 hex digits.
func newSID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "SM" + hex.EncodeToString(b)
}

// The sender rules are Twilio's written out again on purpose, and as
// patterns rather than package sms's loops: the fake stands for Twilio, and
// a rule shared with the sender would let a mistake in the sender's own
// check pass unseen.
var (
	// e164 is + and 8 to 15 digits, the first not 0.
	e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	// alphanumericID is 1 to 11 ASCII letters, digits and spaces, at least
	// one of them a letter.
	alphanumericID = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	asciiLetter    = regexp.MustCompile(`[A-Za-z]`)
)

// isE164 reports whether s is an E.164 number.
func isE164(s string) bool { return e164.MatchString(s) }

// isAlphanumericID reports whether s is an alphanumeric sender ID.
func isAlphanumericID(s string) bool {
	return alphanumericID.MatchString(s) && asciiLetter.MatchString(s)
}
