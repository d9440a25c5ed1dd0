// Package httpauth holds what the JSON API (internal/api) and the pages
// (internal/web) both need to speak HTTP for package auth, so that each
// exists once: the status of an error kind and its Retry-After, the
// client a request came
// from, the principal a request is signed in as (in its context, and from
// its credentials), the session cookie, and the QR code of an
// authenticator key. Neither surface's routes are known here.
package httpauth

import (
	"context"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// statuses maps each kind of auth.Error to its HTTP status.
var statuses = map[auth.Kind]int{
	auth.KindInvalidRequest:     http.StatusBadRequest,
	auth.KindInvalidCredential:  http.StatusBadRequest,
	auth.KindConflict:           http.StatusConflict,
	auth.KindWeakPassword:       http.StatusBadRequest,
	auth.KindEmailTaken:         http.StatusConflict,
	auth.KindPhoneTaken:         http.StatusConflict,
	auth.KindInvalidCredentials: http.StatusUnauthorized,
	auth.KindInvalidCode:        http.StatusUnauthorized,
	auth.KindCodeExpired:        http.StatusUnauthorized,
	auth.KindUnauthorized:       http.StatusUnauthorized,
	auth.KindTokenExpired:       http.StatusUnauthorized,
	auth.KindTokenRevoked:       http.StatusUnauthorized,
	auth.KindForbidden:          http.StatusForbidden,
	auth.KindEmailUnverified:    http.StatusForbidden,
	// The session is valid, only not recent enough: 403 rather than 401,
	// which tells clients to drop their credentials or refresh them, and
	// neither helps; signing in again does.
	auth.KindReauthenticationRequired: http.StatusForbidden,
	auth.KindNotFound:                 http.StatusNotFound,
	auth.KindTooManyAttempts:          http.StatusTooManyRequests,
	auth.KindRateLimited:              http.StatusTooManyRequests,
	auth.KindUnavailable:              http.StatusServiceUnavailable,
}

// Kinds returns every kind Status knows, sorted: the codes a problem can
// carry besides the HTTP layer's own.
func Kinds() []auth.Kind {
	return slices.Sorted(maps.Keys(statuses))
}

// Status returns the HTTP status of an error of kind k. A kind it does not
// know (or none: an error that is not an *auth.Error) is a failure of a
// backend, 503: the flows classify everything a client caused.
func Status(k auth.Kind) int {
	if s, ok := statuses[k]; ok {
		return s
	}
	return http.StatusServiceUnavailable
}

type ctxKey int

const principalKey ctxKey = 0

// RetryAfter returns the Retry-After value of a wait of d: whole seconds,
// rounded up so a client that waits that long is never refused again, and
// at least 1, since 0 would invite an immediate retry.
func RetryAfter(d time.Duration) string {
	n := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(n, 1), 10)
}

// WithClient returns r with the client it came from in its context: its
// peer address (no forwarding header is trusted here; Proxies.WithClient
// trusts the configured proxies') and user agent. The outermost
// middleware calls Proxies.WithClient once per request. The flows
// that take no Client read it too (auth.ClientFrom), for their per-client
// limits.
func WithClient(r *http.Request) *http.Request {
	c := clientOf(r)
	return r.WithContext(auth.WithClient(r.Context(), c))
}

// ClientOf returns the client r came from: the one WithClient stored, or,
// for a request that did not pass the middleware, the same read from r.
func ClientOf(r *http.Request) auth.Client {
	if c := auth.ClientFrom(r.Context()); c != (auth.Client{}) {
		return c
	}
	return clientOf(r)
}

func clientOf(r *http.Request) auth.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return auth.Client{IP: ip, UserAgent: r.UserAgent()}
}

// WithPrincipal returns ctx carrying p, the principal a handler that
// requires a signed-in user found.
func WithPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the principal WithPrincipal stored in ctx, or nil.
func PrincipalFrom(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey).(*auth.Principal)
	return p
}
