package api

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/access"
)

// checkBody is the body of a /v1/check 200, besides its headers.
type checkBody struct {
	User    User    `json:"user"`
	Session Session `json:"session"`
}

// check is the hot path: every request of every application behind
// Gatehouse may pass through it (nginx auth_request, Traefik ForwardAuth,
// Caddy forward_auth). It is a plain handler, not a huma operation, to keep
// it to one token verification (usually cached), one in-process session
// lookup and, with access rules, one Decide that allocates nothing. It
// never sets a cookie: a cookie session slides on the server side only.
// anonymousHeaders are the headers an anonymous pass sends empty (set
// once, shared: a header map's values are only read).
var (
	anonymousHeaders = []string{"X-Auth-User-Id", "X-Auth-Email", "X-Auth-Email-Verified", "X-Auth-Session-Id", "X-Auth-Roles", "X-Auth-Aal"}
	emptyHeader      = []string{""}
)

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Cache-Control"] = noStore
	p, err := s.principalOf(r)
	s.metrics.check(err)
	switch d := s.decide(r, p, err); d.Outcome {
	case access.Allow:
		if err != nil {
			// allow: anyone, and no one (or no one we could look up) is
			// signed in: through, saying no one. Every X-Auth-* header is
			// sent, empty: a proxy that copies them to the app (Traefik's
			// authResponseHeaders) replaces the client's own copies rather
			// than letting a forged X-Auth-User-Id reach the app.
			for _, k := range anonymousHeaders {
				h[k] = emptyHeader
			}
			w.WriteHeader(http.StatusOK)
			return
		}
	case access.StepUp:
		s.stepUp(w, r)
		return
	case access.Forbid:
		s.forbid(w, r, d)
		return
	default: // access.SignIn: err says why no one is signed in
		if login := s.signInRedirect(r, err); login != "" {
			if s.redirectBrowser(w, r, login) {
				return
			}
		}
		writeProblem(w, problemOf(r.Context(), s.log, err))
		return
	}
	// Every header of a 200 and its body depend on the session view
	// alone: they are built once per cached view (answerOf), and a check
	// writes them into the header map with canonical keys and shared value
	// slices, without Set's canonicalization and a slice per header.
	a := answerOf(p)
	h["X-Auth-User-Id"] = a.userID
	h["X-Auth-Email"] = a.email
	// Whether the address is proven, as of now (the session's user, not a
	// token's copy): an app must not trust a typed address with anything
	// that matters, and the header lets it tell without asking us.
	h["X-Auth-Email-Verified"] = a.emailVerified
	h["X-Auth-Session-Id"] = a.sessionID
	// The roles and the assurance level as of now, always sent (roles
	// empty when there are none): a proxy that copies the header to the app
	// then overwrites whatever a client put in its own X-Auth-Roles.
	h["X-Auth-Roles"] = a.roles
	h["X-Auth-Aal"] = a.aal
	h["Content-Type"] = jsonContentType
	_, _ = w.Write(a.body)
}

// checkAnswer is the 200 of the check for one cached view of a session:
// the value of each X-Auth-* header and the body. Its slices go into the
// header maps of every response that sends them, so they are only read,
// never written (a header map's Set and Add replace or append, neither
// writes into a value slice it was given).
type checkAnswer struct {
	userID, email, emailVerified, sessionID, roles, aal []string
	body                                                []byte
}

// answerOf returns p's checkAnswer, built once per cached view of the
// session rather than on every check.
func answerOf(p *auth.Principal) *checkAnswer {
	a, _ := p.Memo(checkAnswerKey{}, func() any {
		body, _ := json.Marshal(checkBody{User: userView(&p.User), Session: sessionView(&p.Session, true)})
		return &checkAnswer{
			userID:        []string{p.User.ID},
			email:         []string{p.User.Email},
			emailVerified: []string{strconv.FormatBool(p.User.EmailVerified)},
			sessionID:     []string{p.Session.ID},
			roles:         []string{strings.Join(p.User.Roles, ",")},
			aal:           []string{p.Session.AAL},
			body:          body,
		}
	}).(*checkAnswer)
	return a
}

// Header values the check sends as they are (shared, only read).
var (
	noStore         = []string{"no-store"}
	jsonContentType = []string{"application/json"}
)

// redirectBrowser sends a browser navigation to location: 302 for
// Traefik and Caddy, and done. Where the original URL came the nginx way
// (X-Original-URL) it only sets Location and leaves the answer to the
// caller (a 401, not done): nginx's auth_request takes only 2xx, 401 and 403 from
// us (anything else becomes its own 500), and its configuration turns
// the Location of that 401 into the redirect.
func (s *Server) redirectBrowser(w http.ResponseWriter, r *http.Request, location string) (done bool) {
	w.Header().Set("Location", location)
	if r.Header.Get("X-Original-URL") != "" {
		return false
	}
	w.WriteHeader(http.StatusFound)
	return true
}

