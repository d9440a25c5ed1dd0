package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// fakeClock is the shared test clock.
type fakeClock = clocktest.Clock

// Test settings shared by every server of these tests.
const (
	testSecret   = "api-test-secret-0123456789-abcdefghij" // 32+ characters
	testAdminKey = "admin-key-0123456789abcdef"
	testIssuer   = "https://auth.example.test"
	testPassword = "correct horse battery staple"
)

func newFakeClock() *fakeClock {
	// Start at the real time (whole seconds) so nothing the store writes on
	// its own is far from what the flows write.
	return clocktest.New(time.Now().UTC().Truncate(time.Second))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// database is where a test server keeps its data.
type database = sqltest.DB

var sqliteDB = sqltest.SQLiteDB

// eachDB runs fn once on SQLite and once on PostgreSQL (skipped unless
// GATEHOUSE_TEST_POSTGRES_URL is set), in parallel.
func eachDB(t *testing.T, fn func(t *testing.T, db database)) {
	t.Helper()
	sqltest.EachDB(t, fn)
}

// env is one Gatehouse served over HTTP on its own fresh database, with a
// fake clock and a log buffer. Every secret a test hands to or receives
// from the server is remembered, and when the test ends env fails it if
// any of them was written to the log.
type env struct {
	t     testing.TB
	g     *gatehouse.Gatehouse
	srv   *httptest.Server
	url   string
	clock *fakeClock
	logs  *syncBuffer
	cfg   gatehouse.Config

	mu      sync.Mutex
	secrets []string
}

type option func(*gatehouse.Config)

func withCORSOrigins(origins ...string) option {
	return func(c *gatehouse.Config) { c.CORSOrigins = origins }
}

// withoutLog drops log lines (benchmarks: the buffer would grow with
// every request).
func withoutLog() option {
	return func(c *gatehouse.Config) { c.Logger = slog.New(slog.DiscardHandler) }
}

func withoutAdminKey() option {
	return func(c *gatehouse.Config) { c.AdminAPIKey = "" }
}

func newEnv(t testing.TB, db database, opts ...option) *env {
	t.Helper()
	clock := newFakeClock()
	logs := &syncBuffer{}
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = db.URL(t)
	cfg.PublicURL = testIssuer
	cfg.Secret = testSecret
	cfg.AdminAPIKey = testAdminKey
	cfg.Clock = clock
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := gatehouse.New(ctx, cfg)
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	srv := httptest.NewServer(g)
	e := &env{t: t, g: g, srv: srv, url: srv.URL, clock: clock, logs: logs, cfg: g.Config()}
	e.secret(testSecret, testAdminKey)
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		e.assertNoSecretsLogged(t)
	})
	return e
}

// secret remembers values that must never appear in the log.
func (e *env) secret(values ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		e.secrets = append(e.secrets, v)
		// The signature of a JWT alone identifies it too.
		if parts := strings.Split(v, "."); len(parts) == 3 {
			e.secrets = append(e.secrets, parts[2])
		}
	}
}

func (e *env) assertNoSecretsLogged(t testing.TB) {
	t.Helper()
	logs := e.logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a secret (%.12s…):\n%s", s, logs)
		}
	}
}

// response is an answer read whole.
type response struct {
	t      testing.TB
	status int
	header http.Header
	body   []byte
	req    string
}

type reqOpt func(*http.Request)

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func adminKey() reqOpt { return bearer(testAdminKey) }

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func (e *env) cookie(v string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: e.cfg.SessionCookieName, Value: v}) }
}

// do sends one request. body is sent as is when it is a string or []byte,
// else encoded as JSON; Content-Type is application/json unless an option
// sets it.
func (e *env) do(t testing.TB, method, path string, body any, opts ...reqOpt) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{t: t, status: res.StatusCode, header: res.Header, body: b, req: method + " " + path}
}

// want fails the test unless the status is status.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.req, r.status, status, r.body)
	}
	return r
}

// decode reads the JSON body into v, refusing unknown fields of structs.
func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("%s: body is not JSON (%v): %s", r.req, err, r.body)
	}
}

// problem is an RFC 9457 problem document as docs/contract.md describes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func (p problem) hasField(f string) bool {
	for _, e := range p.Errors {
		if e.Field == f {
			return true
		}
	}
	return false
}

