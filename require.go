package gatehouse

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
)

// The guards (RequireAuth, RequireAAL2, RequireRole) answer two kinds of
// caller. A browser navigating to a page (GET or HEAD, text/html in its
// Accept, no Authorization header) is sent to the sign-in page and back,
// or shown a page saying what it lacks. Anything else is an API client
// and gets the API's problems (application/problem+json). A POST is never
// redirected: a form cannot be replayed after a sign-in.

// principalKey holds the principal an outer guard found, so that nested
// guards (RequireAAL2 around RequireRole) authenticate a request once.
type principalKey struct{}

// need decides whether a signed-in principal may go on: nil when it may,
// else what to tell it. An error is a backend that could not be asked.
type need func(r *http.Request, p *auth.Principal) (*refusal, error)

// refusal is a signed-in request turned away: always 403, with words for
// a person (Title and Message on the page, Message in the problem).
type refusal struct {
	Title, Message string
	// stepUp: a second factor on this session would let it through, so a
	// browser's page request goes to the step-up page and back instead.
	stepUp bool
}

// guard runs h for requests signed in with a Bearer access token or the
// session cookie that need (nil: any) lets through, with the user in the
// context for UserFrom.
func (g *Gatehouse) guard(h http.Handler, need need) http.Handler {
	serve := func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if need != nil {
			ref, err := need(r, p)
			if err != nil {
				g.log.ErrorContext(r.Context(), "guard failed", "err", err)
				writeProblem(w, http.StatusServiceUnavailable, string(auth.KindUnavailable), "A backend is unavailable; try again shortly.")
				return
			}
			if ref != nil {
				g.refuse(w, r, ref)
				return
			}
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = context.WithValue(ctx, userKey{}, userOf(p))
		h.ServeHTTP(w, r.WithContext(ctx))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(principalKey{}).(*auth.Principal); ok {
			serve(w, r, p)
			return
		}
		p, err := g.sessions.Principal(r)
		if err == nil {
			serve(w, r, p)
			return
		}
		if target := g.signInRedirect(r, err); target != "" {
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		// The API answers the rest as it answers its own routes: a 401
		// problem, or 503 when the store is down. It looks again, so a
		// session that became valid meanwhile goes on.
		g.api.RequireAuth(serve).ServeHTTP(w, r)
	})
}

// userOf is the plain copy of p that UserFrom hands out.
func userOf(p *auth.Principal) User {
	return User{
		ID: p.User.ID, Email: p.User.Email, Name: p.User.Name,
		SessionID: p.Session.ID, AAL: p.Session.AAL, AMR: slices.Clone(p.Session.AMR),
		Roles: rolesOf(&p.User),
	}
}

// rolesOf lists u's roles as stored now (a copy: the principal's view is
// shared by every request of the session), nil when there are none.
func rolesOf(u *auth.User) []string {
	return slices.Clone(u.Roles)
}

// RoleAdmin is the administrators' role: the /admin pages, and whatever an
// application guards with RequireRole(RoleAdmin, h).
const RoleAdmin = auth.RoleAdmin

// RequireAAL2 is RequireAuth for handlers that need a session signed in
// with a second factor (assurance level aal2, as an access token's aal
// claim says). A browser asking for a page (GET or HEAD) at aal1 goes to
// the step-up page, which raises its session to aal2 with the second
// factor and comes back (303, the return address through the one
// redirect rule, as RequireAuth's). Other requests at aal1 are refused
// with 403: API clients get a forbidden problem that says to step up
// (POST /v1/mfa/step-up), browsers a page. An account without a second
// factor is refused with words that say to add one on the account page
// first. Requests not signed in are answered as RequireAuth answers them.
func (g *Gatehouse) RequireAAL2(h http.Handler) http.Handler {
	return g.guard(h, func(r *http.Request, p *auth.Principal) (*refusal, error) {
		if p.Session.AAL == auth.AAL2 {
			return nil, nil
		}
		kinds, _, err := g.auth.Factors(r.Context(), p)
		if err != nil {
			return nil, err
		}
		if len(kinds) == 0 {
			return &refusal{Title: "A second factor is needed",
				Message: "This page needs a sign-in with a second factor, and your account has none. " +
					"Add one (an authenticator app, a code by email or a passkey) on your account page, then come back: you will be asked for it."}, nil
		}
		return &refusal{Title: "A second factor is needed", stepUp: true,
			Message: "This needs a session signed in with your second factor: step up (POST /v1/mfa/step-up; in a browser, the /step-up page) or sign in again with it."}, nil
	})
}

