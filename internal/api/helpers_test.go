package api_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// The settings every test server shares (gatehousetest's).
const (
	testAdminKey = gatehousetest.AdminKey
	testIssuer   = gatehousetest.PublicURL
	testPassword = gatehousetest.Password
)

// Names of the harness these tests use.
type (
	database   = gatehousetest.DB
	option     = gatehousetest.Option
	reqOpt     = gatehousetest.RequestOption
	response   = gatehousetest.Response
	problem    = gatehousetest.Problem
	userJSON   = gatehousetest.User
	tokensJSON = gatehousetest.Tokens
	// adminUserJSON is a user as the admin API shows it.
	adminUserJSON = gatehousetest.AdminUser
	sessionJSON   = gatehousetest.Session
)

var (
	sqliteDB = gatehousetest.SQLite
	eachDB   = gatehousetest.EachDB
	bearer   = gatehousetest.Bearer
	adminKey = gatehousetest.Admin
	header   = gatehousetest.Header
)

// env is one Gatehouse served over HTTP (gatehousetest.Server), under the
// short names these tests use.
type env struct {
	*gatehousetest.Server
}

func withConfig(f func(*gatehouse.Config)) option { return gatehousetest.WithConfig(f) }

func withCORSOrigins(origins ...string) option {
	return withConfig(func(c *gatehouse.Config) { c.CORSOrigins = origins })
}

// withoutLog drops log lines (benchmarks: the buffer would grow with
// every request).
func withoutLog() option { return gatehousetest.QuietLog() }

func withoutAdminKey() option { return withConfig(func(c *gatehouse.Config) { c.AdminAPIKey = "" }) }

func newEnv(t testing.TB, db database, opts ...option) *env {
	t.Helper()
	s := gatehousetest.Start(t, append([]option{gatehousetest.WithDB(db)}, opts...)...)
	return &env{Server: s}
}

// secret remembers values that must never appear in the log.
func (e *env) secret(values ...string) { e.Logs.Secret(values...) }

func (e *env) cookie(v string) reqOpt { return e.Cookie(v) }

func (e *env) do(t testing.TB, method, path string, body any, opts ...reqOpt) *response {
	t.Helper()
	return e.Do(t, method, path, body, opts...)
}

// signUp creates an account with a password and returns it.
func (e *env) signUp(t testing.TB, email, password string) userJSON {
	t.Helper()
	return e.SignUp(t, email, password)
}

// signIn signs in with a password and returns the tokens.
func (e *env) signIn(t testing.TB, email, password string) tokensJSON {
	t.Helper()
	return e.SignIn(t, email, password)
}

// refresh exchanges a refresh token, answering the raw response.
func (e *env) refresh(t testing.TB, rt string) *response {
	t.Helper()
	r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
	if r.Status == 200 {
		var tok tokensJSON
		r.Decode(&tok)
		e.secret(tok.AccessToken, tok.RefreshToken)
	}
	return r
}

// account signs up and signs in.
func (e *env) account(t testing.TB, email string) tokensJSON {
	t.Helper()
	return e.Account(t, email)
}

// browserSession starts a cookie session (aal1, by password) for the user
// with that email, as the sign-in pages would, and returns the cookie
// value.
func (e *env) browserSession(t testing.TB, email string) string {
	t.Helper()
	cookie, _ := e.Session(t, email, auth.Client{IP: "127.0.0.1", UserAgent: "test-browser"})
	return cookie
}

// bothWays makes an account for email signed in with tokens and then in a
// browser, and returns the tokens and the browser's cookie.
func (e *env) bothWays(t testing.TB, email string) (tokensJSON, string) {
	t.Helper()
	return e.account(t, email), e.browserSession(t, email)
}

// threeSessions makes an account for email signed in three times: twice
// with tokens and once in a browser (the cookie).
func (e *env) threeSessions(t testing.TB, email string) (a, b tokensJSON, cookie string) {
	t.Helper()
	return e.account(t, email), e.signIn(t, email, testPassword), e.browserSession(t, email)
}

// passwordlessUser creates an account without a password through the
// flows and returns it.
func (e *env) passwordlessUser(t testing.TB, email string) *auth.User {
	t.Helper()
	u, err := e.G.Auth().SignUp(context.Background(), auth.SignUpInput{Email: email})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return u
}

// check calls /v1/check and returns the response.
func (e *env) check(t testing.TB, opts ...reqOpt) *response {
	t.Helper()
	return e.do(t, "GET", "/v1/check", nil, opts...)
}

// apiServer returns the API of the server as gatehouse.New wired it, for
// the tests that look at its own mux (export_test.go records every Server
// New builds): exporting it would make the whole API server a promise of
// the public package for the sake of one test.
func (e *env) apiServer(t testing.TB) *api.Server {
	t.Helper()
	srv := api.ServerOf(e.G.Auth())
	if srv == nil {
		t.Fatal("no API server was built over this server's flows")
	}
	return srv
}

// eachEnv runs fn with a new server on SQLite and another on PostgreSQL
// (skipped unless GATEHOUSE_TEST_POSTGRES_URL is set), in parallel.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env), opts ...option) {
	t.Helper()
	eachDB(t, func(t *testing.T, db database) { fn(t, newEnv(t, db, opts...)) })
}
