package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestEveryBadField sends requests with several bad fields at once: the
// answer names every one of them (docs/contract.md: one errors entry per
// bad field), not the first found.
func TestEveryBadField(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.account(t, "fields@example.com")
		e.secret("short")
		for _, tc := range []struct {
			name   string
			method string
			path   string
			body   any
			opts   []reqOpt
			fields []string
		}{
			{"sign-up: email, phone and password", "POST", "/v1/signup",
				map[string]string{"email": "not-an-email", "phone": "12", "password": "short"}, nil, []string{"email", "phone", "password"}},
			{"sign-up: email, name and password", "POST", "/v1/signup",
				map[string]string{"email": "a@", "name": "tab\there", "password": "short"}, nil, []string{"email", "name", "password"}},
			{"password grant: email and password", "POST", "/v1/token",
				map[string]string{"grant_type": "password", "email": "nope"}, nil, []string{"email", "password"}},
			{"otp grant: phone and code", "POST", "/v1/token",
				map[string]string{"grant_type": "otp", "phone": "12", "code": "x"}, nil, []string{"phone", "code"}},
			{"mfa grant: token, factor and code", "POST", "/v1/token",
				map[string]string{"grant_type": "mfa"}, nil, []string{"mfa_token", "factor", "code"}},
			{"recovery: email, code and new password", "POST", "/v1/recover/verify",
				map[string]string{"email": "nope", "code": "1", "new_password": "short"}, nil, []string{"email", "code", "new_password"}},
			{"schema: grant type, phone too long, an unknown field", "POST", "/v1/token",
				map[string]string{"grant_type": "x", "phone": strings.Repeat("1", 65), "colour": "red"}, nil, []string{"grant_type", "phone", "colour"}},
			{"password change: current and new", "POST", "/v1/user/password",
				map[string]string{"new_password": "short"}, []reqOpt{bearer(tok.AccessToken)}, []string{"current_password", "new_password"}},
			{"email proof: email, code and password", "POST", "/v1/user/email/verify",
				map[string]string{"email": "nope", "code": "1"}, nil, []string{"email", "code", "password"}},
			{"admin list: query and cursor", "GET", "/v1/admin/users?query=%00&cursor=nope", nil,
				[]reqOpt{adminKey()}, []string{"query", "cursor"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(t, tc.method, tc.path, tc.body, tc.opts...)
				p := r.WantProblem(http.StatusBadRequest, "invalid_request")
				got := p.Fields()
				slices.Sort(got)
				want := slices.Clone(tc.fields)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("errors name %q, want %q: %s", got, want, r.Body)
				}
				for _, f := range p.Errors {
					if f.Message == "" {
						t.Errorf("field %q has no message", f.Field)
					}
				}
			})
		}
	})
}
