package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// FuzzDecodeJSON posts arbitrary bodies, as JSON and as a form, to every
// route that decodes one. Whatever the body, the answer is a well-formed
// problem or a success: never a 5xx, never a panic. The seeds in
// testdata/fuzz/FuzzDecodeJSON hold valid bodies, truncated JSON, deep
// nesting, huge numbers, odd unicode, duplicate keys, wrong types and nulls.
// Password hashing is at its cheapest here, as in every test server. Run it with a short
// minimisation time, or the fuzzer spends up to a minute shrinking each
// new large input while no worker fuzzes:
//
//	go test -run '^$' -fuzz '^FuzzDecodeJSON$' -fuzztime 30s -fuzzminimizetime 2s ./api/
func FuzzDecodeJSON(f *testing.F) {
	e := newEnv(f, sqliteDB, withoutLog())
	ctx := context.Background()
	if _, err := e.G.Auth().SignUp(ctx, auth.SignUpInput{Email: "fuzz@example.com", Password: testPassword}); err != nil {
		f.Fatal(err)
	}
	c := auth.Client{IP: "192.0.2.1"}
	p, err := e.G.Auth().SignInPassword(ctx, auth.Identity{Email: "fuzz@example.com"}, testPassword, c)
	if err != nil {
		f.Fatal(err)
	}
	g, err := e.G.Auth().Finish(ctx, p, c, auth.Tokens)
	if err != nil {
		f.Fatal(err)
	}
	routes := []struct {
		method, path, auth string
	}{
		{"POST", "/v1/signup", ""},
		{"POST", "/v1/token", ""},
		{"PATCH", "/v1/user", "Bearer " + g.AccessToken},
		{"POST", "/v1/admin/users", "Bearer " + testAdminKey},
	}
	f.Add([]byte(`{"email":"added@example.com","password":"correct horse battery staple"}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rt := range routes {
			for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
				req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				if rt.auth != "" {
					req.Header.Set("Authorization", rt.auth)
				}
				rec := httptest.NewRecorder()
				e.G.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Fatalf("%s %s (%s) %q: %d %s", rt.method, rt.path, ct, body, rec.Code, rec.Body)
				}
				if rec.Code >= 400 {
					var p struct {
						Status int    `json:"status"`
						Code   string `json:"code"`
					}
					if rec.Header().Get("Content-Type") != "application/problem+json" ||
						json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != rec.Code || p.Code == "" {
						t.Fatalf("%s %s (%s) %q: %d is not a problem: %s", rt.method, rt.path, ct, body, rec.Code, rec.Body)
					}
				}
			}
		}
	})
}

// TestFuzzSeedsCoverOutcomes makes sure the seed corpus is not all
// refusals: valid bodies succeed on their routes.
func TestFuzzSeedsCoverOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v1/signup", `{"email":"seed@example.com","password":"correct horse battery staple","name":"Seed"}`, http.StatusCreated},
		{"POST", "/v1/token", `{"grant_type":"password","email":"seed@example.com","password":"correct horse battery staple"}`, http.StatusOK},
		{"POST", "/v1/token", "grant_type=password&email=seed%40example.com&password=correct+horse+battery+staple", http.StatusOK},
		{"POST", "/v1/admin/users", `{"email":"admin-made@example.com","password":"another fine passphrase","name":"A","email_verified":true}`, http.StatusCreated},
	} {
		req := httptest.NewRequest(tc.method, tc.path, bytes.NewReader([]byte(tc.body)))
		if tc.body[0] == '{' {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		rec := httptest.NewRecorder()
		e.G.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, rec.Code, rec.Body)
		}
	}
}

// TestFuzzCorpusOnEachDB replays the checked-in seeds through the whole
// server on each database: what PostgreSQL refuses (NUL bytes, invalid
// UTF-8) must not turn into a 5xx either.
func TestFuzzCorpusOnEachDB(t *testing.T) {
	t.Parallel()
	seeds := readCorpus(t, filepath.Join("testdata", "fuzz", "FuzzDecodeJSON"))
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.account(t, "fuzz@example.com")
		for name, body := range seeds {
			for _, rt := range []struct {
				method, path string
				auth         reqOpt
			}{
				{"POST", "/v1/signup", nil},
				{"POST", "/v1/token", nil},
				{"PATCH", "/v1/user", bearer(tok.AccessToken)},
				{"POST", "/v1/admin/users", adminKey()},
			} {
				for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
					opts := []reqOpt{header("Content-Type", ct)}
					if rt.auth != nil {
						opts = append(opts, rt.auth)
					}
					r := e.do(t, rt.method, rt.path, body, opts...)
					if r.Status >= 500 {
						t.Errorf("seed %s to %s %s (%s): %d %s", name, rt.method, rt.path, ct, r.Status, r.Body)
					}
				}
			}
		}
	})
}

// readCorpus reads "go test fuzz v1" files holding one []byte each.
func readCorpus(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, ent := range entries {
		b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		header, rest, _ := strings.Cut(string(b), "\n")
		lit, ok := strings.CutPrefix(strings.TrimSpace(rest), "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		if header != "go test fuzz v1" || !ok || !ok2 {
			t.Fatalf("%s is not a go test fuzz v1 file with one []byte", ent.Name())
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", ent.Name(), err)
		}
		out[ent.Name()] = []byte(s)
	}
	if len(out) < 40 {
		t.Fatalf("only %d seeds", len(out))
	}
	return out
}