// wantProblem fails the test unless the answer is a problem document with
// this status and code, and answers it.
func (r *response) wantProblem(status int, code string) problem {
	r.t.Helper()
	r.want(status)
	ct, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || ct != "application/problem+json" {
		r.t.Fatalf("%s: Content-Type %q, want application/problem+json", r.req, r.header.Get("Content-Type"))
	}
	var p problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		r.t.Fatalf("%s: not a problem document (%v): %s", r.req, err, r.body)
	}
	if p.Type == "" || p.Title != http.StatusText(status) || p.Status != status || p.Code != code {
		r.t.Fatalf("%s: problem %+v, want type set, title %q, status %d, code %q", r.req, p, http.StatusText(status), status, code)
	}
	return p
}

// wantFieldError checks a 400 problem that names field among its errors.
func (r *response) wantFieldError(code, field string) problem {
	r.t.Helper()
	p := r.wantProblem(http.StatusBadRequest, code)
	if !p.hasField(field) {
		r.t.Fatalf("%s: errors name %q, want %q among them: %s", r.req, p.fields(), field, r.body)
	}
	return p
}

// User and Tokens as the API shows them.
type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Phone         string    `json:"phone"`
	PhoneVerified bool      `json:"phone_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	Factors       []string  `json:"factors"`           // GET/PATCH /v1/user only
	BackupCodes   int       `json:"backup_codes_left"` // GET/PATCH /v1/user only
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type adminUserJSON struct {
	userJSON
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at"`
	Admin      bool       `json:"admin"`
}

type tokensJSON struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token"`
	User         userJSON `json:"user"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AAL        string    `json:"aal"`
	AMR        []string  `json:"amr"`
	Browser    bool      `json:"browser"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// strict decodes the body into v and fails on fields v does not know, so a
// response that grows a field (a token value, say) is noticed.
func (r *response) strict(v any) {
	r.t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		r.t.Fatalf("%s: %v: %s", r.req, err, r.body)
	}
}

// signUp creates an account with a password and answers it.
func (e *env) signUp(t testing.TB, email, password string) userJSON {
	t.Helper()
	e.secret(password)
	var out struct {
		User userJSON `json:"user"`
	}
	e.do(t, "POST", "/v1/signup", map[string]string{"email": email, "password": password}).want(http.StatusCreated).strict(&out)
	return out.User
}

// signIn signs in with a password and answers the tokens.
func (e *env) signIn(t testing.TB, email, password string) tokensJSON {
	t.Helper()
	e.secret(password)
	var tok tokensJSON
	r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": password})
	r.want(http.StatusOK).strict(&tok)
	e.secret(tok.AccessToken, tok.RefreshToken)
	return tok
}

// refresh exchanges a refresh token, answering the raw response.
func (e *env) refresh(t testing.TB, rt string) *response {
	t.Helper()
	r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
	if r.status == http.StatusOK {
		var tok tokensJSON
		r.decode(&tok)
		e.secret(tok.AccessToken, tok.RefreshToken)
	}
	return r
}

// account signs up and signs in.
func (e *env) account(t testing.TB, email string) tokensJSON {
	t.Helper()
	e.signUp(t, email, testPassword)
	return e.signIn(t, email, testPassword)
}

// browserSession starts a cookie session for the user with that email, as
// the sign-in pages do, and answers the cookie value.
func (e *env) browserSession(t testing.TB, email string) string {
	t.Helper()
	ctx := context.Background()
	u, err := e.g.Auth().AdminUserByEmail(ctx, email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	cookie, _, err := e.g.Auth().BrowserSession(ctx, u, auth.Client{IP: "127.0.0.1", UserAgent: "test-browser"}, []string{auth.MethodPassword})
	if err != nil {
		t.Fatalf("browser session: %v", err)
	}
	e.secret(cookie)
	return cookie
}

// passwordlessUser creates an account without a password through the
// flows (no hash, so it is cheap) and answers it.
func (e *env) passwordlessUser(t testing.TB, email string) *auth.User {
	t.Helper()
	u, err := e.g.Auth().SignUp(context.Background(), auth.SignUpInput{Email: email})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return u
}

// check calls /v1/check and answers the response.
func (e *env) check(t testing.TB, opts ...reqOpt) *response {
	t.Helper()
	return e.do(t, "GET", "/v1/check", nil, opts...)
}
