package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPasswordGrant(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.signUp(t, "grace@example.com", testPassword)

		t.Run("ok", func(t *testing.T) {
			r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": " GRACE@example.com", "password": testPassword}, header("User-Agent", "test-agent/1.0"))
			r.Want(http.StatusOK)
			var tok tokensJSON
			r.Strict(&tok)
			e.secret(tok.AccessToken, tok.RefreshToken)
			if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.User.ID != u.ID || tok.User.Email != "grace@example.com" {
				t.Errorf("tokens = %+v", tok)
			}
			if strings.Count(tok.AccessToken, ".") != 2 || len(tok.RefreshToken) < 32 || strings.Contains(tok.RefreshToken, ".") {
				t.Errorf("access token %q should be a JWT and refresh token %q opaque", tok.AccessToken, tok.RefreshToken)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			// The session records where it came from.
			c := e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
			var body struct {
				User    userJSON    `json:"user"`
				Session sessionJSON `json:"session"`
			}
			c.Strict(&body)
			if body.Session.UserAgent != "test-agent/1.0" || body.Session.IP != "127.0.0.1" || body.Session.AAL != "aal1" ||
				len(body.Session.AMR) != 1 || body.Session.AMR[0] != "pwd" || body.Session.Browser {
				t.Errorf("session = %+v", body.Session)
			}
		})

		t.Run("form encoded", func(t *testing.T) {
			form := url.Values{"grant_type": {"password"}, "email": {"grace@example.com"}, "password": {testPassword}}
			r := e.do(t, "POST", "/v1/token", form.Encode(), header("Content-Type", "application/x-www-form-urlencoded"))
			var tok tokensJSON
			r.Want(http.StatusOK).Strict(&tok)
			e.secret(tok.AccessToken, tok.RefreshToken)
			if tok.TokenType != "Bearer" || tok.User.ID != u.ID {
				t.Errorf("tokens = %+v", tok)
			}
			e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		})

		t.Run("form field twice", func(t *testing.T) {
			body := "grant_type=password&email=grace%40example.com&password=a&password=b"
			e.do(t, "POST", "/v1/token", body, header("Content-Type", "application/x-www-form-urlencoded")).
				WantProblem(http.StatusBadRequest, "invalid_request")
		})

		t.Run("unsupported media type", func(t *testing.T) {
			e.do(t, "POST", "/v1/token", "grant_type: password", header("Content-Type", "text/yaml")).
				WantProblem(http.StatusUnsupportedMediaType, "invalid_request")
		})

		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"grant type missing", map[string]any{"email": "grace@example.com", "password": "x"}, "grant_type"},
			{"grant type unknown", map[string]any{"grant_type": "client_credentials"}, "grant_type"},
			{"email missing", map[string]any{"grant_type": "password", "password": "x"}, "email"},
			{"email invalid", map[string]any{"grant_type": "password", "email": "nope", "password": "x"}, "email"},
			{"password missing", map[string]any{"grant_type": "password", "email": "grace@example.com"}, "password"},
			{"refresh token missing", map[string]any{"grant_type": "refresh_token"}, "refresh_token"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.do(t, "POST", "/v1/token", tc.body).WantFieldError("invalid_request", tc.field)
			})
		}

		t.Run("refresh token garbage", func(t *testing.T) {
			e.refresh(t, "not-a-refresh-token").WantProblem(http.StatusUnauthorized, "token_revoked")
		})
	})
}