// decide applies the access rules to the request a proxy forwarded, for
// the principal p (none when err says why not). A direct call (no
// forwarded host: an app or a script asking who a token is) applies no
// rules: being signed in is enough, as it is without a rules file.
// Forwarded headers that cannot be read, or that disagree, are refused
// (access.UnmetPath) rather than guessed at, once there are rules.
func (s *Server) decide(r *http.Request, p *auth.Principal, err error) access.Decision {
	var subject *access.Subject
	if err == nil {
		sub := subjectOf(p)
		subject = &sub
	}
	var rules *access.Rules
	if s.o.Access != nil {
		rules = s.o.Access.Rules()
	}
	if rules.Len() > 0 {
		host, uri, ok := forwardedTarget(r.Header)
		if !ok {
			return access.Decision{Outcome: access.Forbid, Unmet: access.UnmetPath}
		}
		if host != "" {
			return rules.Decide(host, uri, subject)
		}
	}
	if subject == nil {
		return access.Decision{Outcome: access.SignIn}
	}
	return access.Decision{Outcome: access.Allow}
}

// subjectOf is what the access rules know of a signed-in principal: the
// session's assurance level, whether the user's address is proven, and
// the user's roles as stored now (the session view's, shared and never
// written, so the check allocates nothing for them). It is the one place
// that says so.
func subjectOf(p *auth.Principal) access.Subject {
	return access.Subject{AAL2: p.Session.AAL == auth.AAL2, EmailVerified: p.User.EmailVerified, Roles: p.User.Roles}
}

// forwardedTarget returns the host and URI (path and query) of the
// request a proxy asks about, as the proxies send them: X-Original-URL
// (nginx; an absolute URL), else X-Forwarded-Host and X-Forwarded-Uri
// (Traefik, Caddy; "/" when the URI is absent; of comma-separated values
// the first). host is "" for a direct call, which names no host.
//
// ok is false when the request cannot be read: an X-Original-URL that is
// not scheme://host/..., a forwarded URI that is not a path, or both
// conventions present and naming different requests. Each proxy passes
// the client's own headers on to the check and sets only its own, so a
// client could add the other convention's header (an X-Original-URL
// through Traefik, an X-Forwarded-Uri through nginx) to be judged as
// another page; when they disagree, one of them is forged, and the check
// refuses rather than picks.
func forwardedTarget(h http.Header) (host, uri string, ok bool) {
	// The canonical spelling, which h.Get finds without allocating.
	orig := h.Get("X-Original-Url")
	fHost, fURI := firstValue(h.Get("X-Forwarded-Host")), h.Get("X-Forwarded-Uri")
	if orig == "" {
		if fHost == "" {
			return "", "", true
		}
		if fURI == "" {
			fURI = "/"
		}
		return fHost, fURI, fURI[0] == '/'
	}
	_, rest, found := strings.Cut(orig, "://")
	if !found {
		return "", "", false
	}
	host, uri = rest, "/"
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, uri = rest[:i], rest[i:]
		if uri[0] != '/' {
			uri = "/" + uri
		}
	}
	if host == "" || strings.IndexByte(host, '@') >= 0 ||
		fHost != "" && !strings.EqualFold(withoutPort(fHost), withoutPort(host)) ||
		fURI != "" && fURI != uri {
		return "", "", false
	}
	return host, uri, true
}

// withoutPort is host without its :port, if it has one.
func withoutPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host[i:], ']') < 0 {
		return host[:i]
	}
	return host
}

// stepUp answers a request signed in at aal1 that a rule asks aal2 of:
// 401 with the code aal2_required. It is the one place that decides where
// a browser goes to step up: with a step-up page (Options.StepUpURL) the
// browser is sent there as to sign in; without one it gets a page saying
// to sign in again with a second factor. It is not sent to the sign-in
// page: that page sends a signed-in browser straight back, and the check
// would send it there again, in a loop.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request) {
	const detail = "This page needs a session with your second factor: step up (POST /v1/mfa/step-up, or the step-up page in a browser) " +
		"or sign in again and finish with it (an account without one adds it on its account page first)."
	if s.o.StepUpURL != "" && s.o.ForwardAuthRedirect && browserNavigation(r.Header) {
		if orig := originalURL(r.Header); orig != "" {
			if s.redirectBrowser(w, r, s.o.StepUpURL+"?redirect_to="+url.QueryEscape(orig)) {
				return
			}
		}
	}
	// RFC 9470's answer to a token short of the assurance needed.
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication"`)
	if browserNavigation(r.Header) {
		writeRefusalPage(w, http.StatusUnauthorized, "A second factor is needed", detail)
		return
	}
	p := newProblem(http.StatusUnauthorized, CodeAAL2Required, detail)
	writeProblem(w, p)
}

// CodeAAL2Required is the problem code of a check refused for want of a
// second factor on the session (a rule's require: {aal: aal2}): the
// client steps up (POST /v1/mfa/step-up) or signs in again with its
// second factor.
const CodeAAL2Required = "aal2_required"

