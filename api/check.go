package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// checkBody is what /v1/check answers besides its headers.
type checkBody struct {
	User    User    `json:"user"`
	Session Session `json:"session"`
}

// check is the hot path: every request of every application behind
// Gatehouse may pass through it (nginx auth_request, Traefik ForwardAuth,
// Caddy forward_auth). It is a plain handler, not a huma operation, to keep
// it to one token verification (usually cached) and one in-process session
// lookup.
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	p, err := s.principalOf(r)
	if err != nil {
		writeProblem(w, problemOf(r.Context(), s.log, err))
		return
	}
	h := w.Header()
	h.Set("X-Auth-User-Id", p.User.ID)
	h.Set("X-Auth-Email", p.User.Email)
	h.Set("X-Auth-Session-Id", p.Session.ID)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	// The body is the same for as long as this view of the session is
	// cached: render it once, not on every request.
	b := p.Memo(func() any {
		b, _ := json.Marshal(checkBody{User: userView(&p.User), Session: sessionView(&p.Session, true)})
		return b
	}).([]byte)
	_, _ = w.Write(b)
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Short caching: verifiers pick up a rotated key within a minute, and
	// every token's kid is in the set for as long as the token lives.
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(s.o.Keys.JWKS(s.o.Clock.Now()))
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                s.o.Issuer,
		"jwks_uri":                              s.o.Issuer + "/.well-known/jwks.json",
		"token_endpoint":                        s.o.Issuer + "/v1/token",
		"grant_types_supported":                 []string{"password", "refresh_token", "otp", "magic_link", "mfa"},
		"id_token_signing_alg_values_supported": []string{"EdDSA"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
	})
}

// document adds a plain route to the OpenAPI document, so /openapi.json
// lists every route the server answers.
func (s *Server) document(o *huma.Operation, okSchema *huma.Schema, okType string) {
	if o.Responses == nil {
		o.Responses = map[string]*huma.Response{}
	}
	o.Responses["200"] = &huma.Response{Description: "OK", Content: map[string]*huma.MediaType{okType: {Schema: okSchema}}}
	s.api.OpenAPI().AddOperation(o)
}

func (s *Server) registerCheck() {
	s.mux.HandleFunc("GET /v1/check", s.check)
	reg := s.api.OpenAPI().Components.Schemas
	problem := &huma.Response{Description: "Not signed in, or the session has ended.", Content: map[string]*huma.MediaType{
		"application/problem+json": {Schema: reg.Schema(typeOf[Problem](), true, "")},
	}}
	o := &huma.Operation{
		OperationID: "check", Method: http.MethodGet, Path: "/v1/check", Tags: []string{"For other applications"},
		Summary: "Who is signed in (forward-auth target)",
		Description: "Validates a Bearer access token (signature, expiry, and the session still live) or the session cookie. " +
			"200 with headers X-Auth-User-Id, X-Auth-Email, X-Auth-Session-Id; 401 otherwise. Revocation takes effect at once on the node that revoked. " +
			"Use it as the nginx auth_request, Traefik ForwardAuth or Caddy forward_auth target.",
		Security:  userSecurity,
		Responses: map[string]*huma.Response{"401": problem},
	}
	s.document(o, reg.Schema(typeOf[checkBody](), true, ""), "application/json")
	o.Responses["200"].Headers = map[string]*huma.Header{
		"X-Auth-User-Id":    {Schema: &huma.Schema{Type: "string"}},
		"X-Auth-Email":      {Schema: &huma.Schema{Type: "string"}},
		"X-Auth-Session-Id": {Schema: &huma.Schema{Type: "string"}},
	}

	s.mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	s.document(&huma.Operation{
		OperationID: "jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{"For other applications"},
		Summary: "Public keys that verify access tokens (JWKS)",
	}, &huma.Schema{Type: "object", Description: "RFC 7517 JSON Web Key Set"}, "application/jwk-set+json")

	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.openIDConfiguration)
	s.document(&huma.Operation{
		OperationID: "openIDConfiguration", Method: http.MethodGet, Path: "/.well-known/openid-configuration", Tags: []string{"For other applications"},
		Summary: "Issuer metadata (issuer, jwks_uri)",
	}, &huma.Schema{Type: "object"}, "application/json")
}

// startedAt is only for /healthz's uptime.
var startedAt = time.Now()
