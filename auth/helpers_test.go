package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fakeClock is the shared test clock.
type fakeClock = clocktest.Clock

// t0 is where every fake clock starts. Its nanoseconds are not a whole
// microsecond, so every test also checks that what a flow answers equals
// what the store (which keeps microseconds) reads back.
var t0 = time.Date(2031, time.March, 14, 15, 9, 26, 535897932, time.UTC)

func newClock() *fakeClock { return clocktest.New(t0) }

// fastParams keep argon2id real but cheap: 64 KiB, one pass.
var fastParams = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Token settings of every test service.
const (
	testIssuer   = "https://gatehouse.test"
	testAudience = "gatehouse-test"
	testSecret   = "a test server secret, long enough"
	goodPassword = "violet-anchor-tundra-42"
	newPassword  = "saffron-lantern-quarry-97"
)

var successorKey = bytes.Repeat([]byte{0x5a}, 32)

// recObserver records every sign-in outcome as "method:result".
type recObserver struct {
	mu     sync.Mutex
	events []string
}

func (o *recObserver) SignIn(method, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, method+":"+result)
}

// take answers the events since the last take.
func (o *recObserver) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	ev := o.events
	o.events = nil
	return ev
}

// env is one Service wired to a real store, with its own fake clock,
// signer, throttle and observer.
type env struct {
	t        *testing.T
	ctx      context.Context
	store    *sqlstore.Store
	clock    *fakeClock
	keys     *token.Keys
	throttle *throttle.Memory
	obs      *recObserver
	svc      *auth.Service
	cfg      auth.Config
}

type envOption func(*envSettings)

type envSettings struct {
	cfg         auth.Config
	params      password.Params
	wrap        func(*sqlstore.Store) auth.Store
	revocations auth.Revocations
	// deps, when set, adds ports to the service's Deps.
	deps func(*auth.Deps)
}

// withDeps adds ports to the service's Deps.
func withDeps(f func(*auth.Deps)) envOption {
	return func(s *envSettings) { s.deps = f }
}

func withConfig(f func(*auth.Config)) envOption {
	return func(s *envSettings) { f(&s.cfg) }
}

func withParams(p password.Params) envOption {
	return func(s *envSettings) { s.params = p }
}

// withStore puts a wrapper between the service and the store.
func withStore(wrap func(*sqlstore.Store) auth.Store) envOption {
	return func(s *envSettings) { s.wrap = wrap }
}

var testBox = sync.OnceValue(func() *seal.Box {
	b, err := seal.New(testSecret)
	if err != nil {
		panic(err)
	}
	return b
})

func newKeys(t testing.TB, st token.KeyStore, clock auth.Clock) *token.Keys {
	t.Helper()
	k := token.NewKeys(st, testBox(), clock, token.Config{Issuer: testIssuer, Audience: testAudience})
	if err := k.Load(context.Background()); err != nil {
		t.Fatalf("load signing keys: %v", err)
	}
	return k
}

// newEnv wires a Service over st. Several envs may share one store: each
// has its own clock, and tests keep apart by using their own users.
func newEnv(t *testing.T, st *sqlstore.Store, opts ...envOption) *env {
	t.Helper()
	set := envSettings{params: fastParams}
	for _, o := range opts {
		o(&set)
	}
	set.cfg.SuccessorKey = successorKey
	clock := newClock()
	e := &env{
		t: t, ctx: t.Context(), store: st, clock: clock,
		keys:     newKeys(t, st, clock),
		throttle: throttle.NewMemory(clock, throttle.Config{}),
		obs:      &recObserver{},
	}
	var store auth.Store = st
	if set.wrap != nil {
		store = set.wrap(st)
	}
	deps := auth.Deps{
		Store:    store,
		Hasher:   password.New(set.params, 4),
		Policy:   password.DefaultPolicy,
		Signer:   e.keys,
		Throttle: e.throttle,
		Clock:    clock,
		Observer: e.obs,

		Revocations: set.revocations,
	}
	if set.deps != nil {
		set.deps(&deps)
	}
	svc, err := auth.New(set.cfg, deps)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	e.cfg = svc.Config()
	return e
}

// now answers the time as the flows see it: UTC, whole microseconds.
func (e *env) now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

// forEachStore runs fn on a fresh SQLite store and, when
// GATEHOUSE_TEST_POSTGRES_URL is set, on a fresh PostgreSQL one, both in
// parallel with other tests. The store's signing key is created before fn
// runs, so envs that share the store all sign with one key.
func forEachStore(t *testing.T, fn func(t *testing.T, st *sqlstore.Store)) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		t.Parallel()
		newKeys(t, st, newClock())
		fn(t, st)
	})
}

// forEachEnv is forEachStore with one env on the store.
func forEachEnv(t *testing.T, fn func(t *testing.T, e *env), opts ...envOption) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) { fn(t, newEnv(t, st, opts...)) })
}

