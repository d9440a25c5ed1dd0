package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// TestDiscoveryDocument holds /.well-known/openid-configuration to the
// exact document: only what the server does, and the grant types exactly
// those the token endpoint's schema accepts.
func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	r := e.do(t, "GET", "/.well-known/openid-configuration", nil).Want(http.StatusOK)
	var got map[string]any
	r.Decode(&got)
	want := map[string]any{
		"issuer":                                testIssuer,
		"jwks_uri":                              testIssuer + "/.well-known/jwks.json",
		"token_endpoint":                        testIssuer + "/v1/token",
		"grant_types_supported":                 []any{"password", "refresh_token", "otp", "magic_link", "mfa", "id_token"},
		"token_endpoint_auth_methods_supported": []any{"none"},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("document:\n%s\nwant:\n%s", g, w)
	}

	// The grants are the token endpoint's, as its schema lists them.
	op := e.apiServer(t).OpenAPI().Paths["/v1/token"].Post
	body := op.RequestBody.Content["application/json"].Schema
	if body.Ref != "" {
		body = e.apiServer(t).OpenAPI().Components.Schemas.SchemaFromRef(body.Ref)
	}
	var enum []any
	for _, v := range body.Properties["grant_type"].Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	if !reflect.DeepEqual(enum, got["grant_types_supported"]) {
		t.Errorf("grant_types_supported %v, the token endpoint accepts %v", got["grant_types_supported"], enum)
	}
}
