package api_test

// Tests of the signed-in user's sessions: listing and revoking them, and signing out.

import (
	"net/http"
	"strings"
	"testing"
)

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
			if len(sc) != 1 || sc[0].Name != e.Config.SessionCookieName || sc[0].Value != "" || sc[0].MaxAge >= 0 ||
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
