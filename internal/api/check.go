package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// checkBody is the body of a /v1/check 200, besides its headers.
type checkBody struct {
	User    User    `json:"user"`
	Session Session `json:"session"`
}

// check is the hot path: every request of every application behind
// Gatehouse may pass through it (nginx auth_request, Traefik ForwardAuth,
// Caddy forward_auth). It is a plain handler, not a huma operation, to keep
// it to one token verification (usually cached) and one in-process session
// lookup. It never sets a cookie: a cookie session slides on the server
// side only.
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	p, err := s.principalOf(r)
	s.metrics.check(err)
	if err != nil {
		if login := s.signInRedirect(r, err); login != "" {
			h.Set("Location", login)
			if r.Header.Get("X-Original-URL") == "" {
				w.WriteHeader(http.StatusFound)
				return
			}
			// nginx's auth_request takes only 2xx, 401 and 403 from us
			// (anything else becomes its own 500), so where the original
			// URL came the nginx way the status stays 401 and the proxy
			// turns its Location into the redirect.
		}
		writeProblem(w, problemOf(r.Context(), s.log, err))
		return
	}
	h.Set("X-Auth-User-Id", p.User.ID)
	h.Set("X-Auth-Email", p.User.Email)
	// Whether the address is proven, as of now (the session's user, not a
	// token's copy): an app must not trust a typed address with anything
	// that matters, and the header lets it tell without asking us.
	h.Set("X-Auth-Email-Verified", strconv.FormatBool(p.User.EmailVerified))
	h.Set("X-Auth-Session-Id", p.Session.ID)
	// The roles and the assurance level as of now, always sent (roles
	// empty when there are none): a proxy that copies the header to the app
	// then overwrites whatever a client put in its own X-Auth-Roles.
	h.Set("X-Auth-Roles", rolesHeader(p))
	h.Set("X-Auth-AAL", p.Session.AAL)
	h.Set("Content-Type", "application/json")
	// The body is the same for as long as this view of the session is
	// cached: render it once, not on every request.
	b, _ := p.Memo(checkBodyKey{}, func() any {
		b, _ := json.Marshal(checkBody{User: userView(&p.User), Session: sessionView(&p.Session, true)})
		return b
	}).([]byte)
	_, _ = w.Write(b)
}

// rolesHeader returns p's roles comma-separated, joined once per cached
// view of the session rather than on every check.
func rolesHeader(p *auth.Principal) string {
	if len(p.User.Roles) == 0 {
		return ""
	}
	v, _ := p.Memo(rolesHeaderKey{}, func() any { return strings.Join(p.User.Roles, ",") }).(string)
	return v
}

// rolesHeaderKey is the key of the joined roles among a principal's memos.
type rolesHeaderKey struct{}

// checkBodyKey is the key of the rendered body among a principal's memos;
// being unexported, no other package can store anything under it.
type checkBodyKey struct{}

// maxOriginalURL bounds the URL a sign-in redirect carries back; the
// sign-in page ignores a longer redirect_to anyway.
const maxOriginalURL = 2048

// signInRedirect returns where to send a browser that asked a proxy for a
// page without a live session (err said so): the sign-in page, which
// returns it to the page afterwards. It returns "" (the status stays 401)
// when redirects are off, for API clients (an Authorization header, or an
// Accept without text/html), when no proxy forwarded the original URL or
// it is not a well-formed absolute http(s) URL, and for errors other than
// "not signed in" (a store that is down stays 503).
//
// Where the browser is sent is always Gatehouse's own sign-in page; the
// page only ever returns it to an allowed origin
// (GATEHOUSE_ALLOWED_REDIRECTS), so forged forwarded headers lead nowhere
// else.
func (s *Server) signInRedirect(r *http.Request, err error) string {
	if !s.o.ForwardAuthRedirect || s.o.SignInURL == "" || len(r.Header.Values("Authorization")) > 0 || !acceptsHTML(r.Header) {
		return ""
	}
	switch auth.KindOf(err) {
	case auth.KindUnauthorized, auth.KindTokenExpired, auth.KindTokenRevoked:
	default:
		return ""
	}
	orig := originalURL(r.Header)
	if orig == "" {
		return ""
	}
	return s.o.SignInURL + "?redirect_to=" + url.QueryEscape(orig)
}

// acceptsHTML reports an Accept header that lists text/html with a q other
// than 0. A bare */* does not count: fetch and curl send it too.
func acceptsHTML(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			typ, params, _ := strings.Cut(part, ";")
			typ = strings.ToLower(strings.TrimSpace(typ))
			if typ != "text/html" {
				continue
			}
			zero := false
			for param := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(param, "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
						zero = true
					}
				}
			}
			if !zero {
				return true
			}
		}
	}
	return false
}