// TestInvalidCredentials checks that an unknown email and a wrong password
// answer the very same thing, and that repeated failures are throttled.
func TestInvalidCredentials(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		e.signUp(t, "alan@example.com", testPassword)
		e.passwordlessUser(t, "nopass@example.com")

		signIn := func(email, pw string) *response {
			e.secret(pw)
			return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": pw})
		}
		wrong := signIn("alan@example.com", "wrong password 1")
		unknown := signIn("nobody@example.com", "wrong password 2")
		noPassword := signIn("nopass@example.com", "wrong password 3")
		for _, r := range []*response{wrong, unknown, noPassword} {
			if p := r.WantProblem(http.StatusUnauthorized, "invalid_credentials"); p.Error != "invalid_grant" {
				t.Errorf("RFC 6749 error %q, want invalid_grant", p.Error)
			}
			if r.Header.Get("Retry-After") != "" {
				t.Errorf("Retry-After %q before any lockout", r.Header.Get("Retry-After"))
			}
		}
		if string(wrong.Body) != string(unknown.Body) || string(wrong.Body) != string(noPassword.Body) {
			t.Errorf("bodies differ:\nwrong password: %s\nunknown email:  %s\nno password:    %s", wrong.Body, unknown.Body, noPassword.Body)
		}
		for _, h := range []string{"Content-Type", "Www-Authenticate", "Retry-After"} {
			if wrong.Header.Get(h) != unknown.Header.Get(h) {
				t.Errorf("%s differs: %q vs %q", h, wrong.Header.Get(h), unknown.Header.Get(h))
			}
		}

		// Two more wrong passwords reach five failures for the account.
		signIn("alan@example.com", "wrong password 4").WantProblem(http.StatusUnauthorized, "invalid_credentials")
		signIn("alan@example.com", "wrong password 5").WantProblem(http.StatusUnauthorized, "invalid_credentials")
		// Locked out now: even the right password is refused, with Retry-After.
		r := signIn("alan@example.com", testPassword)
		if p := r.WantProblem(http.StatusTooManyRequests, "rate_limited"); p.Error != "slow_down" {
			t.Errorf("a lockout's RFC 6749 error is %q, want slow_down", p.Error)
		}
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 3600 {
			t.Fatalf("Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
		}
		// The lockout ends when Retry-After says.
		e.Clock.Advance(time.Duration(secs) * time.Second)
		e.signIn(t, "alan@example.com", testPassword)
	})
}

// TestRefreshRotation follows one refresh token chain through rotation,
// a concurrent replay within the grace period, and a replay after it.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		first := e.account(t, "rosa@example.com")

		var second tokensJSON
		e.refresh(t, first.RefreshToken).Want(http.StatusOK).Strict(&second)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("refresh answered the same tokens")
		}
		if second.TokenType != "Bearer" || second.ExpiresIn != 900 || second.User.Email != "rosa@example.com" {
			t.Errorf("tokens = %+v", second)
		}
		c := e.check(t, bearer(second.AccessToken)).Want(http.StatusOK)
		sid := c.Header.Get("X-Auth-Session-Id")
		if first := e.check(t, bearer(first.AccessToken)).Want(http.StatusOK); first.Header.Get("X-Auth-Session-Id") != sid {
			t.Error("rotation changed the session")
		}

		// A concurrent client replays the old token within the grace period
		// and gets the same successor.
		e.Clock.Advance(5 * time.Second)
		var replay tokensJSON
		e.refresh(t, first.RefreshToken).Want(http.StatusOK).Strict(&replay)
		if replay.RefreshToken != second.RefreshToken {
			t.Error("a replay within the grace period answered another successor")
		}
		e.check(t, bearer(replay.AccessToken)).Want(http.StatusOK)

		// After the grace period a replay is theft: the session dies.
		e.Clock.Advance(6 * time.Second) // 11 s after the rotation
		e.refresh(t, first.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, bearer(second.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, bearer(replay.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, second.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
	})
}

// TestRefreshExpiry checks that a refresh token outlives neither its
// session's idle timeout nor its absolute lifetime.
func TestRefreshExpiry(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.account(t, "idle@example.com")
		e.Clock.Advance(e.Config.SessionTTL + time.Second)
		e.refresh(t, tok.RefreshToken).WantProblem(http.StatusUnauthorized, "token_expired")
	})
}