// forbid answers a request a rule refuses whoever asks again: 403, a
// short page for a browser, a forbidden problem otherwise, each naming
// the requirement that was not met.
func (s *Server) forbid(w http.ResponseWriter, r *http.Request, d access.Decision) {
	title, msg := refusalOf(d)
	rule, line := 0, 0
	if d.Rule != nil {
		rule, line = d.Rule.N, d.Rule.Line
	}
	s.log.DebugContext(r.Context(), "access refused", "unmet", string(d.Unmet), "rule", rule, "line", line)
	if browserNavigation(r.Header) {
		writeRefusalPage(w, http.StatusForbidden, title, msg)
		return
	}
	writeProblem(w, newProblem(http.StatusForbidden, string(auth.KindForbidden), msg))
}

// refusalOf words a Forbid for a person: a title and a sentence that
// names the requirement.
func refusalOf(d access.Decision) (title, msg string) {
	switch d.Unmet {
	case access.UnmetRoles:
		roles := d.Rule.Require.Roles
		if len(roles) == 1 {
			return "Not for your account", "This page is for accounts with the role " + roles[0] + ", and yours does not have it."
		}
		return "Not for your account", "This page is for accounts with one of the roles " + strings.Join(roles, ", ") + ", and yours has none of them."
	case access.UnmetEmailVerified:
		return "Prove your email address first", "This page needs a proven email address, and yours is not proven yet. " +
			"Sign in with a code or a link sent to your address to prove it, then come back."
	case access.UnmetDeny:
		return "Not open", "No one may open this page."
	}
	return "Not a readable address", "The address of this request cannot be read safely (a bad escape, a backslash, " +
		"or forwarded headers that disagree), so it is refused."
}

// browserNavigation reports a browser opening a page: no Authorization
// header (an API client's) and an Accept that lists text/html.
func browserNavigation(h http.Header) bool {
	return len(h.Values("Authorization")) == 0 && acceptsHTML(h)
}

// refusalPage is the short page a browser gets when the check refuses it
// (status, title, words); the proxy shows it as is (Traefik, Caddy).
var refusalPage = template.Must(template.New("refused").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p></main></body></html>
`))

// writeRefusalPage writes refusalPage. The page has no script, style or
// image, so its policy allows nothing, and no site may frame it.
func writeRefusalPage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = refusalPage.Execute(w, struct{ Title, Message string }{title, msg})
}

// checkAnswerKey is the key of the check's answer among a principal's
// memos; being unexported, no other package can store anything under it.
type checkAnswerKey struct{}

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
// http(s) URL without user info on the forwarded host, and when both
// conventions are present and name different requests.
func originalURL(h http.Header) string {
	if _, _, ok := forwardedTarget(h); !ok {
		// The two conventions name different requests, so one was forged
		// (forwardedTarget): the access rules refuse such a request, and
		// the sign-in and step-up redirects go nowhere either.
		return ""
	}
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

// CheckPattern is the route of the check (a net/http pattern).
const CheckPattern = "GET /v1/check"

// registerCheck registers /v1/check, the forward-auth target, and
// documents it.
func (s *Server) registerCheck() {
	s.mux.HandleFunc(CheckPattern, s.check)
	reg := s.api.OpenAPI().Components.Schemas
	problem := &huma.Response{
		Description: "Not signed in, or the session has ended (unauthorized, token_expired, token_revoked), or signed in at aal1 where an access rule asks aal2 " +
			"(aal2_required; a text/html page for a browser). For a browser navigation forwarded by nginx (X-Original-URL) without a session, " +
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
			"The sign-in page returns the browser only to an allowed origin (GATEHOUSE_ALLOWED_REDIRECTS).\n\n" +
			"Access rules (GATEHOUSE_ACCESS_RULES_FILE): for a request a proxy forwarded (a host in X-Original-URL or X-Forwarded-Host), the first rule " +
			"whose host and path match decides. allow: anyone answers 200 without a session (then with every X-Auth-* header empty, so a proxy copying them replaces a client's own, and no body); deny answers 403; " +
			"require: roles or email_verified unmet answers 403 naming the requirement (a short HTML page for a browser, a forbidden problem otherwise); " +
			"require: aal: aal2 for a session at aal1 answers 401 aal2_required with WWW-Authenticate error=\"insufficient_user_authentication\" " +
			"(a page for a browser: sign in again with a second factor). Without a session, a rule that needs one answers as above (401, or the sign-in redirect). " +
			"A path is judged decoded and cleaned (/public/../admin is /admin); one that cannot be read (a bad escape, a backslash, a NUL), or " +
			"X-Original-URL and X-Forwarded-Host/-Uri naming different requests, answers 403. A call with no forwarded host applies no rule.",
		Security: userSecurity,
		Responses: map[string]*huma.Response{"302": found, "401": problem, "403": {
			Description: "An access rule refuses the request (deny, a role, a proven email, or a path that cannot be read): a forbidden problem naming the requirement, " +
				"or for a browser (Accept with text/html, no Authorization) a short HTML page saying the same.",
			Content: map[string]*huma.MediaType{
				"application/problem+json": problem.Content["application/problem+json"],
				"text/html":                {Schema: &huma.Schema{Type: "string"}},
			},
		}, "503": {
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
