// Package web serves Gatehouse's pages: sign-in, sign-up, recovery, the
// second-factor step, the account page and the admin page. They are
// server-rendered html/template pages that work with JavaScript off (plain
// form posts and redirects); htmx, served from embedded files, only makes
// them smoother (partial swaps, inline errors). Handlers parse a form, call
// one flow of package auth, and render, like package api does for JSON.
//
// A file per page registers its routes: signin.go (/login and its steps),
// mfa.go (the second-factor step), signup.go, recover.go, logout.go,
// verify.go (the page an emailed link opens; verify_email.go for a link
// that proves an email), account.go with a file per card or part of one
// (account_email.go, account_phone.go, account_sessions.go,
// account_factors.go, account_password.go), passkeys.go (the passkeys
// card, and the JSON endpoints static/passkey.js calls to sign in with a
// passkey and to add one), passkey_steps.go (those of the passkey
// sign-up on /signup and of the passkey at the second-factor step),
// admin.go and docs.go. web.go holds the Server
// and what every page shares; render.go the templates and static files.
package web

// The browser libraries are copies of the npm packages pinned in the
// repository's package.json (CI reruns these and fails on a difference).
// @simplewebauthn/browser's UMD build is a plain external script, so it runs
// under the pages' script-src 'self'; it is the fallback for browsers
// without PublicKeyCredential's own JSON methods. Its MIT licence is kept
// beside the package, outside static/, so it is not served.
//
//go:generate cp ../../node_modules/htmx.org/dist/htmx.min.js static/htmx.min.js
//go:generate cp ../../node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js static/simplewebauthn-browser.umd.min.js
//go:generate cp ../../node_modules/@simplewebauthn/browser/LICENSE.md simplewebauthn-browser.LICENSE.md

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// Options configure a Server.
type Options struct {
	// Auth runs the flows every page calls; it is required.
	Auth *auth.Service
	// AppName is shown in titles and headings (GATEHOUSE_APP_NAME).
	AppName string
	// PublicURL is Gatehouse's own origin.
	PublicURL string
	// BasePath is the path prefix the pages are served under ("/auth"),
	// or "" at the root. The handler serves them at their own paths
	// ("/login": whoever mounts it strips the prefix); every link, form,
	// asset and redirect the pages make carries it.
	BasePath string
	// Cookies names and flags the session cookie.
	Cookies httpauth.CookiePolicy
	// AllowedRedirects are the origins a sign-in may return the browser
	// to; the pages' Content-Security-Policy allows forms to lead there.
	AllowedRedirects []string
	// Admin backs the admin page (users, sessions, deliveries); nil
	// turns the page off.
	Admin AdminStore
	// APIDocs is shown at /docs; nil turns the page off.
	APIDocs *APIDocs
	// Providers are the providers people may sign in with (each a
	// "Continue with" button on /login and /signup); none turns the
	// /v1/oauth/ routes off.
	Providers []Provider
	// Sealer seals the provider sign-in's state cookie; it is required
	// with Providers.
	Sealer Sealer
	// Now is the clock of the state cookie's expiry (the flows' clock);
	// nil is the system clock.
	Now func() time.Time
	// Logger gets the failures that are not the visitor's; nil discards
	// them.
	Logger *slog.Logger
}

// maxFormBytes bounds a posted form like the API's bodies (64 KiB); the
// largest real one (the authenticator confirmation) is well under a
// kilobyte.
const maxFormBytes = 64 << 10

// AdminStore is what the admin page reads beyond the flows: recent
// deliveries (masked, never their content) and a user's audit events.
type AdminStore interface {
	ListMessages(ctx context.Context, status, before string, limit int) ([]auth.Message, error)
	AuditEvents(ctx context.Context, userID, before string, limit int) ([]auth.AuditEvent, error)
}