// RequireRole is RequireAuth for handlers that need the signed-in user to
// have the role name (RoleAdmin, or any role an admin gave). Others
// are refused with 403: a forbidden problem for API clients, a page for
// browsers. It checks the role only: wrap it in RequireAAL2 when the
// handler also needs a second factor. Roles are read from the session's
// view of the user, which a change of role by an administrator refreshes
// at once. An empty name is a programming error and panics.
func (g *Gatehouse) RequireRole(name string, h http.Handler) http.Handler {
	if strings.TrimSpace(name) == "" {
		panic("gatehouse: RequireRole needs a role name")
	}
	return g.guard(h, func(_ *http.Request, p *auth.Principal) (*refusal, error) {
		if slices.Contains(rolesOf(&p.User), name) {
			return nil, nil
		}
		return &refusal{Title: "Not for your account",
			Message: "This page is for accounts with the " + name + " role, and yours does not have it."}, nil
	})
}

// refuse answers a signed-in request a guard turned away: a page for a
// browser, a forbidden problem otherwise.
func (g *Gatehouse) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	if ref.stepUp && pageRequest(r) {
		http.Redirect(w, r, g.withReturnAddress(g.cfg.PublicURL+"/step-up", r), http.StatusSeeOther)
		return
	}
	if wantsPage(r) {
		g.pages.Refused(w, r, ref.Title, ref.Message)
		return
	}
	writeProblem(w, http.StatusForbidden, string(auth.KindForbidden), ref.Message)
}

// writeProblem writes an RFC 9457 problem as the API writes its own.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
}

// signInRedirect returns where to send a browser that asked for a page
// without a live session (err said so): the sign-in page, with the page
// it asked for as redirect_to. It returns "" (the answer stays the 401
// problem) for anything but a browser's GET or HEAD, and for errors other
// than "not signed in" (a store that is down stays 503).
//
// The return address is the request's path and query when it came to
// Gatehouse's own host, else its absolute URL; either passes the one
// redirect rule (auth.AllowedRedirect: GATEHOUSE_ALLOWED_REDIRECTS) or is
// left out, so a forged Host header leads nowhere but the sign-in page.
func (g *Gatehouse) signInRedirect(r *http.Request, err error) string {
	if !pageRequest(r) {
		return ""
	}
	switch auth.KindOf(err) {
	case auth.KindUnauthorized, auth.KindTokenExpired, auth.KindTokenRevoked:
	default:
		return ""
	}
	return g.withReturnAddress(g.cfg.PublicURL+"/login", r)
}

// pageRequest reports whether r is a browser asking for a page (GET or
// HEAD): one that may be sent elsewhere and come back.
func pageRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && wantsPage(r)
}

// withReturnAddress returns page (the sign-in or step-up page) with r's
// return address as redirect_to, or page alone when r has none.
func (g *Gatehouse) withReturnAddress(page string, r *http.Request) string {
	if back := g.returnAddress(r); back != "" {
		return page + "?redirect_to=" + url.QueryEscape(back)
	}
	return page
}

// returnAddress returns where a browser sent away to sign in or step up
// comes back to: the request's path and query when it came to
// Gatehouse's own host, else its absolute URL; "" when that does not pass
// the one redirect rule (auth.AllowedRedirect), so a forged Host header
// leads nowhere.
func (g *Gatehouse) returnAddress(r *http.Request) string {
	back := r.URL.RequestURI()
	if pub, perr := url.Parse(g.cfg.PublicURL); perr != nil || !strings.EqualFold(r.Host, pub.Host) {
		scheme := "http"
		if r.TLS != nil || pub != nil && pub.Scheme == "https" {
			scheme = "https"
		}
		back = scheme + "://" + r.Host + back
	}
	return auth.AllowedRedirect(back, g.cfg.AllowedRedirects)
}

// wantsPage reports a browser asking for a page: no Authorization header
// (an API client's) and an Accept that lists text/html with a q other
// than 0. A bare */* does not count: fetch and curl send it too.
func wantsPage(r *http.Request) bool {
	if len(r.Header.Values("Authorization")) > 0 {
		return false
	}
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			typ, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(typ), "text/html") {
				continue
			}
			if !zeroQ(params) {
				return true
			}
		}
	}
	return false
}

// zeroQ reports a media range's parameters with q=0 ("not acceptable").
func zeroQ(params string) bool {
	for param := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(param, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
