package api

import (
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// jwks serves the public keys that verify access tokens.
func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Short caching: verifiers pick up a rotated key within a minute, and
	// every token's kid is in the set for as long as the token lives.
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(s.o.Keys.JWKS(s.o.Clock.Now()))
}

// grantTypes are the grant_type values POST /v1/token accepts, in its
// body schema's order: the discovery document lists exactly these.
var grantTypes = []string{"password", "refresh_token", "otp", "magic_link", "mfa", "id_token"}

// openIDConfiguration serves the issuer's metadata, so that OIDC-aware
// verifiers find the JWKS and OAuth 2.0 clients the token endpoint from
// the issuer alone. It lists only what is true: there is no authorization
// endpoint (so no response types) and no ID token (so no ID token
// algorithms); clients are public, authenticating with none.
func (s *Server) openIDConfiguration(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                s.o.Issuer,
		"jwks_uri":                              s.o.Issuer + "/.well-known/jwks.json",
		"token_endpoint":                        s.o.Issuer + "/v1/token",
		"grant_types_supported":                 grantTypes,
		"token_endpoint_auth_methods_supported": []string{"none"},
	})
}

// registerWellKnown registers the two documents verifiers fetch: the
// public keys (JWKS) and the issuer's metadata.
func (s *Server) registerWellKnown() {
	s.mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	s.document(&huma.Operation{
		OperationID: "jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{"For other applications"},
		Summary: "Public keys that verify access tokens (JWKS)",
	}, &huma.Schema{Type: "object", Description: "RFC 7517 JSON Web Key Set"}, "application/jwk-set+json")

	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.openIDConfiguration)
	s.document(&huma.Operation{
		OperationID: "openIDConfiguration", Method: http.MethodGet, Path: "/.well-known/openid-configuration", Tags: []string{"For other applications"},
		Summary: "Issuer metadata (issuer, jwks_uri, token_endpoint, grant types)",
	}, &huma.Schema{Type: "object"}, "application/json")
}
