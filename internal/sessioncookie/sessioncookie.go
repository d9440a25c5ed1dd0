// Package sessioncookie writes and reads the browser session cookie the same
// way wherever Gatehouse sets it (the API's link pages and the web pages):
// HttpOnly, SameSite=Lax, Path=/, Secure except in dev mode on
// http://localhost (docs/contract.md, "Credentials").
package sessioncookie

import (
	"net/http"
	"time"
)

// DefaultName is the cookie's name when GATEHOUSE_SESSION_COOKIE_NAME is
// not set.
const DefaultName = "gatehouse_session"

// Policy is how the cookie is named and flagged.
type Policy struct {
	// Name is the cookie's name (GATEHOUSE_SESSION_COOKIE_NAME, with the
	// __Host- prefix over https).
	Name string
	// Insecure drops the Secure flag (dev mode on http://localhost only).
	Insecure bool
}

// New answers the cookie carrying value until expires: the session's
// absolute end. The server ends an idle session sooner, and a cookie that
// outlives its session is refused like any other.
func (p Policy) New(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: p.Name, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: !p.Insecure, SameSite: http.SameSiteLaxMode,
	}
}

// Clear answers a cookie that removes the session cookie from the browser.
func (p Policy) Clear() *http.Cookie {
	return &http.Cookie{
		Name: p.Name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !p.Insecure, SameSite: http.SameSiteLaxMode,
	}
}

// Value answers the session cookie's value in r, or "".
func (p Policy) Value(r *http.Request) string {
	c, err := r.Cookie(p.Name)
	if err != nil {
		return ""
	}
	return c.Value
}
