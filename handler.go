package gatehouse

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/tracing"
	"github.com/gatehouse/gatehouse/internal/web"
)

// apiPaths are what the JSON API serves: /v1 and the well-known documents,
// and the operational routes (health, metrics, the API's documentation).
// Everything else is a page.
var apiPaths = []string{
	"/v1", "/v1/", "/.well-known/",
	"/healthz", "/readyz", "/metrics",
	"/openapi.json", "/openapi.yaml", "/openapi-3.0.json", "/openapi-3.0.yaml",
}

// apiDocs is the API's document as the pages' /docs index shows it.
func apiDocs(s *api.Server, base string) *web.APIDocs {
	info := s.OpenAPI().Info
	d := &web.APIDocs{Title: info.Title, Version: info.Version, Description: info.Description, Document: base + "/openapi.json"}
	for _, o := range s.Operations() {
		d.Operations = append(d.Operations, web.APIOperation(o))
	}
	return d
}

// pagePaths are the pages under /v1: the page an emailed link opens (its
// address is in every message sent, so it keeps its place under /v1).
var pagePaths = []string{"GET /v1/verify", "POST /v1/verify", "GET /v1/oauth/"}

// formPostCallback is the callback of a provider that posts its answer
// (Apple's response_mode=form_post). That POST comes from the provider's
// site by design, so the cross-origin protection, which would refuse it, is
// not in front of it: what protects it is the state, which must match the
// one sealed in this browser's cookie, and the single-use code redeemed
// with PKCE's verifier from that cookie. The pages answer 404 to a POST
// for a provider that does not post.
const formPostCallback = "POST /v1/oauth/{provider}/callback"

// frontDoor is the one http.Handler of the house: the middleware the API
// and the pages share, around the mux that sends each request to one of
// them. Neither surface knows the other's routes; this does.
//
// Under a base path (Config.BasePath) it answers only below it, and strips
// it before the mux: routes stay "/login", links carry the prefix.
func frontDoor(apiSrv *api.Server, pages *web.Server, metrics *api.Metrics, log *slog.Logger, trusted []string, proxies *httpauth.Proxies, base string) (http.Handler, error) {
	apiH, err := crossOrigin(apiSrv, trusted, http.HandlerFunc(api.Forbidden))
	if err != nil {
		return nil, err
	}
	pagesH, err := crossOrigin(pages, trusted, http.HandlerFunc(pages.Forbidden))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range apiPaths {
		mux.Handle(p, apiH)
	}
	// The check by its own pattern, straight to its handler: under "/v1/"
	// alone the mux's match is not exact, so it matches a second time to
	// see whether "/v1/check/" would redirect (each literal segment that
	// fails on the way allocates), and the API's own mux matches it once
	// more. The hot path takes one exact match.
	checkH, err := crossOrigin(apiSrv.Check(), trusted, http.HandlerFunc(api.Forbidden))
	if err != nil {
		return nil, err
	}
	mux.Handle(api.CheckPattern, checkH)
	for _, p := range pagePaths {
		mux.Handle(p, pagesH)
	}
	mux.Handle(formPostCallback, pages)
	mux.Handle("/", pagesH)
	return observe(underBase(base, mux), metrics, log, proxies), nil
}

// probePaths are answered at the root of the host even under a base path:
// a probe or a scraper asks the listening address (`gatehouse
// healthcheck`, a load balancer, Prometheus), which knows no prefix.
var probePaths = []string{"/healthz", "/readyz", "/metrics"}

// underBase serves next under base ("/auth"): a request for base+"/x"
// reaches it as "/x" (as http.StripPrefix would), base alone is sent on
// to base+"/", and anything else outside it is not found, so an app that
// forwards its whole host to Gatehouse does not expose the pages twice.
// An empty base is next itself.
func underBase(base string, next http.Handler) http.Handler {
	if base == "" {
		return next
	}
	notFound := http.NotFoundHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch rest, ok := strings.CutPrefix(r.URL.Path, base); {
		case ok && strings.HasPrefix(rest, "/"):
			r2 := new(http.Request)
			*r2 = *r
			r2.URL = new(url.URL)
			*r2.URL = *r.URL
			r2.URL.Path = rest
			r2.URL.RawPath = ""
			if raw, ok := strings.CutPrefix(r.URL.RawPath, base); ok {
				r2.URL.RawPath = raw
			}
			next.ServeHTTP(w, r2)
			// The mux set the route on the copy; the access log and the
			// metrics read it from r.
			r.Pattern = r2.Pattern
		case ok && rest == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			target := base + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
		case slices.Contains(probePaths, r.URL.Path):
			next.ServeHTTP(w, r)
		default:
			notFound.ServeHTTP(w, r)
		}
	})
}

