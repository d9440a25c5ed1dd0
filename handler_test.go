package gatehouse_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// TestFrontDoor: the root sends /v1, /.well-known and the operational
// routes to the JSON API and everything else to the pages, and what both
// share (request id, nosniff, cross-origin protection, the access log's
// route) is on every answer, each refusal in its surface's terms.
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	srv := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.CORSOrigins = []string{"https://app.example.test"}
	}))

	const problem, page, jsonType = "application/problem+json", "text/html; charset=utf-8", "application/json"
	for _, tc := range []struct {
		method, path string
		header       http.Header
		status       int
		contentType  string
	}{
		{"GET", "/v1/nothing", nil, 404, problem},
		{"GET", "/v1", nil, 404, problem},
		{"GET", "/.well-known/nothing", nil, 404, problem},
		{"GET", "/.well-known/jwks.json", nil, 200, "application/jwk-set+json"},
		{"GET", "/healthz", nil, 200, jsonType},
		{"POST", "/healthz", nil, 405, problem},
		{"GET", "/openapi.json", nil, 200, "application/openapi+json"},
		{"GET", "/nothing", nil, 404, page},
		{"GET", "/login", nil, 200, page},
		{"GET", "/v1/verify?token=nonsense", nil, 404, page},
		// Another site cannot change state: a problem for the API, a page
		// for a form.
		{"POST", "/v1/logout", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, problem},
		{"POST", "/login/code", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, page},
		{"POST", "/v1/verify", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, page},
		// The link page is the pages'; the API still names its methods.
		{"POST", "/v1/verify", nil, 400, page},
		{"PUT", "/v1/verify", nil, 405, problem},
		// A trusted origin may call the API.
		{"POST", "/v1/logout", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.test"}}, 401, problem},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(url.Values{"token": {"x"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, vs := range tc.header {
			req.Header[k] = vs
		}
		res, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		name := tc.method + " " + tc.path
		if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("%s: %d %q, want %d %q", name, res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.contentType)
		}
		if res.Header.Get("X-Request-Id") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Request-Id %q, X-Content-Type-Options %q", name, res.Header.Get("X-Request-Id"), res.Header.Get("X-Content-Type-Options"))
		}
	}
}
