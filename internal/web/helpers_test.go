package web_test

// Shared harness of the page tests: a real Gatehouse (SQLite, fresh file)
// served over HTTP, mailing through an in-process SMTP server and texting
// through a fake Twilio, with a browser-like client that keeps cookies and
// does not follow redirects, so each answer can be checked.

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// Settings of every test server.
const (
	testPassword = "purple monkey dishwasher 42"
	// appOrigin is an allowed redirect origin besides the server itself.
	appOrigin = "https://app.example.test"
	wait      = gatehousetest.Wait
)

// env is one server (gatehousetest.Server) and what it delivers to.
type env struct {
	*gatehousetest.Server
	t testing.TB
}

// newEnv starts a server on its own URL, in dev mode (http://127.0.0.1:
// cookies without Secure), mailing to an SMTP server and texting to a fake
// Twilio of its own; edit may change the configuration first.
func newEnv(t testing.TB, edit func(*gatehouse.Config)) *env {
	t.Helper()
	opts := []gatehousetest.Option{
		gatehousetest.OwnPublicURL(), gatehousetest.WithMail(), gatehousetest.WithTwilio(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) {
			c.AllowedRedirects = append(c.AllowedRedirects, appOrigin)
			c.MailFrom = "no-reply@example.test"
			c.Dev = true // http://127.0.0.1: cookies without Secure, as in dev mode
		}),
	}
	if edit != nil {
		opts = append(opts, gatehousetest.WithConfig(edit))
	}
	s := gatehousetest.Start(t, opts...)
	s.Logs.Secret(testPassword)
	return &env{Server: s, t: t}
}

// browser is a client with its own cookie jar that does not follow
// redirects. Requests carry Sec-Fetch-Site: same-origin, as a browser's
// own form posts do; cross-site tests set another value.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// page is an answer read whole.
type page struct {
	t      testing.TB
	req    string
	status int
	header http.Header
	body   string
}

type reqOpt = gatehousetest.RequestOption

// htmx marks a request as htmx's (it wants a fragment).
func htmx() reqOpt { return func(r *http.Request) { r.Header.Set("HX-Request", "true") } }

// crossSite marks a request as a form post from another site.
func crossSite() reqOpt {
	return func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
	}
}

// get loads a page.
func (b *browser) get(t testing.TB, path string, opts ...reqOpt) *page {
	t.Helper()
	return b.do(t, http.MethodGet, path, nil, opts...)
}

// post submits a form.
func (b *browser) post(t testing.TB, path string, form url.Values, opts ...reqOpt) *page {
	t.Helper()
	return b.do(t, http.MethodPost, path, form, opts...)
}

func (b *browser) do(t testing.TB, method, path string, form url.Values, opts ...reqOpt) *page {
	t.Helper()
	var body any
	if form != nil {
		body = form
	}
	opts = append([]reqOpt{gatehousetest.SameOrigin(), gatehousetest.Header("Accept", "text/html")}, opts...)
	r := b.e.DoWith(t, b.client, method, path, body, opts...)
	return &page{t: t, req: method + " " + path, status: r.Status, header: r.Header, body: string(r.Body)}
}

// want fails the test unless the status is status.
func (p *page) want(status int) *page {
	p.t.Helper()
	if p.status != status {
		p.t.Fatalf("%s: status %d, want %d; body:\n%s", p.req, p.status, status, p.body)
	}
	return p
}

// redirectsTo fails the test unless the answer is a 303 (or, for htmx, an
// HX-Redirect) to target.
func (p *page) redirectsTo(target string) *page {
	p.t.Helper()
	got := p.header.Get("Location")
	if p.status == http.StatusOK {
		got = p.header.Get("HX-Redirect")
	} else if p.status != http.StatusSeeOther {
		p.t.Fatalf("%s: status %d, want a redirect to %s; body:\n%s", p.req, p.status, target, p.body)
	}
	if got != target {
		p.t.Fatalf("%s: redirect to %q, want %q", p.req, got, target)
	}
	return p
}

