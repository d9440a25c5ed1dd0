package api_test

// Tests of sign-up (POST /v1/signup).

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestSignUp(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {

		t.Run("created", func(t *testing.T) {
			e.secret("Another good passphrase")
			r := e.do(t, "POST", "/v1/signup", map[string]string{
				"email": "  Ada@Example.COM ", "password": "Another good passphrase", "name": " Ada Lovelace ",
			}).Want(http.StatusCreated)
			var out struct {
				User userJSON `json:"user"`
			}
			r.Strict(&out)
			u := out.User
			if _, err := uuid.Parse(u.ID); err != nil {
				t.Errorf("id %q is not a UUID", u.ID)
			}
			if u.Email != "ada@example.com" || u.Name != "Ada Lovelace" || !u.HasPassword || u.EmailVerified ||
				u.Phone != "" || u.PhoneVerified || u.Factors != nil {
				t.Errorf("user = %+v", u)
			}
			if !u.CreatedAt.Equal(e.Clock.Now()) || !u.UpdatedAt.Equal(e.Clock.Now()) {
				t.Errorf("created_at %v, updated_at %v, want the clock's %v", u.CreatedAt, u.UpdatedAt, e.Clock.Now())
			}
			if strings.Contains(string(r.Body), "password_hash") || strings.Contains(string(r.Body), "argon2") {
				t.Errorf("the answer shows the password hash: %s", r.Body)
			}

			// Emails compare case-insensitively.
			p := e.do(t, "POST", "/v1/signup", map[string]string{"email": "ADA@example.com"}).WantProblem(http.StatusConflict, "email_taken")
			if !p.HasField("email") {
				t.Errorf("email_taken problem names %q, want email", p.Fields())
			}
		})

		t.Run("passwordless", func(t *testing.T) {
			var out struct {
				User userJSON `json:"user"`
			}
			e.do(t, "POST", "/v1/signup", map[string]string{"email": "nopass@example.com"}).Want(http.StatusCreated).Strict(&out)
			if out.User.HasPassword || out.User.Email != "nopass@example.com" {
				t.Errorf("user = %+v", out.User)
			}
		})

		// None of these reach the password hasher, so they may run at once.
		for _, tc := range []struct {
			name        string
			body        map[string]any
			code, field string
		}{
			{"email missing", map[string]any{"password": testPassword}, "invalid_request", "email"},
			{"email empty", map[string]any{"email": " "}, "invalid_request", "email"},
			{"email without at", map[string]any{"email": "ada.example.com"}, "invalid_request", "email"},
			{"email with display name", map[string]any{"email": "Ada <ada@example.com>"}, "invalid_request", "email"},
			{"email without dotted domain", map[string]any{"email": "ada@localhost"}, "invalid_request", "email"},
			{"email too long", map[string]any{"email": strings.Repeat("a", 250) + "@example.com"}, "invalid_request", "email"},
			{"password short", map[string]any{"email": "weak1@example.com", "password": "short7!"}, "weak_password", "password"},
			{"password common", map[string]any{"email": "weak2@example.com", "password": "password123"}, "weak_password", "password"},
			{"password common 2", map[string]any{"email": "weak3@example.com", "password": "qwertyuiop"}, "weak_password", "password"},
			{"name too long", map[string]any{"email": "long@example.com", "name": strings.Repeat("n", 201)}, "invalid_request", "name"},
			{"name control character", map[string]any{"email": "ctl@example.com", "name": "a\x07b"}, "invalid_request", "name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				if pw, ok := tc.body["password"].(string); ok {
					e.secret(pw)
				}
				e.do(t, "POST", "/v1/signup", tc.body).WantFieldError(tc.code, tc.field)
			})
		}
	})
}
