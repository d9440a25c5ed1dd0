package e2e_test

// Helpers of the email end-to-end tests (email_test.go): a real Gatehouse
// served over HTTP on a fresh database, delivering to an in-process SMTP
// server, with a fake clock and a log that must never hold a secret.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
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
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// Settings shared by every server of the email tests.
const (
	emailSecret   = "email-e2e-secret-0123456789-abcdefghijkl" // 32+ characters
	emailAdminKey = "email-e2e-admin-key-0123456789"
	emailPublic   = "https://auth.example.test"
	emailFrom     = "no-reply@auth.example.test"
	emailApp      = "https://app.example.test" // on GATEHOUSE_ALLOWED_REDIRECTS
	emailCookie   = "__Host-gh_e2e_session"    // not the default, so the setting is seen to work; __Host- as over https
	emailPassword = "purple monkey dishwasher 42"
	// mailWait bounds the wait for a message: the worker is woken at once,
	// and otherwise polls every second.
	mailWait = 15 * time.Second
)

// emailDB is where a test server keeps its data.
type emailDB = sqltest.DB

var (
	emailSQLite   = sqltest.SQLiteDB
	emailPostgres = sqltest.PostgresDB
)

// eachEmailDB runs fn on SQLite and on PostgreSQL (skipped unless
// GATEHOUSE_TEST_POSTGRES_URL is set), in parallel.
func eachEmailDB(t *testing.T, fn func(t *testing.T, db emailDB)) {
	t.Helper()
	sqltest.EachDB(t, fn)
}

// newEmailClock answers a fake clock at the real time (whole seconds), so
// nothing the databases stamp on their own is far from it.
func newEmailClock() *clocktest.Clock { return clocktest.New(time.Now().UTC().Truncate(time.Second)) }

// emailLogs is the log of one or more servers of a test, and the secrets
// that must never appear in it. When the test ends (after its servers have
// closed) it fails the test if any of them does.
type emailLogs struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets []string
}

