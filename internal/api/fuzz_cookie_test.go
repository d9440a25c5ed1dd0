package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// FuzzSessionCookie sends arbitrary Cookie headers to what reads the
// session cookie: the check, the API's user, the pages. Whatever the header
// holds (many cookies, the session's twice, quotes, invalid UTF-8, a real
// cookie spoiled), the answer is an answer, never a 5xx, and a spoiled
// cookie signs nobody in. The seeds are in testdata/fuzz/FuzzSessionCookie.
//
//	go test -run '^$' -fuzz '^FuzzSessionCookie$' -fuzztime 30s ./internal/api/
func FuzzSessionCookie(f *testing.F) {
	s := gatehousetest.Start(f, gatehousetest.QuietLog())
	s.SignUp(f, "cookie@example.com", gatehousetest.Password)
	cookie, _ := s.Session(f, "cookie@example.com", auth.Client{UserAgent: "fuzz"})
	name := s.Config.SessionCookieName
	f.Add(name + "=" + cookie)
	f.Add(name + "=" + cookie + "x")
	f.Add(name + "=\"" + cookie + "\"")
	f.Add(name + "=; " + name + "=" + cookie)
	f.Fuzz(func(t *testing.T, header string) {
		// What no HTTP client can send does not reach the server.
		if strings.ContainsFunc(header, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
			return
		}
		for _, path := range []string{"/v1/check", "/v1/user", "/v1/sessions", "/", "/login"} {
			r := s.Do(t, "GET", path, nil, gatehousetest.Header("Cookie", header), gatehousetest.SameOrigin())
			if r.Status >= http.StatusInternalServerError {
				t.Fatalf("GET %s with Cookie %q: %d %s", path, header, r.Status, r.Body)
			}
		}
	})
}
