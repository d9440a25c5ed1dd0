package api_test

import (
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/internal/api"
)

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/nothing", 404, "not_found", ""},
		{"POST", "/v1/nothing", 404, "not_found", ""},
		{"GET", "/v1", 404, "not_found", ""},
		{"GET", "/v1/admin/nothing", 404, "not_found", ""},
		{"GET", "/v1/user/password/x", 404, "not_found", ""},
		{"GET", "/.well-known/nothing", 404, "not_found", ""}, // other paths are the web pages'
		{"GET", "/v1/token", 405, "method_not_allowed", "POST"},
		{"GET", "/v1/signup", 405, "method_not_allowed", "POST"},
		{"PUT", "/v1/user", 405, "method_not_allowed", "GET, PATCH"},
		{"DELETE", "/v1/user", 405, "method_not_allowed", "GET, PATCH"},
		{"POST", "/v1/check", 405, "method_not_allowed", "GET"},
		{"DELETE", "/v1/sessions", 405, "method_not_allowed", "GET"},
		{"GET", "/v1/sessions/abc", 405, "method_not_allowed", "DELETE"},
		{"POST", "/v1/admin/users/abc", 405, "method_not_allowed", "GET, PATCH, DELETE"},
		{"PUT", "/v1/admin/users", 405, "method_not_allowed", "GET, POST"},
		{"POST", "/healthz", 405, "method_not_allowed", "GET"},
		// The link page is served by the pages; the API still names its
		// methods, as its document lists them.
		{"PUT", "/v1/verify", 405, "method_not_allowed", "GET, POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, tc.method, tc.path, nil, adminKey())
			r.WantProblem(tc.status, tc.code)
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// TestBodyDecoding runs every kind of broken body against every route that
// reads one: the answer is always a 400 problem, never a 5xx.
func TestBodyDecoding(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.passwordlessUser(t, "body@example.com")
		cookie := e.browserSession(t, "body@example.com")
		routes := []struct {
			method, path string
			auth         reqOpt
			valid        string // a valid body, for the size test
		}{
			{"POST", "/v1/signup", nil, `{"email":"big@example.com"}`},
			{"POST", "/v1/token", nil, `{"grant_type":"refresh_token","refresh_token":"x"}`},
			{"PATCH", "/v1/user", e.cookie(cookie), `{"name":"Big"}`},
			{"POST", "/v1/user/password", e.cookie(cookie), `{"new_password":"12345"}`},
			{"POST", "/v1/logout", e.cookie(cookie), `{"scope":"nonsense"}`},
			{"POST", "/v1/admin/users", adminKey(), `{"email":"bad"}`},
			{"PATCH", "/v1/admin/users/" + u.ID, adminKey(), `{"name":"Big"}`},
		}
		for _, rt := range routes {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				do := func(body string, opts ...reqOpt) *response {
					if rt.auth != nil {
						opts = append(opts, rt.auth)
					}
					return e.do(t, rt.method, rt.path, body, opts...)
				}
				for _, tc := range []struct {
					name, body, field string
				}{
					{"unknown field", `{"bogus_field":1}`, "bogus_field"},
					{"malformed", `{"email":`, ""},
					{"not an object", `["a"]`, ""},
					{"trailing garbage", `{} x`, ""},
					{"nul", "\x00", ""},
				} {
					p := do(tc.body).WantProblem(http.StatusBadRequest, "invalid_request")
					if tc.field != "" && !p.HasField(tc.field) {
						t.Errorf("%s: errors name %q, want %q", tc.name, p.Fields(), tc.field)
					}
					if len(p.Errors) == 0 {
						t.Errorf("%s: a 400 without errors: %+v", tc.name, p)
					}
				}
				// No body at all: only logout may do without one.
				if rt.path == "/v1/logout" {
					throwaway := e.browserSession(t, "body@example.com")
					e.do(t, rt.method, rt.path, "", e.cookie(throwaway)).Want(http.StatusNoContent)
				} else {
					do("").WantProblem(http.StatusBadRequest, "invalid_request")
				}
				// Wrong types name the field.
				for field, body := range wrongTypes[rt.path[:min(len(rt.path), 16)]] {
					p := do(body).WantProblem(http.StatusBadRequest, "invalid_request")
					if !p.HasField(field) {
						t.Errorf("wrong type %s: errors name %q, want %q", body, p.Fields(), field)
					}
				}

				// Over 64 KiB: 400, whatever the body holds.
				big := pad(rt.valid, api.MaxBodyBytes+1)
				p := do(big).WantProblem(http.StatusBadRequest, "invalid_request")
				if !p.HasField("body") {
					t.Errorf("oversized body: errors name %q, want body", p.Fields())
				}
				do(pad(`{"x":1}`, 10<<20)).WantProblem(http.StatusBadRequest, "invalid_request")
				// Exactly 64 KiB is not over the limit: the body is read and
				// judged on what it says.
				r := do(pad(rt.valid, api.MaxBodyBytes))
				if r.Status >= 500 {
					t.Fatalf("a body of 64 KiB: %d %s", r.Status, r.Body)
				}
				var p64 problem
				if r.Status == http.StatusBadRequest {
					r.Decode(&p64)
				}
				if p64.HasField("body") {
					t.Errorf("a body of exactly 64 KiB was refused as too large: %s", r.Body)
				}
			})
		}
		// The session survived all of that.
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
	})
}