// run runs fn as a parallel subtest with its own env on st.
func run(t *testing.T, st *sqlstore.Store, name string, fn func(t *testing.T, e *env), opts ...envOption) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t, newEnv(t, st, opts...))
	})
}

var emailSeq atomic.Int64

// email answers an address no other test uses.
func email(tag string) string {
	return fmt.Sprintf("%s-%d@example.com", tag, emailSeq.Add(1))
}

var ipSeq atomic.Int64

// client answers a Client with an address no other test uses.
func client() auth.Client {
	n := ipSeq.Add(1)
	return auth.Client{IP: fmt.Sprintf("198.51.%d.%d", n/250%250, n%250+1), UserAgent: "flowtest/1.0"}
}

// signUp creates an account; password may be "" for a passwordless one.
func (e *env) signUp(addr, pw string) *auth.User {
	e.t.Helper()
	u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: pw, Name: "Test User"})
	if err != nil {
		e.t.Fatalf("SignUp(%q): %v", addr, err)
	}
	return u
}

// signIn answers a password grant that must succeed.
func (e *env) signIn(addr, pw string, c auth.Client) *auth.Grant {
	e.t.Helper()
	g, err := passwordGrant(e.ctx, e.svc, addr, pw, c)
	if err != nil {
		e.t.Fatalf("SignInPassword(%q): %v", addr, err)
	}
	return g
}

// newUser signs up an account with goodPassword and signs it in once.
func (e *env) newUser(tag string) (*auth.User, *auth.Grant) {
	e.t.Helper()
	addr := email(tag)
	u := e.signUp(addr, goodPassword)
	return u, e.signIn(addr, goodPassword, client())
}

// signedIn signs a new account up and in with its password and returns
// its address, the account and that session's principal (aal1).
func (e *env) signedIn(tag string) (string, *auth.User, *auth.Principal) {
	e.t.Helper()
	u, g := e.newUser(tag)
	return u.Email, u, e.bearer(g.AccessToken)
}

// bearer answers the principal of an access token, which must be valid.
func (e *env) bearer(at string) *auth.Principal {
	e.t.Helper()
	p, err := e.svc.BearerPrincipal(e.ctx, at)
	if err != nil {
		e.t.Fatalf("BearerPrincipal: %v", err)
	}
	return p
}

// cookieSession starts a browser session for u and fills the cache with it.
func (e *env) cookieSession(u *auth.User) (string, *auth.Principal) {
	e.t.Helper()
	cookie, _, err := e.svc.BrowserSession(e.ctx, u, client(), []string{auth.MethodOTP})
	if err != nil {
		e.t.Fatalf("BrowserSession: %v", err)
	}
	p, err := e.svc.CookiePrincipal(e.ctx, cookie)
	if err != nil {
		e.t.Fatalf("CookiePrincipal: %v", err)
	}
	return cookie, p
}

func (e *env) storedSession(id string) *auth.Session {
	e.t.Helper()
	s, err := e.store.SessionByID(e.ctx, id)
	if err != nil {
		e.t.Fatalf("store.SessionByID: %v", err)
	}
	return s
}

func (e *env) storedUser(id string) *auth.User {
	e.t.Helper()
	u, err := e.store.UserByID(e.ctx, id)
	if err != nil {
		e.t.Fatalf("store.UserByID: %v", err)
	}
	return u
}

// The errors flows answer, as clients see them.
var (
	errInvalidCredentials = &auth.Error{Kind: auth.KindInvalidCredentials, Message: "The email or password is not correct."}
	errDisabled           = &auth.Error{Kind: auth.KindForbidden, Message: "This account is disabled."}
	errRateLimited        = &auth.Error{Kind: auth.KindRateLimited, Message: "Too many failed sign-ins; try again later."}
	errRefreshRevoked     = &auth.Error{Kind: auth.KindTokenRevoked, Message: "The refresh token is not valid."}
	errRefreshExpired     = &auth.Error{Kind: auth.KindTokenExpired, Message: "The session has expired."}
	errUnauthorized       = &auth.Error{Kind: auth.KindUnauthorized, Message: "Sign-in required."}
	errTokenExpired       = &auth.Error{Kind: auth.KindTokenExpired, Message: "The access token has expired."}
	errSessionExpired     = &auth.Error{Kind: auth.KindTokenExpired, Message: "The session has expired."}
	errSessionEnded       = &auth.Error{Kind: auth.KindTokenRevoked, Message: "The session has ended."}
	errNoSuchSession      = &auth.Error{Kind: auth.KindNotFound, Message: "No such session."}
	errNoSuchUser         = &auth.Error{Kind: auth.KindNotFound, Message: "No such user."}
)

// invalid answers the invalid_request error for fields.
func invalid(fields ...auth.FieldError) *auth.Error {
	return &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request is not valid.", Fields: fields}
}

func weak(field, msg string) *auth.Error {
	return &auth.Error{Kind: auth.KindWeakPassword, Message: "The password is too weak.", Fields: []auth.FieldError{{Field: field, Message: msg}}}
}

