package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUserProfile(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok, cookie := e.bothWays(t, "marie@example.com")

		t.Run("get", func(t *testing.T) {
			t.Parallel()
			for name, cred := range map[string]reqOpt{"bearer": bearer(tok.AccessToken), "cookie": e.cookie(cookie)} {
				var u userJSON
				e.do(t, "GET", "/v1/user", nil, cred).Want(http.StatusOK).Strict(&u)
				if u.ID != tok.User.ID || u.Email != "marie@example.com" || !u.HasPassword || u.Factors == nil {
					t.Errorf("%s: user = %+v", name, u)
				}
			}
		})

		t.Run("unauthenticated", func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/v1/user", "/v1/sessions"} {
				r := e.do(t, "GET", path, nil).WantProblem(http.StatusUnauthorized, "unauthorized")
				_ = r
				e.do(t, "GET", path, nil, bearer("garbage")).WantProblem(http.StatusUnauthorized, "unauthorized")
				e.do(t, "GET", path, nil, header("Authorization", "Basic YTpi")).WantProblem(http.StatusUnauthorized, "unauthorized")
				e.do(t, "GET", path, nil, e.cookie("garbage")).WantProblem(http.StatusUnauthorized, "unauthorized")
			}
			e.do(t, "PATCH", "/v1/user", map[string]string{"name": "x"}).WantProblem(http.StatusUnauthorized, "unauthorized")
			e.do(t, "POST", "/v1/user/password", map[string]string{"new_password": "x"}).WantProblem(http.StatusUnauthorized, "unauthorized")
			e.do(t, "POST", "/v1/logout", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
			e.do(t, "DELETE", "/v1/sessions/0190a0a0-0000-7000-8000-000000000000", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
		})

		t.Run("patch", func(t *testing.T) {
			e.Clock.Advance(time.Minute)
			var u userJSON
			e.do(t, "PATCH", "/v1/user", map[string]string{"name": "  Marie Curie "}, bearer(tok.AccessToken)).Want(http.StatusOK).Strict(&u)
			if u.Name != "Marie Curie" || u.Email != "marie@example.com" || !u.UpdatedAt.Equal(e.Clock.Now()) || u.CreatedAt.Equal(u.UpdatedAt) {
				t.Errorf("user = %+v", u)
			}
			// Stored, and seen through the other credential and at /v1/check.
			e.do(t, "GET", "/v1/user", nil, e.cookie(cookie)).Want(http.StatusOK).Decode(&u)
			if u.Name != "Marie Curie" {
				t.Errorf("name after PATCH = %q", u.Name)
			}
			var c struct {
				User userJSON `json:"user"`
			}
			e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK).Decode(&c)
			if c.User.Name != "Marie Curie" {
				t.Errorf("/v1/check still shows name %q", c.User.Name)
			}
			// An empty object changes nothing.
			e.do(t, "PATCH", "/v1/user", map[string]string{}, bearer(tok.AccessToken)).Want(http.StatusOK).Decode(&u)
			if u.Name != "Marie Curie" {
				t.Errorf("name after empty PATCH = %q", u.Name)
			}
		})

		t.Run("patch invalid", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				body  any
				field string
			}{
				{"too long", map[string]string{"name": strings.Repeat("é", 201)}, "name"},
				{"control character", map[string]string{"name": "bell\x07"}, "name"},
				{"wrong type", map[string]any{"name": 42}, "name"},
				{"unknown field", map[string]any{"email": "other@example.com"}, "email"},
			} {
				e.do(t, "PATCH", "/v1/user", tc.body, bearer(tok.AccessToken)).WantFieldError("invalid_request", tc.field)
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		const newPassword = "a brand new passphrase"
		e.secret(newPassword)
		current := e.account(t, "emmy@example.com")
		other := e.signIn(t, "emmy@example.com", testPassword)
		cookie := e.browserSession(t, "emmy@example.com")

		for _, tc := range []struct {
			name        string
			body        map[string]string
			status      int
			code, field string
		}{
			{"new missing", map[string]string{"current_password": testPassword}, 400, "invalid_request", "new_password"},
			{"new weak", map[string]string{"current_password": testPassword, "new_password": "12345678"}, 400, "weak_password", "new_password"},
			{"current missing", map[string]string{"new_password": newPassword}, 400, "invalid_request", "current_password"},
			{"current wrong", map[string]string{"current_password": "not the password", "new_password": newPassword}, 401, "invalid_credentials", "current_password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.secret(tc.body["current_password"], tc.body["new_password"])
				p := e.do(t, "POST", "/v1/user/password", tc.body, bearer(current.AccessToken)).WantProblem(tc.status, tc.code)
				if !p.HasField(tc.field) {
					t.Errorf("errors name %q, want %q", p.Fields(), tc.field)
				}
			})
		}
		// Nothing changed yet.
		e.check(t, bearer(other.AccessToken)).Want(http.StatusOK)

		r := e.do(t, "POST", "/v1/user/password", map[string]string{"current_password": testPassword, "new_password": newPassword}, bearer(current.AccessToken))
		r.Want(http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %s", r.Body)
		}
		// This session lives on; every other one (tokens and cookie) is dead.
		e.check(t, bearer(current.AccessToken)).Want(http.StatusOK)
		e.check(t, bearer(other.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, other.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, current.RefreshToken).Want(http.StatusOK)

		// Only the new password signs in.
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": "emmy@example.com", "password": testPassword}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.signIn(t, "emmy@example.com", newPassword)
	})
}

// TestSetFirstPassword: an account without a password sets one without a
// current password.
func TestSetFirstPassword(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		e.passwordlessUser(t, "nopass@example.com")
		cookie := e.browserSession(t, "nopass@example.com")
		e.secret("first password ever")
		e.do(t, "POST", "/v1/user/password", map[string]string{"new_password": "first password ever"}, e.cookie(cookie)).Want(http.StatusNoContent)
		var u userJSON
		e.do(t, "GET", "/v1/user", nil, e.cookie(cookie)).Want(http.StatusOK).Decode(&u)
		if !u.HasPassword {
			t.Error("has_password is false after setting one")
		}
		e.signIn(t, "nopass@example.com", "first password ever")
	})
}
