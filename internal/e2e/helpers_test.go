package e2e_test

// Helpers of the email end-to-end tests (email_test.go): a real Gatehouse
// served over HTTP on a fresh database, delivering to an in-process SMTP
// server, with a fake clock and a log that must never hold a secret.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

// Settings shared by every server of the email tests.
const (
	emailPublic   = gatehousetest.PublicURL
	emailFrom     = "no-reply@auth.example.test"
	emailApp      = "https://app.example.test" // on GATEHOUSE_ALLOWED_REDIRECTS
	emailCookie   = "__Host-gh_e2e_session"    // not the default, so the setting is seen to work; __Host- as over https
	emailPassword = "purple monkey dishwasher 42"
	mailWait      = gatehousetest.Wait
)

// Names of the harness these tests use.
type (
	emailDB     = gatehousetest.DB
	emailOpt    = gatehousetest.Option
	emailResp   = gatehousetest.Response
	emailReqOpt = gatehousetest.RequestOption
	emailUser   = gatehousetest.User
)

var (
	emailSQLite     = gatehousetest.SQLite
	eachEmailDB     = gatehousetest.EachDB
	withEmailConfig = gatehousetest.WithConfig
	withEmailLogs   = gatehousetest.WithLogs
	withEmailClock  = gatehousetest.WithClock
	withBearer      = gatehousetest.Bearer
	sameOrigin      = gatehousetest.SameOrigin
	sameAnswer      = gatehousetest.SameAnswer
)

// emailEnv is one Gatehouse served over HTTP, sending mail to an
// in-process SMTP server (unless the test chose another sender).
type emailEnv struct {
	*gatehousetest.Server
}

// newEmailEnv starts a server on the database at dbURL, with the email
// tests' settings; opts apply after them.
func newEmailEnv(t testing.TB, dbURL string, opts ...emailOpt) *emailEnv {
	t.Helper()
	base := []emailOpt{gatehousetest.WithDatabaseURL(dbURL), gatehousetest.WithMail(), withEmailConfig(func(c *gatehouse.Config) {
		c.MailFrom = emailFrom
		c.AllowedRedirects = []string{emailPublic, emailApp}
		c.SessionCookieName = emailCookie
	})}
	s := gatehousetest.Start(t, append(base, opts...)...)
	s.Logs.Secret(emailPassword)
	return &emailEnv{Server: s}
}

// eachEmailEnv runs fn with a new server (newEmailEnv) on SQLite and
// another on PostgreSQL (skipped unless GATEHOUSE_TEST_POSTGRES_URL is
// set), in parallel.
func eachEmailEnv(t *testing.T, fn func(t *testing.T, e *emailEnv), opts ...emailOpt) {
	t.Helper()
	eachEmailDB(t, func(t *testing.T, db emailDB) { fn(t, newEmailEnv(t, db.URL(t), opts...)) })
}

// claims returns the payload of a JWT (its signature is the server's to
// check; /v1/check does).
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

// amr returns the methods a JWT says were used.
func amr(t testing.TB, jwt string) []string {
	t.Helper()
	var out []string
	list, _ := claims(t, jwt)["amr"].([]any)
	for _, m := range list {
		s, _ := m.(string)
		out = append(out, s)
	}
	return out
}

// requestCode posts to /v1/otp.
func (e *emailEnv) requestCode(t testing.TB, body map[string]any) *emailResp {
	t.Helper()
	return e.Do(t, "POST", "/v1/otp", body)
}

// grantOTP signs in with a code.
func (e *emailEnv) grantOTP(t testing.TB, email, code string) *emailResp {
	t.Helper()
	return e.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": email, "code": code})
}

// grantLink signs in with a magic link's token, as an API client does.
func (e *emailEnv) grantLink(t testing.TB, token string) *emailResp {
	t.Helper()
	return e.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "magic_link", "token": token})
}

// check calls /v1/check.
func (e *emailEnv) check(t testing.TB, opts ...emailReqOpt) *emailResp {
	t.Helper()
	return e.Do(t, "GET", "/v1/check", nil, opts...)
}

// users returns the accounts whose email matches query (admin API).
func (e *emailEnv) users(t testing.TB, query string) []emailUser {
	t.Helper()
	var out struct {
		Users []struct {
			emailUser
			Disabled   bool       `json:"disabled"`
			Admin      bool       `json:"admin"`
			Roles      []string   `json:"roles"`
			DisabledAt *time.Time `json:"disabled_at"`
		} `json:"users"`
		NextCursor string `json:"next_cursor"`
	}
	e.Do(t, "GET", "/v1/admin/users?query="+url.QueryEscape(query), nil, gatehousetest.Admin()).Want(http.StatusOK).Strict(&out)
	var users []emailUser
	for _, u := range out.Users {
		users = append(users, u.emailUser)
	}
	return users
}

// emailMessage is a delivery as admins see it.
type emailMessage struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	Channel       string     `json:"channel"`
	To            string     `json:"to"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`
}

// messages lists the outbox through the admin API (status "" for all),
// and fails the test if the list shows any secret the test has seen.
func (e *emailEnv) messages(t testing.TB, status string) []emailMessage {
	t.Helper()
	path := "/v1/admin/messages?limit=199"
	if status != "" {
		path += "&status=" + status
	}
	r := e.Do(t, "GET", path, nil, gatehousetest.Admin()).Want(http.StatusOK)
	if leaked := e.Logs.Leaks(string(r.Body)); len(leaked) > 0 {
		t.Fatalf("the admin message list shows secrets %q: %s", leaked, r.Body)
	}
	var out struct {
		Messages   []emailMessage `json:"messages"`
		NextCursor string         `json:"next_cursor"`
	}
	r.Strict(&out)
	return out.Messages
}