// wrongTypes are bodies with a field of the wrong type, by route (the
// first 16 characters of its path).
var wrongTypes = map[string]map[string]string{
	"/v1/signup":       {"email": `{"email":1}`, "password": `{"email":"t@example.com","password":true}`, "name": `{"email":"t@example.com","name":["a"]}`},
	"/v1/token":        {"grant_type": `{"grant_type":1}`, "email": `{"grant_type":"password","email":{},"password":"x"}`, "refresh_token": `{"grant_type":"refresh_token","refresh_token":5}`},
	"/v1/user":         {"name": `{"name":1.5}`},
	"/v1/user/passwor": {"new_password": `{"new_password":12345678}`, "current_password": `{"current_password":["x"],"new_password":"x"}`},
	"/v1/logout":       {"scope": `{"scope":false}`},
	"/v1/admin/users":  {"email": `{"email":null}`, "email_verified": `{"email":"t@example.com","email_verified":"true"}`},
	"/v1/admin/users/": {"disabled": `{"disabled":"yes"}`, "name": `{"name":{}}`},
}

// pad grows a JSON object body to exactly n bytes with trailing spaces.
func pad(body string, n int) string {
	if len(body) >= n {
		return body
	}
	return body + strings.Repeat(" ", n-len(body))
}

func TestCrossSiteRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, withCORSOrigins("https://app.example.com"))
	e.passwordlessUser(t, "csrf@example.com")
	cookie := e.browserSession(t, "csrf@example.com")
	crossSite := header("Sec-Fetch-Site", "cross-site")
	origin := func(o string) reqOpt { return header("Origin", o) }

	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		opts         []reqOpt
	}{
		{"signup", "POST", "/v1/signup", map[string]string{"email": "evil@example.com"}, []reqOpt{crossSite}},
		{"signup from another origin", "POST", "/v1/signup", map[string]string{"email": "evil@example.com"}, []reqOpt{crossSite, origin("https://evil.example.com")}},
		{"token", "POST", "/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": "x"}, []reqOpt{crossSite}},
		{"logout with cookie", "POST", "/v1/logout", nil, []reqOpt{crossSite, e.cookie(cookie)}},
		{"patch user with cookie", "PATCH", "/v1/user", map[string]string{"name": "pwned"}, []reqOpt{crossSite, e.cookie(cookie)}},
		{"delete session", "DELETE", "/v1/sessions/x", nil, []reqOpt{header("Sec-Fetch-Site", "same-site"), e.cookie(cookie)}},
		{"form post from old browser", "POST", "/v1/logout", "", []reqOpt{origin("https://evil.example.com"), header("Content-Type", "application/x-www-form-urlencoded"), e.cookie(cookie)}},
		{"admin", "PATCH", "/v1/admin/users/x", map[string]bool{"disabled": true}, []reqOpt{crossSite, adminKey()}},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			e.do(t, tc.method, tc.path, tc.body, tc.opts...).WantProblem(http.StatusForbidden, "forbidden")
		})
	}
	// Nothing changed.
	var u userJSON
	e.do(t, "GET", "/v1/user", nil, e.cookie(cookie)).Want(http.StatusOK).Decode(&u)
	if u.Name != "" {
		t.Errorf("a refused request renamed the user to %q", u.Name)
	}
	e.do(t, "GET", "/v1/admin/users?query=evil", nil, adminKey()).Want(http.StatusOK)

	// Allowed: a trusted origin, same-origin requests, requests that are
	// not from a browser, and safe methods.
	e.do(t, "PATCH", "/v1/user", map[string]string{"name": "Trusted"}, crossSite, origin("https://app.example.com"), e.cookie(cookie)).Want(http.StatusOK)
	e.do(t, "PATCH", "/v1/user", map[string]string{"name": "Same"}, header("Sec-Fetch-Site", "same-origin"), e.cookie(cookie)).Want(http.StatusOK)
	e.do(t, "PATCH", "/v1/user", map[string]string{"name": "Typed"}, header("Sec-Fetch-Site", "none"), e.cookie(cookie)).Want(http.StatusOK)
	e.do(t, "PATCH", "/v1/user", map[string]string{"name": "Curl"}, e.cookie(cookie)).Want(http.StatusOK)
	e.do(t, "GET", "/v1/user", nil, crossSite, e.cookie(cookie)).Want(http.StatusOK)
	e.check(t, crossSite, origin("https://evil.example.com"), e.cookie(cookie)).Want(http.StatusOK)
	e.do(t, "POST", "/v1/signup", map[string]string{"email": "fromapp@example.com"}, crossSite, origin("https://app.example.com")).Want(http.StatusCreated)
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	for _, tc := range []struct {
		name, sent string
		echoed     bool
	}{
		{"plain", "req-123_abc.DEF", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"absent", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "abc def", false},
		{"header injection", "abc\\r\\nX-Evil: 1", false},
		{"markup", "<script>", false},
		{"non-ascii", "idé", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []reqOpt
			if tc.sent != "" {
				opts = append(opts, header("X-Request-Id", tc.sent))
			}
			for _, path := range []string{"/healthz", "/v1/nothing", "/v1/check"} {
				got := e.do(t, "GET", path, nil, opts...).Header.Get("X-Request-Id")
				if tc.echoed && got != tc.sent {
					t.Errorf("%s: X-Request-Id %q, want %q echoed", path, got, tc.sent)
				}
				if !tc.echoed && !generatedID.MatchString(got) {
					t.Errorf("%s: X-Request-Id %q, want a generated one", path, got)
				}
			}
		})
	}
	// Generated ones differ, and the log line carries the id.
	a := e.do(t, "GET", "/healthz", nil).Header.Get("X-Request-Id")
	b := e.do(t, "GET", "/healthz", nil).Header.Get("X-Request-Id")
	if a == b {
		t.Errorf("two requests got the same id %q", a)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Error(err)
	}
	if !strings.Contains(e.Logs.String(), `"request_id":"`+a+`"`) {
		t.Errorf("no log line with request_id %s", a)
	}
}

