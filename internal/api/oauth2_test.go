package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// oauthConfig is a public client of the test server as golang.org/x/oauth2
// sees it: no secret, the token endpoint from the discovery document.
func (e *env) oauthConfig(style oauth2.AuthStyle) (*oauth2.Config, context.Context) {
	c := &oauth2.Config{
		ClientID: "cli-app",
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/v1/token", AuthStyle: style},
		Scopes:   []string{"openid", "profile"},
	}
	return c, context.WithValue(context.Background(), oauth2.HTTPClient, e.Client)
}

// TestOAuth2Client signs in, refreshes and fails as golang.org/x/oauth2's
// password-credentials client does, with each way it sends its client ID.
func TestOAuth2Client(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"client_id in the body", oauth2.AuthStyleInParams},
		{"basic auth with an empty secret", oauth2.AuthStyleInHeader},
		{"auto-detected", oauth2.AuthStyleAutoDetect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sqliteDB)
			u := e.signUp(t, "oauth@example.com", testPassword)
			cfg, ctx := e.oauthConfig(tc.style)

			tok, err := cfg.PasswordCredentialsToken(ctx, "oauth@example.com", testPassword)
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			e.secret(tok.AccessToken, tok.RefreshToken)
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.ExpiresIn != 900 {
				t.Errorf("token = %+v", tok)
			}
			if id := e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK).Header.Get("X-Auth-User-Id"); id != u.ID {
				t.Errorf("the token is %q's, want %q's", id, u.ID)
			}

			// Past the access token's lifetime on both clocks: the server's
			// (the fake one) and the client's (its expiry, set by wall time).
			e.Clock.Advance(e.Config.AccessTokenTTL + time.Second)
			e.check(t, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_expired")
			tok.Expiry = time.Now().Add(-time.Second)
			next, err := cfg.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			e.secret(next.AccessToken, next.RefreshToken)
			if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
				t.Error("the token source did not refresh")
			}
			e.check(t, bearer(next.AccessToken)).Want(http.StatusOK)

			e.secret("not the password")
			_, err = cfg.PasswordCredentialsToken(ctx, "oauth@example.com", "not the password")
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription == "" || re.Response.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a wrong password: %#v, want a RetrieveError with invalid_grant", err)
			}
		})
	}
}