// Server serves the pages. It is an http.Handler.
type Server struct {
	o    Options
	auth *auth.Service
	log  *slog.Logger
	mux  *http.ServeMux
	tpl  *templates
	csp  string
	// sessions finds the signed-in user of a request's cookie.
	sessions httpauth.Sessions
}

// New parses the templates and registers every page.
func New(o Options) (*Server, error) {
	if o.Auth == nil {
		return nil, errors.New("web: Options.Auth is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.AppName == "" {
		o.AppName = o.Auth.Config().AppName
	}
	tpl, err := parseTemplates(o.BasePath)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, auth: o.Auth, log: o.Logger, mux: http.NewServeMux(), tpl: tpl, csp: contentSecurityPolicy(o.AllowedRedirects),
		sessions: httpauth.Sessions{Auth: o.Auth, Cookies: o.Cookies}}
	s.mux.Handle("GET /static/", staticHandler())
	s.registerSignIn()
	s.registerMFA()
	s.registerStepUp()
	s.registerSignUp()
	s.registerRecover()
	s.registerLogout()
	s.registerVerify()
	s.registerDocs()
	s.registerAccount()
	s.registerPasskeys()
	s.registerPasskeySteps()
	s.registerAdmin()
	s.registerOAuth()
	s.mux.HandleFunc("/", s.notFound)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		securityHeaders(w.Header(), s.csp)
	}
	s.mux.ServeHTTP(w, r)
}

// Forbidden writes the page that refuses a state-changing request from
// another site; the cross-origin protection calls it.
func (s *Server) Forbidden(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header(), s.csp)
	s.render(w, r, http.StatusForbidden, "error", errorView{
		Title:   "Request refused",
		Message: "This form was sent from another site, so it was refused. Go back to the page on this site and try again.",
	})
}

// notFound renders the page of an address no route matched.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "error", errorView{Title: "Page not found", Message: "There is no page at this address."})
}

// contentSecurityPolicy allows nothing inline and nothing from elsewhere,
// except that forms may lead to the allowed redirect origins (a sign-in
// form's response is a redirect there, which form-action governs).
func contentSecurityPolicy(redirects []string) string {
	formAction := "'self'"
	for _, o := range redirects {
		if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

// securityHeaders are on every page. Pages carry codes, tokens in links
// and personal data: none is cached, none leaks through a Referer. (The
// root makes every response nosniff, pages and static files included.)
func securityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// client describes the browser for sessions and throttling.
func client(r *http.Request) auth.Client { return httpauth.ClientOf(r) }

// principal returns the signed-in user of r's session cookie, or nil.
func (s *Server) principal(r *http.Request) (*auth.Principal, error) {
	return s.sessions.CookiePrincipal(r)
}

// signedIn wraps a handler that needs a signed-in user: without one the
// browser goes to /login and comes back here afterwards.
func (s *Server) signedIn(next func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if p == nil {
			back := s.path(r.URL.RequestURI()) // r's path is below the base path
			if r.Method != http.MethodGet {
				back = s.path("/")
			}
			s.redirect(w, r, s.path("/login?redirect_to="+url.QueryEscape(back)))
			return
		}
		next(w, r.WithContext(httpauth.WithPrincipal(r.Context(), p)), p)
	}
}

// startSession sets the cookie of a finished browser sign-in and sends the
// browser on; a sign-in that needs a second factor goes to that step.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, res *auth.Grant) {
	if res.MFA != nil {
		s.renderMFA(w, r, http.StatusOK, res.MFA, "")
		return
	}
	s.setSession(w, res)
	s.redirect(w, r, res.RedirectTo)
}

// setSession sets the session cookie of a finished browser sign-in.
func (s *Server) setSession(w http.ResponseWriter, res *auth.Grant) {
	http.SetCookie(w, s.o.Cookies.New(res.Cookie, res.Session.AbsoluteExpiresAt))
	// Only where the cookie can be lost that way: a Secure cookie for a
	// public URL on plain http (signInMarkerName).
	if !s.o.Cookies.Insecure && strings.HasPrefix(s.o.PublicURL, "http://") {
		http.SetCookie(w, signInMarker())
	}
}