// contains fails the test unless the body holds every s.
func (p *page) contains(s ...string) *page {
	p.t.Helper()
	for _, x := range s {
		if !strings.Contains(p.body, x) {
			p.t.Fatalf("%s: body lacks %q:\n%s", p.req, x, p.body)
		}
	}
	return p
}

// lacks fails the test if the body holds any s.
func (p *page) lacks(s ...string) *page {
	p.t.Helper()
	for _, x := range s {
		if strings.Contains(p.body, x) {
			p.t.Fatalf("%s: body holds %q:\n%s", p.req, x, p.body)
		}
	}
	return p
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// mailCode waits for message n (counting from 1) to address and returns the
// code it carries, and its link when it has one; both become secrets the
// log must not show.
func (e *env) mailCode(t testing.TB, address string, n int) (code, link string) {
	t.Helper()
	p, err := gatehousetest.WaitMail(t, e.SMTP, address, n).Parse()
	if err != nil {
		t.Fatal(err)
	}
	code = codeRE.FindString(p.Text)
	if i := strings.Index(p.Text, e.Config.PublicURL+"/v1/verify?token="); i >= 0 {
		link = strings.Fields(p.Text[i:])[0]
	}
	_, token, _ := strings.Cut(link, "token=")
	e.Logs.Secret(code, token)
	return code, link
}

// confirmSubject is the subject of the message that proves an email
// (auth.KindVerifyEmail), which a sign-up with a password sends.
const confirmSubject = "Confirm your email for Gatehouse"

// confirmMail waits for message n (from 1) to address, which must be a
// proof of the email (confirmSubject), and returns its code and link.
func (e *env) confirmMail(t testing.TB, address string, n int) (code, link string) {
	t.Helper()
	p, err := gatehousetest.WaitMail(t, e.SMTP, address, n).Parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != confirmSubject {
		t.Fatalf("message %d to %s: subject %q, want %q", n, address, p.Subject, confirmSubject)
	}
	code, link = e.mailCode(t, address, n)
	if code == "" || link == "" {
		t.Fatalf("message %d to %s: code %q, link %q", n, address, code, link)
	}
	return code, link
}

// smsCode waits until the fake Twilio has n messages and returns the code
// of the last, which must have gone to number (a secret of the log from
// then on).
func (e *env) smsCode(t testing.TB, number string, n int) string {
	t.Helper()
	m := e.Twilio.Wait(t, n, wait)[n-1]
	if m.To != number {
		t.Fatalf("SMS %d went to %s, want %s", n, m.To, number)
	}
	code := codeRE.FindString(m.Body)
	e.Logs.Secret(code)
	return code
}

// cookie returns the session cookie the browser holds for the server, or "".
func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == b.e.Config.SessionCookieName {
			return c.Value
		}
	}
	return ""
}

// signUp creates an account with testPassword.
func (e *env) signUp(t testing.TB, email string) {
	t.Helper()
	e.SignUp(t, email, testPassword)
}

// session starts a browser session of u from a device with user agent ua,
// signed in with the methods amr (password when none; two make it aal2),
// and returns its cookie value and id.
func (e *env) session(t testing.TB, u *auth.User, ua string, amr ...string) (cookie, id string) {
	t.Helper()
	return e.Session(t, u.Email, auth.Client{IP: "192.0.2.7", UserAgent: ua}, amr...)
}

// browserWith returns a browser that holds the session cookie.
func (e *env) browserWith(cookie string) *browser {
	b := e.browser()
	su, _ := url.Parse(e.URL)
	b.client.Jar.SetCookies(su, []*http.Cookie{{Name: e.Config.SessionCookieName, Value: cookie, Path: "/"}})
	return b
}

// checkStatus returns the status of GET /v1/check (as an API client asks)
// with a session cookie.
func (e *env) checkStatus(t testing.TB, cookie string) int {
	t.Helper()
	return e.Do(t, http.MethodGet, "/v1/check", nil, gatehousetest.Header("Accept", "application/json"), e.Cookie(cookie)).Status
}
