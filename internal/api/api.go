// Package api serves Gatehouse's JSON API (/v1), the endpoints other
// applications call (/v1/check, /.well-known/…) and the operational ones
// (/healthz, /readyz, /metrics, /openapi.json). Handlers parse, call
// one flow of package auth, and render; every error is an RFC 9457 problem.
// The pages are package web's; the root package routes between the two and
// runs the middleware they share (request log, metrics, recovery,
// cross-origin protection).
//
// A file per flow or resource registers its routes: signup.go, signin.go
// (/v1/token, every grant), otp.go, recover.go, verify.go (the link page,
// documented only), mfa.go, user.go, sessions.go, check.go, wellknown.go,
// admin.go with admin_messages.go and admin_audit.go, and ops.go. api.go
// holds the Server and what every operation shares; problem.go the
// errors, views.go the JSON shapes, describe.go the wording that quotes
// the effective configuration.
package api

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// MaxBodyBytes is the largest request body accepted (docs/contract.md: 64 KiB).
const MaxBodyBytes = 64 << 10

// KeySet returns the public signing keys as a JWKS document.
type KeySet interface {
	JWKS(now time.Time) []byte
}

// Pinger reports whether storage is reachable (for /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	// Auth runs the flows every operation calls.
	Auth *auth.Service
	// Keys serves /.well-known/jwks.json.
	Keys KeySet
	// Store is pinged by /readyz.
	Store Pinger
	// Redis, when set, is the shared Redis whose health /readyz reports
	// (up or down: a node without Redis still serves, so it stays ready).
	Redis Health
	// Clock is the now the JWKS lists the keys trusted at.
	Clock auth.Clock
	// Metrics is served at /metrics; nil makes new ones.
	Metrics *Metrics
	// Logger gets the failures that are not the client's; nil discards
	// them.
	Logger *slog.Logger
	// Issuer is the public URL: the tokens' iss and the base of metadata.
	Issuer string
	// AdminAPIKey enables /v1/admin when not empty.
	AdminAPIKey string
	// Cookies names and flags the browser session cookie, as for the
	// pages (the name defaults to gatehouse_session).
	Cookies httpauth.CookiePolicy
	// TrustedOrigins may call the API from a browser with credentials
	// (CORS).
	TrustedOrigins []string
	// SignInURL is the sign-in page's address (the pages'), where
	// /v1/check sends a browser navigation without a live session; with
	// none, such navigations get 401 like any other request.
	SignInURL string
	// ForwardAuthRedirect sends a browser navigation that a proxy forwards
	// to /v1/check without a live session to SignInURL instead of
	// responding with a bare 401 (GATEHOUSE_FORWARD_AUTH_REDIRECT; the gatehouse
	// package turns it on by default).
	ForwardAuthRedirect bool
	// Access holds the access rules /v1/check applies to the request a
	// proxy forwards (GATEHOUSE_ACCESS_RULES_FILE); nil is no rules:
	// signed in is enough.
	Access *access.Policy
	// StepUpURL is the step-up page's address, where /v1/check sends a
	// browser signed in at aal1 that a rule asks aal2 of; with none, such
	// a browser gets a 401 page saying to sign in again with a second
	// factor (see Server.stepUp).
	StepUpURL string
	// Messages lists outbox deliveries for /v1/admin/messages.
	Messages MessageLister
	// Audit lists audit events for /v1/admin/audit.
	Audit AuditLister
	// Version is shown in the OpenAPI document.
	Version string
	// Providers are the providers people may sign in with
	// (GATEHOUSE_OAUTH_*), for the id_token grant; none turns it off.
	Providers []Provider
}