// TestPathAndQueryText: ids and search strings that no database can hold
// as text (NUL, invalid UTF-8) are the client's mistake, never a 503 from
// the database refusing them: an id that cannot be ours is simply not
// found, a bad search or cursor is a 400 naming the parameter.
func TestPathAndQueryText(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		e.passwordlessUser(t, "text@example.com")
		cookie := e.browserSession(t, "text@example.com")
		for _, bad := range []string{"%00", "a%00b", "%FF", "%C3%28"} {
			for _, tc := range []struct {
				method, path string
				auth         reqOpt
				body         any
				status       int
				code, field  string
			}{
				{"GET", "/v1/admin/users?query=" + bad, adminKey(), nil, 400, "invalid_request", "query"},
				{"GET", "/v1/admin/users?cursor=" + bad, adminKey(), nil, 400, "invalid_request", "cursor"},
				{"GET", "/v1/admin/users/" + bad, adminKey(), nil, 404, "not_found", ""},
				{"PATCH", "/v1/admin/users/" + bad, adminKey(), map[string]bool{"disabled": true}, 404, "not_found", ""},
				{"DELETE", "/v1/admin/users/" + bad, adminKey(), nil, 404, "not_found", ""},
				{"DELETE", "/v1/admin/users/" + bad + "/sessions", adminKey(), nil, 404, "not_found", ""},
				{"GET", "/v1/admin/sessions?user_id=" + bad, adminKey(), nil, 404, "not_found", ""},
				{"DELETE", "/v1/sessions/" + bad, e.cookie(cookie), nil, 404, "not_found", ""},
			} {
				p := e.do(t, tc.method, tc.path, tc.body, tc.auth).WantProblem(tc.status, tc.code)
				if tc.field != "" && !p.HasField(tc.field) {
					t.Errorf("%s %s: errors name %q, want %q", tc.method, tc.path, p.Fields(), tc.field)
				}
			}
		}
		if strings.Contains(e.Logs.String(), `"level":"ERROR"`) {
			t.Errorf("client mistakes were logged as errors:\n%s", e.Logs.String())
		}
	})
}

// TestServersAreIndependent: building a server leaves huma's shared
// defaults alone (two servers built at once must not race, and other huma
// APIs in the process must not start accepting forms).
func TestServersAreIndependent(t *testing.T) {
	t.Parallel()
	if _, ok := huma.DefaultFormats["application/x-www-form-urlencoded"]; ok {
		t.Fatal("huma.DefaultFormats already holds the form format")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := api.New(api.Options{Issuer: testIssuer}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, ok := huma.DefaultFormats["application/x-www-form-urlencoded"]; ok {
		t.Error("api.New added the form format to huma.DefaultFormats")
	}
}
