package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The problem codes of Gatehouse's API that Middleware responds with, so a
// client treats a refusal here as it treats one from the issuer.
const (
	codeUnauthorized = "unauthorized"
	codeTokenExpired = "token_expired"
	codeTokenRevoked = "token_revoked"
	codeUnavailable  = "unavailable"
)

type claimsKey struct{}

// ClaimsFrom returns the claims of the token Middleware let through.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Middleware lets through only requests with a valid Bearer access token
// (Verify) and makes its claims available to h through ClaimsFrom. Other
// requests get 401 and an RFC 9457 problem with Gatehouse's codes:
// unauthorized (no token, or an invalid one), token_expired (refresh and
// retry) or token_revoked (the session has ended), with a WWW-Authenticate
// Bearer challenge (RFC 6750 §3). When the issuer cannot be reached to
// judge the token (its keys, or its check endpoint with
// WithRevocationCheck) the answer is 503 unavailable: the token is neither
// trusted nor called bad.
func (v *Verifier) Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r.Header)
		if !ok {
			writeProblem(w, http.StatusUnauthorized, codeUnauthorized, "Sign-in required: send a Bearer access token.", `Bearer realm="gatehouse"`)
			return
		}
		c, err := v.Verify(r.Context(), tok)
		if err != nil {
			status, code, detail := problemOf(err)
			challenge := ""
			if status == http.StatusUnauthorized {
				// RFC 6750 §3.1: a presented token that failed is invalid_token.
				challenge = `Bearer realm="gatehouse", error="invalid_token", error_description="` + detail + `"`
			}
			writeProblem(w, status, code, detail, challenge)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// bearerToken returns the token of the one Authorization header, which must
// use the Bearer scheme (any case).
func bearerToken(h http.Header) (string, bool) {
	vals := h.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// problemOf maps a Verify error to status, code and a sentence for a person
// (the issuer's own sentences, without a double quote).
func problemOf(err error) (status int, code, detail string) {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, codeUnavailable, "The sign-in service cannot be reached; try again shortly."
	case errors.Is(err, ErrExpired):
		return http.StatusUnauthorized, codeTokenExpired, "The access token has expired."
	case errors.Is(err, ErrRevoked):
		return http.StatusUnauthorized, codeTokenRevoked, "The session has ended."
	default:
		return http.StatusUnauthorized, codeUnauthorized, "Sign-in required."
	}
}

// problem is an RFC 9457 problem document in the shape Gatehouse returns.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func writeProblem(w http.ResponseWriter, status int, code, detail, challenge string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code})
}