func rateLimited(after time.Duration) *auth.Error {
	e := *errRateLimited
	e.RetryAfter = after
	return &e
}

// checkErr fails t unless err is an *auth.Error equal to want in every
// field (kind, message, fields and RetryAfter).
func checkErr(t testing.TB, what string, err error, want *auth.Error) {
	t.Helper()
	var got *auth.Error
	if !errors.As(err, &got) {
		t.Errorf("%s: error %v (%T); want %v", what, err, err, fmtErr(want))
		return
	}
	if got.Kind != want.Kind || got.Message != want.Message || got.RetryAfter != want.RetryAfter ||
		!slices.Equal(got.Fields, want.Fields) {
		t.Errorf("%s: error %s; want %s", what, fmtErr(got), fmtErr(want))
	}
}

func fmtErr(e *auth.Error) string {
	return fmt.Sprintf("{%s %q fields=%v retry=%v}", e.Kind, e.Message, e.Fields, e.RetryAfter)
}

// checkUnavailable fails t unless err matches auth.ErrUnavailable.
func checkUnavailable(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, auth.ErrUnavailable) || auth.KindOf(err) != auth.KindUnavailable {
		t.Errorf("%s: error %v (kind %q); want one matching auth.ErrUnavailable", what, err, auth.KindOf(err))
	}
}

// checkSession fails t unless got and want are the same session, times
// compared as instants.
func checkSession(t testing.TB, what string, got, want *auth.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || !bytes.Equal(got.CookieHash, want.CookieHash) ||
		got.IP != want.IP || got.UserAgent != want.UserAgent || got.AAL != want.AAL ||
		!slices.Equal(got.AMR, want.AMR) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.LastSeenAt.Equal(want.LastSeenAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.AbsoluteExpiresAt.Equal(want.AbsoluteExpiresAt) || !timePtrEqual(got.RevokedAt, want.RevokedAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

// checkUser fails t unless got and want are the same user.
func checkUser(t testing.TB, what string, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.EmailVerified != want.EmailVerified ||
		got.Phone != want.Phone || got.PhoneVerified != want.PhoneVerified || got.Name != want.Name ||
		got.PasswordHash != want.PasswordHash || !timePtrEqual(got.DisabledAt, want.DisabledAt) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func sessionIDs(list []auth.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// finished finishes a proof on ch, as the API (Tokens) and the pages
// (Cookie) do after a sign-in step.
func finished(ctx context.Context, svc *auth.Service, c auth.Client, ch auth.Channel) func(*auth.Proof, error) (*auth.Grant, error) {
	return func(p *auth.Proof, err error) (*auth.Grant, error) {
		if err != nil {
			return nil, err
		}
		return svc.Finish(ctx, p, c, ch)
	}
}

// passwordGrant is grant_type password of POST /v1/token.
func passwordGrant(ctx context.Context, svc *auth.Service, addr, pw string, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.SignInPassword(ctx, auth.Identity{Email: addr}, pw, c))
}

// otpGrant is grant_type otp of POST /v1/token with an email.
func otpGrant(ctx context.Context, svc *auth.Service, addr, code string, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.SignInCode(ctx, auth.Identity{Email: addr}, code))
}

// phoneOTPGrant is grant_type otp of POST /v1/token with a phone.
func phoneOTPGrant(ctx context.Context, svc *auth.Service, number, code string, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.SignInCode(ctx, auth.Identity{Phone: number}, code))
}

// magicLinkGrant is grant_type magic_link of POST /v1/token.
func magicLinkGrant(ctx context.Context, svc *auth.Service, token string, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.SignInLink(ctx, token))
}

// verifyLink is a link opened in a browser: a cookie session.
func verifyLink(ctx context.Context, svc *auth.Service, token string, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Cookie(""))(svc.SignInLink(ctx, token))
}

// mfaGrant is grant_type mfa of POST /v1/token.
func mfaGrant(ctx context.Context, svc *auth.Service, in auth.MFAInput, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.SecondFactor(ctx, in, c, auth.Tokens))
}

// mfaBrowser is the second-factor step of the pages.
func mfaBrowser(ctx context.Context, svc *auth.Service, in auth.MFAInput, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Cookie(""))(svc.SecondFactor(ctx, in, c, auth.Cookie("")))
}

// recoverGrant is POST /v1/recover/verify.
func recoverGrant(ctx context.Context, svc *auth.Service, in auth.RecoverInput, c auth.Client) (*auth.Grant, error) {
	return finished(ctx, svc, c, auth.Tokens)(svc.ResetPassword(ctx, in))
}

func (o *recObserver) SignUp(string, string)       {}
func (o *recObserver) CodeSent(string, string)     {}
func (o *recObserver) CodeVerified(string, string) {}
func (o *recObserver) Refresh(string)              {}
func (o *recObserver) AccountClaimed()             {}
func (o *recObserver) SessionView(bool)            {}