// waitMessages waits until the outbox, as admins see it, satisfies ok.
func (e *emailEnv) waitMessages(t testing.TB, what string, ok func([]emailMessage) bool) []emailMessage {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		list := e.messages(t, "")
		if ok(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the outbox is not %s: %+v", mailWait, what, list)
		}
		<-tick.C
	}
}

// emailMail is a received message taken apart, with the code and link
// found in it.
type emailMail struct {
	From, To, Subject, Text, HTML string
	Code                          string
	Link                          string // as in the message: {PublicURL}/v1/verify?token=…
	Token                         string
}

var (
	codeRE = regexp.MustCompile(`\b[0-9]{6,10}\b`) // GATEHOUSE_OTP_LENGTH is 6 to 10
	linkRE = regexp.MustCompile(`/v1/verify\?token=([A-Za-z0-9_-]+)`)
)

// mail waits for the n-th message (from 1) to address on the test's SMTP
// server and returns it.
func (e *emailEnv) mail(t testing.TB, address string, n int) emailMail {
	t.Helper()
	if e.SMTP == nil {
		t.Fatal("mail: this server does not deliver to the test's SMTP server")
	}
	return parseMail(t, e.Logs, e.Config.PublicURL, gatehousetest.WaitMail(t, e.SMTP, address, n))
}

var mailsTo = gatehousetest.MailsTo

// parseMail takes a message apart and finds its code (the only number of
// 6 to 10 digits in the text) and link; it checks that text and HTML carry the
// same ones.
func parseMail(t testing.TB, logs *gatehousetest.Logs, publicURL string, m smtptest.Message) emailMail {
	t.Helper()
	p, err := m.Parse()
	if err != nil {
		t.Fatal(err)
	}
	mail := emailMail{Subject: p.Subject, Text: p.Text, HTML: p.HTML}
	for _, a := range []struct {
		dst    *string
		header string
	}{{&mail.From, p.From}, {&mail.To, p.To}} {
		addr, err := netmail.ParseAddress(a.header)
		if err != nil {
			t.Fatalf("message to %v: address %q: %v", m.To, a.header, err)
		}
		*a.dst = addr.Address
	}
	if p.Text == "" || p.HTML == "" {
		t.Fatalf("message to %v lacks a text or HTML part:\n%s", m.To, m.Data)
	}
	codes := slices.Compact(slices.Sorted(slices.Values(codeRE.FindAllString(p.Text, -1))))
	switch len(codes) {
	case 0:
	case 1:
		mail.Code = codes[0]
	default:
		t.Fatalf("message to %v has several codes %q:\n%s", m.To, codes, p.Text)
	}
	if mail.Code != "" && !slices.Contains(codeRE.FindAllString(p.HTML, -1), mail.Code) {
		t.Fatalf("the HTML part lacks the code %s:\n%s", mail.Code, p.HTML)
	}
	if l := linkRE.FindStringSubmatch(p.Text); l != nil {
		mail.Token = l[1]
		mail.Link = publicURL + l[0]
		if !strings.Contains(p.Text, mail.Link) {
			t.Fatalf("the text part's link is not on %s:\n%s", publicURL, p.Text)
		}
		if !strings.Contains(p.HTML, `href="`+mail.Link+`"`) {
			t.Fatalf("the HTML part lacks the link %s:\n%s", mail.Link, p.HTML)
		}
	}
	logs.Secret(mail.Code, mail.Token)
	return mail
}

// path returns the link of m as a path on the test server.
func (m emailMail) path(t testing.TB, publicURL string) string {
	t.Helper()
	p, ok := strings.CutPrefix(m.Link, publicURL)
	if !ok || m.Link == "" {
		t.Fatalf("link %q is not on %s", m.Link, publicURL)
	}
	return p
}

// wrongCode returns the i-th (from 1, below 10^6) code of code's length
// that is not code.
func wrongCode(code string, i int) string {
	n, err := strconv.Atoi(code)
	if err != nil {
		panic(err)
	}
	mod := 1
	for range code {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", len(code), (n+i)%mod)
}

// stallSMTP is an SMTP server that takes a message's DATA and then never
// answers, like a relay that hangs: the sender cannot know whether the
// message went out. It records nothing as delivered.
type stallSMTP struct {
	Addr    string
	stalled chan struct{} // closed when DATA has been read
	release chan struct{}
	once    sync.Once
}

func startStallSMTP(t testing.TB) *stallSMTP {
	t.Helper()
	s := &stallSMTP{stalled: make(chan struct{}), release: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &stallSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = quietLog{}
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		close(s.release)
		_ = srv.Close()
		<-done
	})
	return s
}

type stallSession struct{ s *stallSMTP }

func (ss *stallSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *stallSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *stallSession) Reset()                               {}
func (ss *stallSession) Logout() error                        { return nil }

func (ss *stallSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.once.Do(func() { close(ss.s.stalled) })
	<-ss.s.release
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "stalled"}
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// smtpReject returns an SMTP error reply for smtptest.RejectRecipients.
func smtpReject(code int, msg string) error {
	class := code / 100
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, 1, 1}, Message: msg}
}

// String names a message in failures.
func (m emailMessage) String() string {
	return fmt.Sprintf("%s %s to %s: %s, %d attempts, %q", m.ID, m.Kind, m.To, m.Status, m.Attempts, m.LastError)
}
