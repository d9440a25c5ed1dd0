package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// rawRequest writes req to the server as it is, half-closes the
// connection and returns the answer's status: 0 when the server closed the
// connection without one, as good an answer as a 400 to a client that
// broke the protocol.
func rawRequest(t *testing.T, base, req string) int {
	t.Helper()
	resp := rawResponse(t, base, req)
	if resp == nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rawResponse sends req as it is (no client tidies it up) and reads the
// answer; nil when the server closed the connection instead (the caller
// closes the body).
func rawResponse(t *testing.T, base, req string) *http.Response {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil // the server had heard enough and closed
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil
	}
	return resp
}

// pageRoutes are the routes of the pages (package web) a client can post
// to or open, with the fields their forms read.
var pageRoutes = []string{
	"GET /", "GET /docs", "GET /login", "GET /login/password", "GET /login/x", "GET /signup", "GET /recover",
	"GET /recover/x", "GET /logout", "GET /admin", "GET /admin/users/x", "GET /static/x",
	"POST /login/code", "POST /login/link", "POST /login/verify", "POST /login/password",
	"POST /login/mfa", "POST /login/mfa/email", "POST /signup", "POST /recover", "POST /recover/verify",
	"POST /logout", "POST /v1/verify", "POST /admin/users/x/disable",
	"POST /account/name", "POST /account/password", "POST /account/totp/confirm", "POST /account/backup-codes",
}

// pageFields are the fields the pages' forms carry.
var pageFields = []string{"email", "address", "phone", "password", "new_password", "current_password", "code", "name", "token", "mfa_token", "redirect_to", "csrf"}

var pathParamRE = regexp.MustCompile(`\{[^}]+\}`)

// serverFailure is a request log line of a 5xx answer.
var serverFailure = regexp.MustCompile(`"status":5[0-9][0-9]\b`)

// documentedRoutes returns every route /openapi.json lists, with the
// fields of its JSON body.
func documentedRoutes(t *testing.T, s *gatehousetest.Server) map[string][]string {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	s.Do(t, "GET", "/openapi.json", nil).Want(http.StatusOK).Decode(&doc)
	routes := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			_ = json.Unmarshal(raw, &op)
			var fields []string
			for _, c := range op.RequestBody.Content {
				name := strings.TrimPrefix(c.Schema.Ref, "#/components/schemas/")
				for f := range doc.Components.Schemas[name].Properties {
					fields = append(fields, f)
				}
			}
			sort.Strings(fields)
			routes[strings.ToUpper(method)+" "+path] = fields
		}
	}
	return routes
}

// TestNoClientCausesA5xx sends every route (the API's, from its OpenAPI
// document, and the pages') a body that ends before its Content-Length, a
// malformed chunk, an oversized header block and invalid UTF-8 in each
// field, signed in and not: none may answer 5xx, and nothing of it is
// logged as a failure of ours.
func TestNoClientCausesA5xx(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	tok := s.Account(t, "no5xx@example.com")
	cookie, _ := s.Session(t, "no5xx@example.com", auth.Client{UserAgent: "test"})

	routes := documentedRoutes(t, s)
	if len(routes) < 20 {
		t.Fatalf("only %d routes documented", len(routes))
	}
	for _, r := range pageRoutes {
		if _, ok := routes[r]; !ok {
			routes[r] = pageFields
		}
	}
	bad := "\xff\xfe\xc3("
	host := strings.TrimPrefix(s.URL, "http://")
	for route, fields := range routes {
		method, path, _ := strings.Cut(route, " ")
		path = pathParamRE.ReplaceAllString(path, "x")
		creds := []string{"", "Authorization: Bearer " + tok.AccessToken + "\r\n",
			"Authorization: Bearer " + gatehousetest.AdminKey + "\r\n",
			"Cookie: " + s.Config.SessionCookieName + "=" + cookie + "\r\nSec-Fetch-Site: same-origin\r\n"}
		for _, cred := range creds {
			head := method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + cred
			for name, req := range map[string]string{
				"truncated JSON": head + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"email\":\"a@",
				"truncated form": head + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nemail=a",
				"bad chunk size": head + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ema\r\nzz\r\n",
				"chunk too long": head + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nemail=a\r\n0\r\n\r\n",
				"header block":   head + "X-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n",
			} {
				if st := rawRequest(t, s.URL, req); st >= 500 {
					t.Errorf("%s %s (%q): status %d", route, name, strings.TrimSuffix(cred, "\r\n")[:min(len(cred), 14)], st)
				}
			}
		}
		// Invalid UTF-8 in each field: as JSON, as a form, in the query.
		for _, f := range fields {
			jsonBody := fmt.Sprintf(`{%q:"%s"}`, f, bad)
			form := url.Values{f: {bad}}
			for _, opt := range []gatehousetest.RequestOption{
				gatehousetest.Bearer(tok.AccessToken), gatehousetest.Admin(),
				func(r *http.Request) { s.Cookie(cookie)(r); gatehousetest.SameOrigin()(r) },
			} {
				if r := s.Do(t, method, path+"?"+f+"=%ff%fe", []byte(jsonBody), opt); r.Status >= 500 {
					t.Errorf("%s: %s as invalid UTF-8 in JSON: %d %s", route, f, r.Status, r.Body)
				}
				if r := s.Do(t, method, path, form, opt); r.Status >= 500 {
					t.Errorf("%s: %s as invalid UTF-8 in a form: %d %s", route, f, r.Status, r.Body)
				}
			}
		}
		if r := s.Do(t, method, path+"/%ff%fe", nil); r.Status >= 500 {
			t.Errorf("%s: invalid UTF-8 in the path: %d", route, r.Status)
		}
	}
	if r := s.Do(t, "GET", "/static/%ff%fe", nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /static/%%ff%%fe: %d, want 404", r.Status)
	}
	if log := s.Logs.String(); strings.Contains(log, `"level":"ERROR"`) || serverFailure.MatchString(log) {
		t.Errorf("a client's mistake was logged as a failure of ours")
	}
}