// originalURL returns the URL a proxy asked about: X-Original-URL (the
// nginx convention, absolute), else X-Forwarded-Proto (https when absent)
// :// X-Forwarded-Host X-Forwarded-Uri (/ when absent), as Traefik and
// Caddy send them. It returns "" when no such header is present, and for
// a value with spaces or control characters, or that is not an absolute
// http(s) URL without user info on the forwarded host.
func originalURL(h http.Header) string {
	raw, host := h.Get("X-Original-URL"), ""
	if raw == "" {
		host = firstValue(h.Get("X-Forwarded-Host"))
		uri := h.Get("X-Forwarded-Uri")
		if host == "" && uri == "" {
			return "" // not a request a proxy forwarded
		}
		if uri == "" {
			uri = "/"
		}
		if !strings.HasPrefix(uri, "/") {
			return ""
		}
		proto := strings.ToLower(firstValue(h.Get("X-Forwarded-Proto")))
		if proto == "" {
			proto = "https"
		}
		raw = proto + "://" + host + uri
	}
	if len(raw) > maxOriginalURL || strings.IndexFunc(raw, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" || u.User != nil ||
		(host != "" && !strings.EqualFold(u.Host, host)) {
		return ""
	}
	return raw
}

// firstValue returns the first of a comma-separated header's values (the
// client-facing one when proxies are chained).
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// registerCheck registers /v1/check, the forward-auth target, and
// documents it.
func (s *Server) registerCheck() {
	s.mux.HandleFunc("GET /v1/check", s.check)
	reg := s.api.OpenAPI().Components.Schemas
	problem := &huma.Response{
		Description: "Not signed in, or the session has ended. For a browser navigation forwarded by nginx (X-Original-URL), " +
			"also the Location of the sign-in page, which the proxy turns into a redirect.",
		Headers: map[string]*huma.Header{
			"WWW-Authenticate": {Schema: &huma.Schema{Type: "string"}},
			"Location":         {Description: "Only for an nginx browser navigation: <public URL>/login?redirect_to=<the original URL>.", Schema: &huma.Schema{Type: "string"}},
		},
		Content: map[string]*huma.MediaType{
			"application/problem+json": {Schema: reg.Schema(reflect.TypeFor[Problem](), true, "")},
		},
	}
	found := &huma.Response{
		Description: "A browser navigation forwarded by Traefik or Caddy without a live session: go and sign in. No body.",
		Headers: map[string]*huma.Header{
			"Location": {Description: "<public URL>/login?redirect_to=<the original URL>", Schema: &huma.Schema{Type: "string"}},
		},
	}
	o := &huma.Operation{
		OperationID: "check", Method: http.MethodGet, Path: "/v1/check", Tags: []string{"For other applications"},
		Summary: "Who is signed in (forward-auth target)",
		Description: "Validates a Bearer access token (signature, expiry, and the session still live) or the session cookie. " +
			"200 with headers X-Auth-User-Id, X-Auth-Email, X-Auth-Email-Verified (true when the address is proven, else false), X-Auth-Session-Id, X-Auth-Roles (the user's roles comma-separated, empty when none), X-Auth-AAL (aal1, or aal2 after a second factor) (on 200 only); 401 otherwise. Roles are read as of now: a change reaches the check at once, without a new sign-in. Revocation takes effect at once on the node that revoked. " +
			"Use it as the nginx auth_request, Traefik ForwardAuth or Caddy forward_auth target. Every answer is Cache-Control: no-store, and none sets a cookie " +
			"(a cookie session's expiry slides on the server).\n\n" +
			"Browser navigations: when GATEHOUSE_FORWARD_AUTH_REDIRECT is on (the default), a request without a live session that has no Authorization header, " +
			"whose Accept lists text/html and that a proxy forwarded (X-Original-URL, X-Forwarded-Host or X-Forwarded-Uri present) is sent to sign in: " +
			"302 with Location <public URL>/login?redirect_to=<the original URL, query-escaped>. The original URL is X-Original-URL if present, else " +
			"X-Forwarded-Proto (default https) :// X-Forwarded-Host X-Forwarded-Uri (default /). When it came in X-Original-URL the status stays 401 with the " +
			"same Location, because nginx's auth_request accepts only 2xx, 401 and 403 (its configuration maps that 401 to the redirect). " +
			"A value with spaces or control characters, or that is not an absolute http(s) URL on the forwarded host, gets the plain 401. " +
			"Any Authorization header, or an Accept without text/html (fetch with application/json, curl's */*), always gets 401: API clients are never redirected. " +
			"The sign-in page returns the browser only to an allowed origin (GATEHOUSE_ALLOWED_REDIRECTS).",
		Security: userSecurity,
		Responses: map[string]*huma.Response{"302": found, "401": problem, "503": {
			Description: "The session store does not answer (code unavailable): the proxy should refuse the request, not let it through.",
			Content:     problem.Content,
		}},
	}
	s.document(o, reg.Schema(reflect.TypeFor[checkBody](), true, ""), "application/json")
	o.Responses["200"].Headers = map[string]*huma.Header{
		"X-Auth-User-Id":        {Schema: &huma.Schema{Type: "string"}},
		"X-Auth-Email":          {Schema: &huma.Schema{Type: "string"}},
		"X-Auth-Email-Verified": {Description: "true when the user has proven the address, else false", Schema: &huma.Schema{Type: "string", Enum: []any{"true", "false"}}},
		"X-Auth-Session-Id":     {Schema: &huma.Schema{Type: "string"}},
		"X-Auth-Roles":          {Description: "The user's role names as of now, sorted and comma-separated; empty (but present) when the user has none.", Schema: &huma.Schema{Type: "string"}},
		"X-Auth-AAL":            {Description: "The session's assurance level: aal2 after a second factor, else aal1.", Schema: &huma.Schema{Type: "string", Enum: []any{"aal1", "aal2"}}},
	}
}
