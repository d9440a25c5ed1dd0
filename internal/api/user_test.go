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
			e.clock.Advance(time.Minute)
			var u userJSON
			e.do(t, "PATCH", "/v1/user", map[string]string{"name": "  Marie Curie "}, bearer(tok.AccessToken)).Want(http.StatusOK).Strict(&u)
			if u.Name != "Marie Curie" || u.Email != "marie@example.com" || !u.UpdatedAt.Equal(e.clock.Now()) || u.CreatedAt.Equal(u.UpdatedAt) {
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

func TestSessions(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		a, b, cookie := e.threeSessions(t, "lise@example.com")
		stranger := e.account(t, "otto@example.com")

		sessionID := func(tok string) string {
			return e.check(t, bearer(tok)).Want(http.StatusOK).Header.Get("X-Auth-Session-Id")
		}
		aID, bID, strangerID := sessionID(a.AccessToken), sessionID(b.AccessToken), sessionID(stranger.AccessToken)

		var list struct {
			Sessions []sessionJSON `json:"sessions"`
		}
		e.do(t, "GET", "/v1/sessions", nil, bearer(a.AccessToken)).Want(http.StatusOK).Strict(&list)
		if len(list.Sessions) != 3 {
			t.Fatalf("%d sessions, want 3: %+v", len(list.Sessions), list.Sessions)
		}
		var cookieID string
		for _, s := range list.Sessions {
			if s.UserID != a.User.ID || s.ExpiresAt.IsZero() || s.CreatedAt.IsZero() {
				t.Errorf("session %+v", s)
			}
			if s.Current != (s.ID == aID) {
				t.Errorf("session %s current=%v; the current one is %s", s.ID, s.Current, aID)
			}
			if s.Browser {
				cookieID = s.ID
			}
		}
		if cookieID == "" || cookieID == aID || cookieID == bID {
			t.Fatalf("no browser session among %+v", list.Sessions)
		}
		// Seen through the cookie, the cookie's session is current.
		var byCookie struct {
			Sessions []sessionJSON `json:"sessions"`
		}
		e.do(t, "GET", "/v1/sessions", nil, e.cookie(cookie)).Want(http.StatusOK).Decode(&byCookie)
		for _, s := range byCookie.Sessions {
			if s.Current != (s.ID == cookieID) {
				t.Errorf("with the cookie: session %s current=%v", s.ID, s.Current)
			}
		}

		// Revoking another user's session or an unknown one is not found.
		for _, id := range []string{strangerID, "0190a0a0-0000-7000-8000-000000000000", "not-a-uuid"} {
			e.do(t, "DELETE", "/v1/sessions/"+id, nil, bearer(a.AccessToken)).WantProblem(http.StatusNotFound, "not_found")
		}
		e.check(t, bearer(stranger.AccessToken)).Want(http.StatusOK)
		e.do(t, "DELETE", "/v1/sessions/"+strings.Repeat("x", 65), nil, bearer(a.AccessToken)).WantFieldError("invalid_request", "id")

		// Revoke b, then the cookie session: each dies at once.
		r := e.do(t, "DELETE", "/v1/sessions/"+bID, nil, bearer(a.AccessToken)).Want(http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %s", r.Body)
		}
		e.check(t, bearer(b.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, b.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.do(t, "DELETE", "/v1/sessions/"+cookieID, nil, bearer(a.AccessToken)).Want(http.StatusNoContent)
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, bearer(a.AccessToken)).Want(http.StatusOK)

		var after struct {
			Sessions []sessionJSON `json:"sessions"`
		}
		e.do(t, "GET", "/v1/sessions", nil, bearer(a.AccessToken)).Want(http.StatusOK).Decode(&after)
		if len(after.Sessions) != 1 || after.Sessions[0].ID != aID || !after.Sessions[0].Current {
			t.Errorf("sessions after revocation: %+v", after.Sessions)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		e.signUp(t, "niels@example.com", testPassword)
		// Token sessions cost a password hash each; cookie sessions are free.
		var tokens []tokensJSON
		for range 3 {
			tokens = append(tokens, e.signIn(t, "niels@example.com", testPassword))
		}
		var cookies []string
		for range 4 {
			cookies = append(cookies, e.browserSession(t, "niels@example.com"))
		}
		alive := func(opt reqOpt) bool { return e.check(t, opt).Status == http.StatusOK }
		token := func(i int) reqOpt { return bearer(tokens[i].AccessToken) }
		cookie := func(i int) reqOpt { return e.cookie(cookies[i]) }

		t.Run("invalid scope", func(t *testing.T) {
			for _, body := range []any{map[string]string{"scope": "everything"}, map[string]any{"scope": 1}, `{"scope":"local"`, map[string]any{"scope": "local", "extra": true}} {
				e.do(t, "POST", "/v1/logout", body, token(0)).WantProblem(http.StatusBadRequest, "invalid_request")
			}
			if !alive(token(0)) {
				t.Fatal("an invalid logout ended the session")
			}
		})

		t.Run("no body is local", func(t *testing.T) {
			r := e.do(t, "POST", "/v1/logout", nil, token(0)).Want(http.StatusNoContent)
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("a token logout sets cookies: %q", sc)
			}
			if alive(token(0)) || !alive(token(1)) || !alive(cookie(0)) {
				t.Error("logout without a body did not end exactly this session")
			}
			e.refresh(t, tokens[0].RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		})

		t.Run("empty object is local", func(t *testing.T) {
			e.do(t, "POST", "/v1/logout", map[string]string{}, cookie(0)).Want(http.StatusNoContent)
			if alive(cookie(0)) || !alive(cookie(1)) || !alive(token(1)) {
				t.Error("logout {} did not end exactly this session")
			}
		})

		t.Run("local", func(t *testing.T) {
			e.do(t, "POST", "/v1/logout", map[string]string{"scope": "local"}, token(1)).Want(http.StatusNoContent)
			if alive(token(1)) || !alive(token(2)) || !alive(cookie(1)) {
				t.Error("logout local did not end exactly this session")
			}
			e.refresh(t, tokens[1].RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		})

		t.Run("cookie local clears the cookie", func(t *testing.T) {
			r := e.do(t, "POST", "/v1/logout", map[string]string{"scope": "local"}, cookie(1)).Want(http.StatusNoContent)
			sc := (&http.Response{Header: r.Header}).Cookies()
			if len(sc) != 1 || sc[0].Name != e.cfg.SessionCookieName || sc[0].Value != "" || sc[0].MaxAge >= 0 ||
				!sc[0].HttpOnly || !sc[0].Secure || sc[0].SameSite != http.SameSiteLaxMode || sc[0].Path != "/" {
				t.Errorf("Set-Cookie %q, want the session cookie expired", r.Header.Values("Set-Cookie"))
			}
			e.check(t, cookie(1)).WantProblem(http.StatusUnauthorized, "token_revoked")
			e.check(t, cookie(2)).Want(http.StatusOK)
		})

		t.Run("others", func(t *testing.T) {
			r := e.do(t, "POST", "/v1/logout", map[string]string{"scope": "others"}, cookie(2)).Want(http.StatusNoContent)
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("logout others clears this session's cookie: %q", sc)
			}
			e.check(t, cookie(2)).Want(http.StatusOK)
			e.check(t, cookie(3)).WantProblem(http.StatusUnauthorized, "token_revoked")
			e.check(t, token(2)).WantProblem(http.StatusUnauthorized, "token_revoked")
			e.refresh(t, tokens[2].RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		})

		t.Run("global", func(t *testing.T) {
			again := e.signIn(t, "niels@example.com", testPassword)
			e.do(t, "POST", "/v1/logout", map[string]string{"scope": "global"}, bearer(again.AccessToken)).Want(http.StatusNoContent)
			if alive(bearer(again.AccessToken)) {
				t.Error("logout global kept this session")
			}
			e.refresh(t, again.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
			e.check(t, cookie(2)).WantProblem(http.StatusUnauthorized, "token_revoked")
			var list struct {
				Sessions []sessionJSON `json:"sessions"`
			}
			e.do(t, "GET", "/v1/admin/sessions?user_id="+again.User.ID, nil, adminKey()).Want(http.StatusOK).Decode(&list)
			if len(list.Sessions) != 0 {
				t.Errorf("%d live sessions after logout global, want 0", len(list.Sessions))
			}
		})
	})
}
