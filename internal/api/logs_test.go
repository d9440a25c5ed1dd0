package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLogsHoldNoSecrets runs a whole life cycle (every env does this check
// too, for what its test did) and then looks for every password, token,
// cookie and key in everything that was logged, at debug level.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		const email = "secretive@example.com"
		const newPassword = "a second secret passphrase"
		const wrongPassword = "a wrong secret passphrase"
		e.secret(newPassword, wrongPassword)

		e.signUp(t, email, testPassword)
		first := e.signIn(t, email, testPassword)
		// Secrets where a careless log line would pick them up: the query
		// string, a header, a malformed body that echoes back.
		e.do(t, "GET", "/v1/check?access_token="+url.QueryEscape(first.AccessToken)+"&password="+url.QueryEscape(testPassword), nil,
			header("X-Debug", first.RefreshToken)).WantProblem(http.StatusUnauthorized, "unauthorized")
		e.do(t, "POST", "/v1/token", `{"grant_type":"password","email":"`+email+`","password":"`+testPassword+`"`).
			WantProblem(http.StatusBadRequest, "invalid_request")
		e.do(t, "POST", "/v1/token", `{"grant_type":"password","email":"`+email+`","password":"`+testPassword+`","extra":"`+first.RefreshToken+`"}`).
			WantProblem(http.StatusBadRequest, "invalid_request")
		e.do(t, "POST", "/v1/token", `{"grant_type":"password","email":"`+email+`","password":["`+testPassword+`"]}`).
			WantProblem(http.StatusBadRequest, "invalid_request")
		form := url.Values{"grant_type": {"password"}, "email": {email}, "password": {testPassword}}
		var formTok tokensJSON
		e.do(t, "POST", "/v1/token", form.Encode(), header("Content-Type", "application/x-www-form-urlencoded")).Want(http.StatusOK).Decode(&formTok)
		e.secret(formTok.AccessToken, formTok.RefreshToken)

		// Refresh, replay within the grace period, then theft after it
		// (which logs a warning).
		var second tokensJSON
		e.refresh(t, first.RefreshToken).Want(http.StatusOK).Decode(&second)
		e.refresh(t, first.RefreshToken).Want(http.StatusOK)
		e.Clock.Advance(11 * time.Second)
		e.refresh(t, first.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")

		// Check by bearer and cookie; wrong and right password changes.
		cookie := e.browserSession(t, email)
		e.check(t, bearer(formTok.AccessToken)).Want(http.StatusOK)
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.do(t, "POST", "/v1/user/password", map[string]string{"current_password": wrongPassword, "new_password": newPassword}, e.cookie(cookie)).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.do(t, "POST", "/v1/user/password", map[string]string{"current_password": testPassword, "new_password": newPassword}, e.cookie(cookie)).
			Want(http.StatusNoContent)
		e.check(t, bearer(formTok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")

		// Failed sign-ins up to the lockout.
		for range 5 {
			e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": wrongPassword})
		}
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": newPassword}).
			WantProblem(http.StatusTooManyRequests, "rate_limited")

		// Admin calls, with right and wrong keys.
		e.do(t, "GET", "/v1/admin/users?query="+url.QueryEscape(email), nil, adminKey()).Want(http.StatusOK)
		e.do(t, "GET", "/v1/admin/users", nil, bearer(testAdminKey+"x")).WantProblem(http.StatusUnauthorized, "unauthorized")
		e.do(t, "POST", "/v1/admin/users", map[string]string{"email": "made@example.com", "password": newPassword + "!"}, adminKey()).Want(http.StatusCreated)
		e.secret(newPassword + "!")

		// Logout, then the store goes away: errors are logged.
		e.do(t, "POST", "/v1/logout", map[string]string{"scope": "global"}, e.cookie(cookie)).Want(http.StatusNoContent)
		e.G.Close()
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": second.RefreshToken}).
			WantProblem(http.StatusServiceUnavailable, "unavailable")
		e.do(t, "POST", "/v1/signup", map[string]string{"email": "late@example.com", "password": newPassword + "?"}).
			WantProblem(http.StatusServiceUnavailable, "unavailable")
		e.secret(newPassword + "?")
		e.do(t, "GET", "/readyz", nil).WantProblem(http.StatusServiceUnavailable, "unavailable")

		// The log is not empty (so the cleanup's search means something):
		// one line per request, and the warning and errors.
		logs := e.Logs.String()
		if n := strings.Count(logs, `"msg":"request"`); n < 25 {
			t.Errorf("%d request lines logged, want one per request", n)
		}
		for _, want := range []string{"refresh token reused after rotation", `"level":"ERROR"`, `"route":"POST /v1/token"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %q", want)
			}
		}
		if leaked := e.Logs.Leaks(logs); len(leaked) > 0 {
			t.Errorf("the log holds secrets %q", leaked)
		}
	})
}
