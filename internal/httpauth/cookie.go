package httpauth

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// DefaultCookieName is the cookie's name when GATEHOUSE_SESSION_COOKIE_NAME
// is not set.
const DefaultCookieName = "gatehouse_session"

// CookiePolicy writes and reads the browser session cookie the same way
// wherever Gatehouse sets it (the API's sign-out and the pages): HttpOnly,
// SameSite=Lax, Path=/, Secure except in dev mode on http://localhost
// (docs/contract.md, "Credentials").
type CookiePolicy struct {
	// Name is the cookie's name (GATEHOUSE_SESSION_COOKIE_NAME, with the
	// __Host- prefix over https).
	Name string
	// Insecure drops the Secure flag (dev mode on http://localhost only).
	Insecure bool
	// Domain, when set (GATEHOUSE_COOKIE_DOMAIN), shares the cookie with
	// every host under that domain; empty, it is this host's alone.
	Domain string
}

// New returns the cookie carrying value until expires: the session's
// absolute end. The server ends an idle session sooner, and a cookie that
// outlives its session is refused like any other.
func (p CookiePolicy) New(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: p.Name, Value: value, Path: "/", Domain: p.Domain, Expires: expires,
		HttpOnly: true, Secure: !p.Insecure, SameSite: http.SameSiteLaxMode,
	}
}

// Clear returns a cookie that removes the session cookie from the browser.
func (p CookiePolicy) Clear() *http.Cookie {
	return &http.Cookie{
		Name: p.Name, Value: "", Path: "/", Domain: p.Domain, MaxAge: -1,
		HttpOnly: true, Secure: !p.Insecure, SameSite: http.SameSiteLaxMode,
	}
}

// Value returns the session cookie's value in r, or "".
func (p CookiePolicy) Value(r *http.Request) string {
	c, err := r.Cookie(p.Name)
	if err != nil {
		return ""
	}
	return c.Value
}

// Sessions finds who a request is signed in as, from its credentials.
type Sessions struct {
	Auth    *auth.Service
	Cookies CookiePolicy
}

var (
	errNotBearer    = &auth.Error{Kind: auth.KindUnauthorized, Message: "The Authorization header must be \"Bearer <access token>\"."}
	errNoCredential = &auth.Error{Kind: auth.KindUnauthorized, Message: "Sign-in required: send a Bearer access token or the session cookie."}
)

// Principal authenticates r by its Bearer access token or, when there is
// none, its session cookie: the API's rule, where a client may send either.
func (s Sessions) Principal(r *http.Request) (*auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, errNotBearer
		}
		return s.Auth.BearerPrincipal(r.Context(), strings.TrimSpace(tok))
	}
	if v := s.Cookies.Value(r); v != "" {
		return s.Auth.CookiePrincipal(r.Context(), v)
	}
	return nil, errNoCredential
}

// CookiePrincipal returns who r's session cookie signs in, or nil (and no
// error) when there is no cookie or its session has ended: the pages'
// rule, where an ended session is simply no session. Other errors (a
// store that is down) are returned.
func (s Sessions) CookiePrincipal(r *http.Request) (*auth.Principal, error) {
	v := s.Cookies.Value(r)
	if v == "" {
		return nil, nil
	}
	p, err := s.Auth.CookiePrincipal(r.Context(), v)
	switch kind := auth.KindOf(err); {
	case err == nil:
		return p, nil
	case kind == auth.KindUnauthorized || kind == auth.KindTokenRevoked || kind == auth.KindTokenExpired:
		return nil, nil
	default:
		return nil, err
	}
}

// OptionalPrincipal is Principal for a route that also serves requests
// without a credential: it returns nil and no error when r sends none. A
// credential that is sent must be valid, so a client that meant to act
// for its session never silently acts without it.
func (s Sessions) OptionalPrincipal(r *http.Request) (*auth.Principal, error) {
	p, err := s.Principal(r)
	if err == errNoCredential {
		return nil, nil
	}
	return p, err
}
