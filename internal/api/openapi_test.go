package api_test

import (
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// documentedOps answers "METHOD /path" for every operation of the document.
func documentedOps(doc *huma.OpenAPI) map[string]*huma.Operation {
	out := map[string]*huma.Operation{}
	for path, item := range doc.Paths {
		for method, op := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPut: item.Put, http.MethodPost: item.Post, http.MethodDelete: item.Delete,
			http.MethodOptions: item.Options, http.MethodHead: item.Head, http.MethodPatch: item.Patch, http.MethodTrace: item.Trace,
		} {
			if op != nil {
				out[method+" "+path] = op
			}
		}
	}
	return out
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// pages are the routes the document lists that the pages serve, not the
// API: the page an emailed link opens, and the index of this document.
var pages = map[string]bool{"GET /v1/verify": true, "POST /v1/verify": true, "GET /docs": true}

// TestOpenAPICompleteness fails when the server answers a route that
// /openapi.json does not list, or lists one it does not answer.
func TestOpenAPICompleteness(t *testing.T) {
	t.Parallel()
	srv := newEnv(t, sqliteDB).apiServer(t)
	documented := documentedOps(srv.OpenAPI())
	routes := srv.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes recorded: %q", len(routes), routes)
	}

	served := map[string]bool{}
	catchAll := 0
	for _, pattern := range routes {
		if pattern == "/" {
			catchAll++
			continue
		}
		if served[pattern] {
			t.Errorf("%s is registered twice", pattern)
		}
		served[pattern] = true
		method, _, ok := strings.Cut(pattern, " ")
		if !ok || method != strings.ToUpper(method) {
			t.Errorf("route %q has no method: it answers every method, and the document cannot say so", pattern)
			continue
		}
		if _, ok := documented[pattern]; !ok {
			t.Errorf("%s is served but not documented in /openapi.json", pattern)
		}
	}
	if catchAll != 1 {
		t.Errorf("%d catch-all routes, want 1", catchAll)
	}

	names := make([]string, 0, len(documented))
	for name := range documented {
		names = append(names, name)
	}
	sort.Strings(names)
	operationIDs := map[string]string{}
	for _, name := range names {
		op := documented[name]
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s has no operationId or summary", name)
		}
		if prev, dup := operationIDs[op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %q", prev, name, op.OperationID)
		}
		operationIDs[op.OperationID] = name
		if pages[name] {
			if served[name] {
				t.Errorf("%s is the pages' but the API serves it", name)
			}
			continue // TestFrontDoor (package gatehouse) holds where it goes
		}
		if !served[name] {
			t.Errorf("%s is documented but no route of that pattern is registered", name)
		}
		// And a request to it reaches its own route, not the catch-all.
		method, path, _ := strings.Cut(name, " ")
		req := httptest.NewRequest(method, pathParam.ReplaceAllString(path, "x"), nil)
		if got := srv.RouteOf(req); got != name {
			t.Errorf("%s is served by route %q", name, got)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "nothing at this path") ||
			rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusInternalServerError {
			t.Errorf("%s answers %d %s", name, rec.Code, rec.Body)
		}
		// What it answers is what the document says it answers.
		if rec.Code == http.StatusOK {
			ct, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
			if res := op.Responses["200"]; res == nil || res.Content[ct] == nil {
				t.Errorf("%s answers 200 %s, which its document does not list", name, ct)
			}
		}
	}
}

// TestProblemCodesDocumented: every error kind the one kind→status table
// knows is among the codes the document promises, so a client that
// validates answers against the schema never meets an undocumented code.
func TestProblemCodesDocumented(t *testing.T) {
	t.Parallel()
	doc := newEnv(t, sqliteDB).apiServer(t).OpenAPI()
	schema := doc.Components.Schemas.Map()["Problem"]
	if schema == nil || schema.Properties["code"] == nil {
		t.Fatal("no Problem schema with a code")
	}
	documented := map[string]bool{}
	for _, v := range schema.Properties["code"].Enum {
		documented[fmt.Sprint(v)] = true
	}
	for _, k := range httpauth.Kinds() {
		if !documented[string(k)] {
			t.Errorf("problem code %q is answered but not in the document's enum", k)
		}
	}
}

// TestOpenAPIStatusesAndSecurity reads /openapi.json as a client would:
// every operation says who may call it (the public ones `security: []`),
// and none lists 422 or 500, which the server never answers by design
// (validation errors are 400; a 500 is a bug).
func TestOpenAPIStatusesAndSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	var doc struct {
		Paths map[string]map[string]struct {
			Security    *[]map[string][]string `json:"security"`
			Responses   map[string]any         `json:"responses"`
			RequestBody *struct {
				Content map[string]any `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	e.do(t, "GET", "/openapi.json", nil).Want(http.StatusOK).Decode(&doc)
	public := map[string]bool{
		"GET /.well-known/jwks.json": true, "GET /.well-known/openid-configuration": true,
		"GET /docs": true, "GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
		"GET /openapi.json": true, "GET /openapi.yaml": true, "GET /openapi-3.0.json": true, "GET /openapi-3.0.yaml": true,
		"POST /v1/signup": true, "POST /v1/token": true, "POST /v1/otp": true, "POST /v1/recover": true, "POST /v1/recover/verify": true,
		"GET /v1/verify": true, "POST /v1/verify": true, "POST /v1/mfa/challenge": true,
		"POST /v1/webauthn/login/begin": true, "POST /v1/webauthn/login/finish": true,
		"POST /v1/webauthn/signup/begin": true, "POST /v1/webauthn/signup/finish": true,
	}
	seen := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			name := strings.ToUpper(method) + " " + path
			switch {
			case op.Security == nil:
				t.Errorf("%s declares no security", name)
			case public[name] != (len(*op.Security) == 0):
				t.Errorf("%s: security %v, public %v", name, *op.Security, public[name])
			}
			if public[name] {
				seen++
			}
			for _, status := range []string{"422", "500"} {
				if _, ok := op.Responses[status]; ok {
					t.Errorf("%s lists %s, which it never answers", name, status)
				}
			}
			if op.RequestBody != nil && !pages[name] { // the pages' form is theirs to answer
				for _, status := range []string{"400", "415"} {
					if _, ok := op.Responses[status]; !ok {
						t.Errorf("%s takes a body but does not list %s", name, status)
					}
				}
			}
		}
	}
	if seen != len(public) {
		t.Errorf("%d of the %d public operations are in the document", seen, len(public))
	}
	if _, ok := doc.Paths["/v1/check"]["get"].Responses["503"]; !ok {
		t.Error("/v1/check does not list its 503")
	}
	if _, ok := doc.Paths["/v1/token"]["post"].RequestBody.Content["application/x-www-form-urlencoded"]; !ok {
		t.Error("/v1/token does not list the form body RFC 6749 clients send")
	}
	// What the server answers to bad input is among what it lists: an ID
	// too long for its path parameter's schema, a body of another type.
	tok := e.account(t, "doc@example.com")
	for _, tc := range []struct{ method, path, doc string }{
		{"DELETE", "/v1/sessions/" + strings.Repeat("a", 300), "/v1/sessions/{id}"},
		{"POST", "/v1/signup", "/v1/signup"},
	} {
		r := e.do(t, tc.method, tc.path, "x", bearer(tok.AccessToken), header("Content-Type", "text/plain"))
		if _, ok := doc.Paths[tc.doc][strings.ToLower(tc.method)].Responses[fmt.Sprint(r.Status)]; !ok {
			t.Errorf("%s %s answers %d, which its document does not list", tc.method, tc.doc, r.Status)
		}
	}
}
