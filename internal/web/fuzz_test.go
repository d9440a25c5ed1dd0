package web_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// formRoutes are the pages' form posts.
var formRoutes = []string{
	"/login/code", "/login/link", "/login/verify", "/login/password", "/login/mfa", "/login/mfa/email",
	"/signup", "/recover", "/recover/verify", "/logout", "/v1/verify",
	"/account/name", "/account/password", "/account/totp/confirm", "/account/backup-codes",
}

// FuzzFormBody posts arbitrary bodies, as forms, to every page that reads
// one, signed in and not. Whatever the body (bad escapes, invalid UTF-8,
// repeated or empty keys, huge values), the answer is a page or a
// redirect, never a 5xx. The seeds are in testdata/fuzz/FuzzFormBody.
//
//	go test -run '^$' -fuzz '^FuzzFormBody$' -fuzztime 30s ./internal/web/
func FuzzFormBody(f *testing.F) {
	s := gatehousetest.Start(f, gatehousetest.QuietLog(), gatehousetest.WithMail(), gatehousetest.WithTwilio())
	s.SignUp(f, "fuzz@example.com", gatehousetest.Password)
	cookie, _ := s.Session(f, "fuzz@example.com", auth.Client{UserAgent: "fuzz"})
	f.Add("email=fuzz%40example.com&password=x")
	f.Add("code=123456&address=fuzz%40example.com&redirect_to=%2F")
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range formRoutes {
			for _, opts := range [][]gatehousetest.RequestOption{
				{gatehousetest.SameOrigin()},
				{gatehousetest.SameOrigin(), s.Cookie(cookie)},
			} {
				opts = append(opts, gatehousetest.Header("Content-Type", "application/x-www-form-urlencoded"))
				if r := s.Do(t, "POST", path, body, opts...); r.Status >= http.StatusInternalServerError {
					t.Fatalf("POST %s %q: %d %s", path, body, r.Status, r.Body)
				}
			}
		}
	})
}