// signIn ends a sign-in step's proof on ch, for the request's client, and
// answers the browser (startSession). It returns the error of a step or
// finish that failed, having written nothing, for the page to explain; nil
// means the response is written.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, ch auth.Channel) func(*auth.Proof, error) error {
	return func(p *auth.Proof, err error) error {
		if err != nil {
			return err
		}
		res, err := s.auth.Finish(r.Context(), p, client(r), ch)
		if err != nil {
			return err
		}
		s.startSession(w, r, res)
		return nil
	}
}

// path returns the URL of page p of this site ("/login"): p under the
// base path. Every redirect to a page of this site goes through it.
func (s *Server) path(p string) string { return s.o.BasePath + p }

// cookie is the browser channel of a sign-in that returns to target, or
// when nothing asked for a place, to the start page under the base path.
// Passing that on explicitly keeps the flows' own default ("/", the root
// of the host) out of the pages' redirects.
func (s *Server) cookie(target string) auth.Channel {
	if target == "" {
		target = s.path("/")
	}
	return auth.Cookie(target)
}

// redirect sends the browser to target: 303 for a plain request, and for
// htmx an HX-Redirect, which makes it load the page in full.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// isHTMX reports a request made by htmx, which wants a fragment back.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// errorView is the page of an error that has no form to go back to.
type errorView struct {
	Title, Message string
	// Back and BackText are the page's way on ("/" and "Go to the start
	// page" when empty).
	Back, BackText string
}

// fail renders an error the flows returned where no form can show it.
// Errors that are not the client's are logged and shown in general terms.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg, _ := s.explain(r, err)
	s.render(w, r, httpauth.Status(auth.KindOf(err)), "error", errorView{Title: "Something went wrong", Message: msg})
}

// explain returns what to tell the person about err: the flows' message
// and per-field messages for their own errors, a general sentence (and a
// log line) for anything else.
func (s *Server) explain(r *http.Request, err error) (string, map[string]string) {
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Kind == "" {
		s.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		return "Something went wrong on our side. Please try again in a moment.", nil
	}
	if ae.Kind == auth.KindUnavailable {
		s.log.WarnContext(r.Context(), "page unavailable", "path", r.URL.Path, "err", err)
	}
	var fields map[string]string
	if len(ae.Fields) > 0 {
		fields = make(map[string]string, len(ae.Fields))
		for _, f := range ae.Fields {
			fields[f.Field] = fieldLabel(f.Field) + " " + f.Message
		}
	}
	msg := ae.Message
	if ae.RetryAfter > 0 {
		msg = fmt.Sprintf("%s (Try again in %s.)", strings.TrimSuffix(msg, "."), humanWait(ae.RetryAfter.Seconds()))
	}
	return msg, fields
}

// fieldLabel names a form field in a sentence.
func fieldLabel(field string) string {
	switch field {
	case "email":
		return "Email"
	case "phone":
		return "Phone"
	case "password", "new_password", "current_password":
		return "Password"
	case "code":
		return "Code"
	case "name":
		return "Name"
	}
	return strings.ToUpper(field[:1]) + strings.ReplaceAll(field[1:], "_", " ")
}

// humanWait returns a wait in words ("5 minutes"), rounded up so the
// person never tries again too soon.
func humanWait(seconds float64) string {
	switch n := int(seconds + 0.999); {
	case n < 60:
		if n == 1 {
			return "a second"
		}
		return fmt.Sprintf("%d seconds", n)
	case n < 3600:
		if m := (n + 59) / 60; m > 1 {
			return fmt.Sprintf("%d minutes", m)
		}
		return "a minute"
	default:
		return fmt.Sprintf("%d hours", (n+3599)/3600)
	}
}
