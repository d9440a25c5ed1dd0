package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		var h struct {
			Status string `json:"status"`
			Uptime *int   `json:"uptime_seconds"`
		}
		e.do(t, "GET", "/healthz", nil).Want(http.StatusOK).Strict(&h)
		if h.Status != "ok" || h.Uptime == nil || *h.Uptime < 0 {
			t.Errorf("/healthz %+v", h)
		}
		var ready map[string]string
		e.do(t, "GET", "/readyz", nil).Want(http.StatusOK).Decode(&ready)
		if ready["status"] != "ready" {
			t.Errorf("/readyz %v", ready)
		}
		tok := e.account(t, "ops@example.com")

		// Storage goes away: readiness says so, the process is still up,
		// and what needs the store answers 503 unavailable, not 500.
		if err := e.G.Close(); err != nil {
			t.Fatal(err)
		}
		e.do(t, "GET", "/readyz", nil).WantProblem(http.StatusServiceUnavailable, "unavailable")
		e.do(t, "GET", "/healthz", nil).Want(http.StatusOK)
		e.do(t, "GET", "/v1/admin/users", nil, adminKey()).WantProblem(http.StatusServiceUnavailable, "unavailable")
		e.do(t, "GET", "/v1/user", nil, bearer(tok.AccessToken)).WantProblem(http.StatusServiceUnavailable, "unavailable")
		e.refresh(t, tok.RefreshToken).WantProblem(http.StatusServiceUnavailable, "unavailable")
		r := e.do(t, "GET", "/v1/sessions", nil, bearer(tok.AccessToken))
		r.WantProblem(http.StatusServiceUnavailable, "unavailable")
		if strings.Contains(string(r.Body), "sql") || strings.Contains(string(r.Body), "closed") {
			t.Errorf("the problem leaks internals: %s", r.Body)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	e.secret("wrong password")
	e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": "nobody@example.com", "password": "wrong password"}).
		WantProblem(http.StatusUnauthorized, "invalid_credentials")
	e.do(t, "GET", "/v1/nothing-here", nil).WantProblem(http.StatusNotFound, "not_found")

	r := e.do(t, "GET", "/metrics", nil).Want(http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	body := string(r.Body)
	for _, line := range []string{
		`gatehouse_http_requests_total{method="POST",route="POST /v1/token",status="401"} 1`,
		`gatehouse_http_requests_total{method="GET",route="/",status="404"} 1`,
		`gatehouse_sign_ins_total{method="password",result="failure"} 1`,
		`gatehouse_http_request_duration_seconds_count{route="POST /v1/token"} 1`,
		`# TYPE go_goroutines gauge`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	// Paths with ids are counted by their pattern, not one series each.
	e.do(t, "DELETE", "/v1/admin/users/0190a0a0-0000-7000-8000-000000000000", nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
	body = string(e.do(t, "GET", "/metrics", nil).Want(http.StatusOK).Body)
	if !strings.Contains(body, `route="DELETE /v1/admin/users/{id}",status="404"} 1`) || strings.Contains(body, "0190a0a0") {
		t.Errorf("metrics by path rather than pattern:\n%s", grepLines(body, "gatehouse_http_requests_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	r := e.do(t, "GET", "/openapi.json", nil).Want(http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/") || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title string `json:"title"`
		} `json:"info"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "Gatehouse" || len(doc.Servers) != 1 || doc.Servers[0].URL != testIssuer {
		t.Errorf("openapi %q, title %q, servers %+v", doc.OpenAPI, doc.Info.Title, doc.Servers)
	}
	for path, methods := range map[string][]string{
		"/v1/signup": {"post"}, "/v1/token": {"post"}, "/v1/user": {"get", "patch"}, "/v1/user/password": {"post"},
		"/v1/sessions": {"get"}, "/v1/sessions/{id}": {"delete"}, "/v1/logout": {"post"}, "/v1/check": {"get"},
		"/.well-known/jwks.json": {"get"}, "/.well-known/openid-configuration": {"get"},
		"/v1/admin/users": {"get", "post"}, "/v1/admin/users/{id}": {"get", "patch", "delete"},
		"/v1/admin/sessions": {"get"}, "/v1/admin/users/{id}/sessions": {"delete"},
		"/healthz": {"get"}, "/readyz": {"get"}, "/metrics": {"get"}, "/openapi.json": {"get"}, "/docs": {"get"},
	} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("%s %s is not documented", strings.ToUpper(m), path)
			}
		}
	}
	// Problems are documented as such.
	if !strings.Contains(string(r.Body), `"application/problem+json"`) {
		t.Error("no application/problem+json response in the document")
	}
}