func newEmailLogs(t testing.TB) *emailLogs {
	l := &emailLogs{}
	t.Cleanup(func() {
		if leaked := l.leaks(l.String()); len(leaked) > 0 {
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

func (l *emailLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *emailLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// secret remembers values that must appear neither in the log nor in what
// admins see: codes, link tokens, passwords, cookies and tokens.
func (l *emailLogs) secret(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if v == "" || slices.Contains(l.secrets, v) {
			continue
		}
		l.secrets = append(l.secrets, v)
		// The signature of a JWT alone identifies it too.
		if parts := strings.Split(v, "."); len(parts) == 3 {
			l.secrets = append(l.secrets, parts[2])
		}
	}
}

// timings are the numbers of a JSON log line that are not data: a 6-digit
// duration in nanoseconds must not pass for a code.
var timings = regexp.MustCompile(`"(time|duration)":("[^"]*"|[0-9.e+-]+)`)

// leaks answers the secrets found in text. Codes, being short and numeric,
// count only as whole numbers.
func (l *emailLogs) leaks(text string) []string {
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

// emailEnv is one Gatehouse served over HTTP, sending mail to an
// in-process SMTP server (unless the test chose another sender).
type emailEnv struct {
	g      *gatehouse.Gatehouse
	srv    *httptest.Server
	url    string
	client *http.Client
	cfg    gatehouse.Config
	clock  *clocktest.Clock
	smtp   *smtptest.Server // nil when MailURL is not this test's SMTP server
	logs   *emailLogs
	once   sync.Once
}

// emailSetup is what options may change before the server starts.
type emailSetup struct {
	cfg   gatehouse.Config
	smtp  *smtptest.Server
	logs  *emailLogs
	quiet bool
}

type emailOpt func(*emailSetup)

// withEmailConfig changes the configuration.
func withEmailConfig(f func(*gatehouse.Config)) emailOpt { return func(s *emailSetup) { f(&s.cfg) } }

// withEmailSMTP delivers to s (shared with another server of the test).
func withEmailSMTP(s *smtptest.Server) emailOpt { return func(st *emailSetup) { st.smtp = s } }

// withEmailLogs logs to l (shared with another server of the test).
func withEmailLogs(l *emailLogs) emailOpt { return func(s *emailSetup) { s.logs = l } }

// withEmailClock runs the server on c (shared with another server).
func withEmailClock(c *clocktest.Clock) emailOpt { return func(s *emailSetup) { s.cfg.Clock = c } }

// withEmailQuietLog drops log lines (benchmarks: the buffer would grow
// with every request).
func withEmailQuietLog() emailOpt { return func(s *emailSetup) { s.quiet = true } }

// smtpURL is GATEHOUSE_MAIL_URL for a plain local relay at addr.
func smtpURL(addr string) string { return "smtp://" + addr + "?tls=none" }

// newEmailEnv starts a server on the database at dbURL.
func newEmailEnv(t testing.TB, dbURL string, opts ...emailOpt) *emailEnv {
	t.Helper()
	s := &emailSetup{cfg: gatehouse.DefaultConfig()}
	c := &s.cfg
	c.DatabaseURL = dbURL
	c.PublicURL = emailPublic
	c.MailFrom = emailFrom
	c.AllowedRedirects = []string{emailPublic, emailApp}
	c.Secret = emailSecret
	c.AdminAPIKey = emailAdminKey
	c.SessionCookieName = emailCookie
	c.Clock = newEmailClock()
	for _, o := range opts {
		o(s)
	}
	if s.logs == nil {
		s.logs = newEmailLogs(t) // before the server, so it is checked after the server closed
	}
	s.logs.secret(emailSecret, emailAdminKey, emailPassword)
	c.Logger = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if s.quiet {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MailURL == "" {
		if s.smtp == nil {
			s.smtp = smtptest.Start(t, smtptest.Config{})
		}
		c.MailURL = smtpURL(s.smtp.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := gatehouse.New(ctx, *c)
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	srv := httptest.NewServer(g)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e := &emailEnv{g: g, srv: srv, url: srv.URL, client: client, cfg: g.Config(), clock: c.Clock.(*clocktest.Clock), smtp: s.smtp, logs: s.logs}
	t.Cleanup(func() { e.close(t) })
	return e
}

// close stops the server (its delivery worker too); later calls do nothing.
func (e *emailEnv) close(t testing.TB) {
	e.once.Do(func() {
		e.srv.Close()
		if err := e.g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

// emailResp is an answer read whole.
type emailResp struct {
	t      testing.TB
	req    string
	status int
	header http.Header
	body   []byte
}

type emailReqOpt func(*http.Request)

func withBearer(tok string) emailReqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withAdmin() emailReqOpt { return withBearer(emailAdminKey) }

func withCookie(name, v string) emailReqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: v}) }
}

func withHeader(k, v string) emailReqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// sameOrigin marks a request as a browser's from the server's own page.
func sameOrigin() emailReqOpt { return withHeader("Sec-Fetch-Site", "same-origin") }

// do sends one request. A url.Values body is sent as a form, any other
// non-nil body as JSON. Redirects are not followed.
func (e *emailEnv) do(t testing.TB, method, path string, body any, opts ...emailReqOpt) *emailResp {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &emailResp{t: t, req: method + " " + strings.SplitN(path, "?", 2)[0], status: res.StatusCode, header: res.Header, body: b}
}

// want fails the test unless the status is status.
func (r *emailResp) want(status int) *emailResp {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.req, r.status, status, r.body)
	}
	return r
}

// wantProblem fails the test unless the answer is a problem document with
// this status and code.
func (r *emailResp) wantProblem(status int, code string) *emailResp {
	r.t.Helper()
	r.want(status)
	if ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); ct != "application/problem+json" {
		r.t.Fatalf("%s: Content-Type %q, want application/problem+json", r.req, r.header.Get("Content-Type"))
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != status || p.Code != code {
		r.t.Fatalf("%s: problem %s, want status %d and code %q", r.req, r.body, status, code)
	}
	return r
}

// wantHTML fails the test unless the answer is an HTML page with this
// status, and answers the page.
func (r *emailResp) wantHTML(status int) string {
	r.t.Helper()
	r.want(status)
	if ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); ct != "text/html" {
		r.t.Fatalf("%s: Content-Type %q, want text/html", r.req, r.header.Get("Content-Type"))
	}
	return string(r.body)
}

func (r *emailResp) decode(v any) {
	r.t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		r.t.Fatalf("%s: %v: %s", r.req, err, r.body)
	}
}

// accepted fails the test unless the answer is the enumeration-safe 202 {}.
func (r *emailResp) accepted() *emailResp {
	r.t.Helper()
	r.want(http.StatusAccepted)
	if got := strings.TrimSpace(string(r.body)); got != "{}" {
		r.t.Fatalf("%s: body %q, want {}", r.req, got)
	}
	return r
}

// sameAnswer fails the test unless a and b differ at most in Date and
// X-Request-Id: an observer cannot tell which address had an account.
func sameAnswer(t testing.TB, what string, a, b *emailResp) {
	t.Helper()
	if a.status != b.status || !bytes.Equal(a.body, b.body) {
		t.Errorf("%s: %d %s vs %d %s", what, a.status, a.body, b.status, b.body)
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		return h
	}
	if ha, hb := strip(a.header), strip(b.header); !headersEqual(ha, hb) {
		t.Errorf("%s: headers differ:\n%v\n%v", what, ha, hb)
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// emailUser is a user as the API shows it.
type emailUser struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Phone         string    `json:"phone"`
	PhoneVerified bool      `json:"phone_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	Factors       []string  `json:"factors"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type emailTokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	RefreshToken string    `json:"refresh_token"`
	User         emailUser `json:"user"`
}

// tokens reads a 200 token answer and remembers its secrets.
func (e *emailEnv) tokens(r *emailResp) emailTokens {
	r.t.Helper()
	var tok emailTokens
	r.want(http.StatusOK).decode(&tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		r.t.Fatalf("%s: tokens %s", r.req, r.body)
	}
	e.logs.secret(tok.AccessToken, tok.RefreshToken)
	return tok
}

// claims answers the payload of a JWT (its signature is the server's to
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

// amr answers the methods a JWT says were used.
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
	return e.do(t, "POST", "/v1/otp", body)
}

// grantOTP signs in with a code.
func (e *emailEnv) grantOTP(t testing.TB, email, code string) *emailResp {
	t.Helper()
	return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": email, "code": code})
}

// grantLink signs in with a magic link's token, as an API client does.
func (e *emailEnv) grantLink(t testing.TB, token string) *emailResp {
	t.Helper()
	return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "magic_link", "token": token})
}

// signUp creates an account; with an empty password, a passwordless one.
func (e *emailEnv) signUp(t testing.TB, email, password string) emailUser {
	t.Helper()
	body := map[string]string{"email": email}
	if password != "" {
		e.logs.secret(password)
		body["password"] = password
	}
	var out struct {
		User emailUser `json:"user"`
	}
	e.do(t, "POST", "/v1/signup", body).want(http.StatusCreated).decode(&out)
	return out.User
}

// passwordGrant signs in with a password.
func (e *emailEnv) passwordGrant(t testing.TB, email, password string) *emailResp {
	t.Helper()
	e.logs.secret(password)
	return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": password})
}

// check calls /v1/check.
func (e *emailEnv) check(t testing.TB, opts ...emailReqOpt) *emailResp {
	t.Helper()
	return e.do(t, "GET", "/v1/check", nil, opts...)
}

// users answers the accounts whose email matches query (admin API).
func (e *emailEnv) users(t testing.TB, query string) []emailUser {
	t.Helper()
	var out struct {
		Users []struct {
			emailUser
			Disabled   bool       `json:"disabled"`
			Admin      bool       `json:"admin"`
			DisabledAt *time.Time `json:"disabled_at"`
		} `json:"users"`
		NextCursor string `json:"next_cursor"`
	}
	e.do(t, "GET", "/v1/admin/users?query="+url.QueryEscape(query), nil, withAdmin()).want(http.StatusOK).decode(&out)
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
	r := e.do(t, "GET", path, nil, withAdmin()).want(http.StatusOK)
	if leaked := e.logs.leaks(string(r.body)); len(leaked) > 0 {
		t.Fatalf("the admin message list shows secrets %q: %s", leaked, r.body)
	}
	var out struct {
		Messages   []emailMessage `json:"messages"`
		NextCursor string         `json:"next_cursor"`
	}
	r.decode(&out)
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
// server and answers it.
func (e *emailEnv) mail(t testing.TB, address string, n int) emailMail {
	t.Helper()
	if e.smtp == nil {
		t.Fatal("mail: this server does not deliver to the test's SMTP server")
	}
	return receive(t, e.smtp, e.logs, e.cfg.PublicURL, address, n)
}

func mailsTo(s *smtptest.Server, address string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range s.Messages() {
		if slices.Contains(m.To, address) {
			out = append(out, m)
		}
	}
	return out
}

func receive(t testing.TB, s *smtptest.Server, logs *emailLogs, publicURL, address string, n int) emailMail {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		mine := mailsTo(s, address)
		if len(mine) >= n {
			return parseMail(t, logs, publicURL, mine[n-1])
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no message %d to %s after %v (%d to it, %d in all)", n, address, mailWait, len(mine), len(s.Messages()))
		}
		s.Wait(t, len(s.Messages())+1, left)
	}
}

// parseMail takes a message apart and finds its code (the only number of
// 6 to 10 digits in the text) and link; it checks that text and HTML carry the
// same ones.
func parseMail(t testing.TB, logs *emailLogs, publicURL string, m smtptest.Message) emailMail {
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
	logs.secret(mail.Code, mail.Token)
	return mail
}

// path answers the link of m as a path on the test server.
func (m emailMail) path(t testing.TB, publicURL string) string {
	t.Helper()
	p, ok := strings.CutPrefix(m.Link, publicURL)
	if !ok || m.Link == "" {
		t.Fatalf("link %q is not on %s", m.Link, publicURL)
	}
	return p
}

// setCookie answers the session cookie an answer sets, or nil.
func (r *emailResp) setCookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// wrongCode answers the i-th (from 1, below 10^6) code of code's length
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

// smtpReject answers an SMTP error reply for smtptest.RejectRecipients.
func smtpReject(code int, msg string) error {
	class := code / 100
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, 1, 1}, Message: msg}
}

// wantNoCookie fails the test if the answer sets any cookie.
func (r *emailResp) wantNoCookie() {
	r.t.Helper()
	if sc := r.header.Values("Set-Cookie"); len(sc) > 0 {
		r.t.Fatalf("%s: sets cookies %q", r.req, sc)
	}
}

// String names a message in failures.
func (m emailMessage) String() string {
	return fmt.Sprintf("%s %s to %s: %s, %d attempts, %q", m.ID, m.Kind, m.To, m.Status, m.Attempts, m.LastError)
}