// Provider is one provider people may sign in with, as the id_token grant
// of /v1/token uses it; the server builds it from package oauth.
type Provider interface {
	// Name is the provider's configured name ("google", "acme"), the
	// grant's provider field.
	Name() string
	// Label names it to people ("Google").
	Label() string
	// IssuesIDTokens is false for a provider that has no ID tokens
	// (GitHub): the grant is refused before anything is checked.
	IssuesIDTokens() bool
	// VerifyIDToken checks an ID token the provider issued to one of our
	// client IDs (signature against its keys, iss, aud, exp, and nonce
	// when not empty) and returns who it vouches for. Its errors are as
	// auth.Service.SignInIDToken's verify documents: an *auth.Error is
	// answered as it is; any other means the token did not verify, and
	// its text names the failed check, never the token.
	VerifyIDToken(ctx context.Context, raw, nonce string) (auth.ProviderIdentity, error)
}

// Server is the HTTP face of Gatehouse.
type Server struct {
	o       Options
	auth    *auth.Service
	log     *slog.Logger
	metrics *Metrics
	mux     *routeMux
	api     huma.API
	// plain are the operation IDs of the routes served outside huma and
	// documented by hand (document).
	plain    map[string]bool
	cookies  httpauth.CookiePolicy
	sessions httpauth.Sessions
	handler  http.Handler
	// checkHandler is the check behind the same middleware as handler,
	// without the mux (Check).
	checkHandler http.Handler
}

var humaErrorOnce sync.Once

// New builds the server and registers every route.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Cookies.Name == "" {
		o.Cookies.Name = httpauth.DefaultCookieName
	}
	// huma's error constructor is a package variable: Gatehouse sets it
	// once to its problem type.
	humaErrorOnce.Do(func() { huma.NewError = humaError })

	s := &Server{o: o, auth: o.Auth, log: o.Logger, metrics: o.Metrics, mux: &routeMux{ServeMux: http.NewServeMux()},
		cookies: o.Cookies, plain: map[string]bool{}}
	s.sessions = httpauth.Sessions{Auth: o.Auth, Cookies: s.cookies}
	cfg := huma.DefaultConfig("Gatehouse", o.Version)
	cfg.Info.Description = "Authentication server: sign-up, sign-in, sessions and tokens, and the check endpoint other applications call."
	cfg.Servers = []*huma.Server{{URL: o.Issuer}}
	cfg.DocsPath = "" // huma's page loads scripts from a CDN; /docs is served offline below
	cfg.SchemasPath = ""
	cfg.OpenAPIPath = "/openapi"
	cfg.CreateHooks = nil // no $schema links in bodies
	cfg.Transformers = append(cfg.Transformers, withOAuthError)
	// cfg.Formats is huma's package-level DefaultFormats: writing to it would
	// race with other servers being built and change every huma API in the
	// process. Add the form format to a copy.
	cfg.Formats = maps.Clone(cfg.Formats)
	cfg.Formats["application/x-www-form-urlencoded"] = formFormat
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":   {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "An access token from POST /v1/token."},
		"cookie":   {Type: "apiKey", In: "cookie", Name: o.Cookies.Name, Description: "The browser session cookie."},
		"adminKey": {Type: "http", Scheme: "bearer", Description: "GATEHOUSE_ADMIN_API_KEY."},
	}
	s.api = humago.New(s.mux, cfg)

	s.registerSignUp()
	s.registerSignIn()
	s.registerOTP()
	s.registerRecover()
	s.registerVerify()
	s.registerMessages()
	s.registerMFA()
	s.registerPasskeys()
	s.registerAudit()
	s.registerUser()
	s.registerEmail()
	s.registerIdentities()
	s.registerSessions()
	s.registerAdmin()
	s.registerProviderTokens()
	s.registerCheck()
	s.registerWellKnown()
	s.registerOps()
	s.tidyDocument()

	s.handler = s.middleware(s.mux)
	s.checkHandler = s.middleware(http.HandlerFunc(s.check))
	if built != nil {
		built(s)
	}
	return s, nil
}

// middleware is what every route of the server is served behind.
func (s *Server) middleware(next http.Handler) http.Handler {
	return withClient(s.cors(readBodies(next)))
}

// built, when set, is called with every Server New builds. Only this
// package's tests set it (export_test.go), to reach the API that
// gatehouse.New wired without the public package exporting it.
var built func(*Server)