// crossOrigin refuses state-changing requests from other sites (Go's
// CrossOriginProtection: Sec-Fetch-Site, else Origin against Host), except
// from the trusted origins (see trustedOrigins), exact or
// "https://*.example.com"; deny answers a refused one in its surface's
// terms (a problem, or a page).
func crossOrigin(next http.Handler, trusted []string, deny http.Handler) (http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	var patterns []string
	for _, origin := range trusted {
		if strings.Contains(origin, "://*.") {
			patterns = append(patterns, origin)
			continue
		}
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, err
		}
	}
	cop.SetDenyHandler(deny)
	checked := cop.Handler(next)
	if len(patterns) == 0 {
		return checked, nil
	}
	// CrossOriginProtection takes exact origins only; a pattern's
	// subdomains pass on their Origin header as an exact trusted origin
	// would (a browser sets it, and a page cannot).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && slices.ContainsFunc(patterns, func(p string) bool { return auth.OriginMatches(p, o) }) {
			next.ServeHTTP(w, r)
			return
		}
		checked.ServeHTTP(w, r)
	}), nil
}

// trustedOrigins are the origins whose pages may post to Gatehouse: the
// browser apps of GATEHOUSE_CORS_ORIGINS and, when the session cookie is
// shared with a parent domain (GATEHOUSE_COOKIE_DOMAIN), the allowed
// redirect origins under that domain: the apps that single sign-on joins
// (a "Sign out" button on app.example.com posts to auth.example.com).
func trustedOrigins(cfg Config) []string {
	out := slices.Clone(cfg.CORSOrigins)
	if cfg.CookieDomain == "" {
		return out
	}
	for _, o := range cfg.AllowedRedirects {
		u, err := url.Parse(strings.Replace(o, "://*.", "://", 1))
		if err != nil {
			continue
		}
		if h := strings.ToLower(u.Hostname()); (h == cfg.CookieDomain || strings.HasSuffix(h, "."+cfg.CookieDomain)) && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// statusWriter remembers the status for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	// id is the X-Request-Id header's value slice, allocated with the
	// writer rather than on its own.
	id [1]string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID returns the client's X-Request-Id when it is short and plain,
// else a new random one, so a request can be followed through proxies.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && plain(id) {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// nosniff is the X-Content-Type-Options value of every answer (shared:
// header value slices are only read).
var nosniff = []string{"nosniff"}

// observe is the outermost middleware: request id, client address (through
// the trusted proxies), one log
// line per request (method, route, status, duration: never a body, a query
// string or a header value, which may hold secrets), metrics, and recovery
// from panics as a 500 problem. Every answer is nosniff: none is meant to
// be read as anything but its Content-Type.
func observe(next http.Handler, metrics *api.Metrics, log *slog.Logger, proxies *httpauth.Proxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		sw := &statusWriter{ResponseWriter: w, id: [1]string{id}}
		// Canonical keys set directly: Set would check and canonicalize
		// them on every request.
		h := w.Header()
		h["X-Request-Id"] = sw.id[:]
		h["X-Content-Type-Options"] = nosniff
		r = proxies.WithClient(r)
		ctx := r.Context()
		ip := auth.ClientFrom(ctx).IP
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					api.Failed(sw, r)
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			// The innermost mux that served r set its pattern on r.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			metrics.ObserveRequest(route, r.Method, status, d)
			tracing.Finish(ctx, route, status)
			logRequest(ctx, log, time.Now(), &accessLine{id: id, method: r.Method, route: route, path: r.URL.Path, status: status, duration: d, ip: ip})
		}()
		next.ServeHTTP(sw, r)
	})
}