// withClient makes sure the client is in the context of a request that did
// not come through the root's middleware (a Server used on its own).
func withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.ClientFrom(r.Context()) == (auth.Client{}) {
			r = httpauth.WithClient(r)
		}
		next.ServeHTTP(w, r)
	})
}

// Forbidden writes the problem of a state-changing request from another
// site, which the cross-origin protection refused.
func Forbidden(w http.ResponseWriter, _ *http.Request) {
	writeProblem(w, newProblem(http.StatusForbidden, string(auth.KindForbidden), "Cross-origin requests that change state are refused."))
}

// Failed writes the problem of a request whose handler panicked: a bug.
func Failed(w http.ResponseWriter, _ *http.Request) {
	writeProblem(w, newProblem(http.StatusInternalServerError, "internal", "The server failed to answer; this is a bug."))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Check serves GET /v1/check (and HEAD) as ServeHTTP does, behind the
// same middleware, without matching the route again: for a front door
// that routes the check, the hot path, by its own pattern. The request's
// Pattern is the front door's.
func (s *Server) Check() http.Handler { return s.checkHandler }

// OpenAPI returns the OpenAPI 3.1 document of every route.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// routeMux is the server's ServeMux, keeping every pattern registered on it
// (huma's operations and the plain routes alike) so that a test can hold
// them against the OpenAPI document.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// HandleFunc registers h for pattern and keeps the pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Handle registers h for pattern and keeps the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// op fills the defaults every operation shares.
func op(o huma.Operation) huma.Operation {
	// huma refuses a body that reaches MaxBodyBytes; one byte more makes a
	// body of exactly 64 KiB acceptable, as docs/contract.md promises.
	o.MaxBodyBytes = MaxBodyBytes + 1
	if o.Tags == nil {
		o.Tags = []string{"Sign-in"}
	}
	return o
}

// document adds a plain route to the OpenAPI document, so /openapi.json
// lists every route the server serves.
func (s *Server) document(o *huma.Operation, okSchema *huma.Schema, okType string) {
	if o.Responses == nil {
		o.Responses = map[string]*huma.Response{}
	}
	o.Responses["200"] = &huma.Response{Description: "OK", Content: map[string]*huma.MediaType{okType: {Schema: okSchema}}}
	s.plain[o.OperationID] = true
	s.api.OpenAPI().AddOperation(o)
}

// tidyDocument makes every operation list the statuses it answers and no
// other, once all are registered. huma lists 422 and 500 for every
// operation with errors; Gatehouse answers neither (a validation error is
// 400, and the one 500 is a panic, a bug no client should code against).
// Every huma operation reaches a store, whose failure is 503; one with a
// body refuses a malformed one (400) and another media type (415). An
// operation that declares no security is public, and says so with
// `security: []` rather than leaving the reader to guess.
func (s *Server) tidyDocument() {
	doc := s.api.OpenAPI()
	problem := func(status int, description string) *huma.Response {
		return &huma.Response{Description: description, Content: map[string]*huma.MediaType{
			"application/problem+json": {Schema: doc.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "")},
		}}
	}
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if o == nil {
				continue
			}
			if o.Security == nil {
				o.Security = []map[string][]string{}
			}
			if s.plain[o.OperationID] {
				continue
			}
			// huma lists 422 where a parameter or the body can fail its
			// schema (an ID too long, say): that is 400 here.
			_, validated := o.Responses["422"]
			delete(o.Responses, "422")
			delete(o.Responses, "500")
			if o.RequestBody != nil {
				validated = true
				if _, ok := o.Responses["415"]; !ok {
					o.Responses["415"] = problem(http.StatusUnsupportedMediaType, "The body is neither JSON nor a form (code invalid_request).")
				}
			}
			if _, ok := o.Responses["400"]; validated && !ok {
				o.Responses["400"] = problem(http.StatusBadRequest, "A field is not valid (code invalid_request, one errors entry per field).")
			}
			if _, ok := o.Responses["503"]; !ok {
				o.Responses["503"] = problem(http.StatusServiceUnavailable, "A backend (the database, Redis) is unavailable (code unavailable).")
			}
		}
	}
}
