package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
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

// TestTokenRequests holds the token endpoint to what RFC 6749 clients
// send, as forms and as JSON: each answer's status, problem code, RFC 6749
// error and the field named.
func TestTokenRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	e.signUp(t, "form@example.com", testPassword)
	e.secret("wrong password")
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	basic := func(id, secret string) reqOpt {
		return func(r *http.Request) { r.SetBasicAuth(id, secret) }
	}
	for _, tc := range []struct {
		name   string
		body   any
		opts   []reqOpt
		status int
		code   string // the problem's; "" for tokens
		oauth  string
		field  string
	}{
		{"form, username an email", form("grant_type", "password", "username", "form@example.com", "password", testPassword), nil, 200, "", "", ""},
		{"form, client_id and scope", form("grant_type", "password", "username", "form@example.com", "password", testPassword, "client_id", "app", "scope", "openid offline_access"), nil, 200, "", "", ""},
		{"json, client_id and scope", map[string]string{"grant_type": "password", "username": "form@example.com", "password": testPassword, "client_id": "app", "scope": "x"}, nil, 200, "", "", ""},
		{"form, empty client_secret", form("grant_type", "password", "username", "form@example.com", "password", testPassword, "client_secret", ""), nil, 200, "", "", ""},
		{"basic auth without a password", form("grant_type", "password", "username", "form@example.com", "password", testPassword), []reqOpt{basic("app", "")}, 200, "", "", ""},
		{"a bearer header is not client authentication", form("grant_type", "password", "email", "form@example.com", "password", testPassword), []reqOpt{bearer("whatever")}, 200, "", "", ""},

		{"wrong password", form("grant_type", "password", "username", "form@example.com", "password", "wrong password"), nil, 401, "invalid_credentials", "invalid_grant", ""},
		{"refresh token unknown", form("grant_type", "refresh_token", "refresh_token", "nope"), nil, 401, "token_revoked", "invalid_grant", ""},
		{"magic link unknown", form("grant_type", "magic_link", "token", "nope"), nil, 401, "invalid_code", "invalid_grant", ""},
		{"grant_type missing", form("username", "form@example.com", "password", "x"), nil, 400, "invalid_request", "invalid_request", "grant_type"},
		{"grant_type unsupported", form("grant_type", "client_credentials"), nil, 400, "invalid_request", "unsupported_grant_type", "grant_type"},
		{"grant_type unsupported, json", map[string]string{"grant_type": "authorization_code", "code": "x"}, nil, 400, "invalid_request", "unsupported_grant_type", "grant_type"},
		{"username and email", form("grant_type", "password", "username", "form@example.com", "email", "form@example.com", "password", "x"), nil, 400, "invalid_request", "invalid_request", "username"},
		{"username not an email", form("grant_type", "password", "username", "a@", "password", "x"), nil, 400, "invalid_request", "invalid_request", "username"},
		{"username not a phone", form("grant_type", "password", "username", "form", "password", "x"), nil, 400, "invalid_request", "invalid_request", "username"},
		{"username missing", form("grant_type", "password", "password", "x"), nil, 400, "invalid_request", "invalid_request", "email"},
		{"password missing", form("grant_type", "password", "username", "form@example.com"), nil, 400, "invalid_request", "invalid_request", "password"},
		{"refresh_token missing", form("grant_type", "refresh_token"), nil, 400, "invalid_request", "invalid_request", "refresh_token"},
		{"otp code missing", form("grant_type", "otp", "username", "form@example.com"), nil, 400, "invalid_request", "invalid_request", "code"},
		{"mfa token missing", form("grant_type", "mfa", "factor", "totp", "code", "123456"), nil, 400, "invalid_request", "invalid_request", "mfa_token"},
		{"unknown field", form("grant_type", "password", "username", "form@example.com", "password", "x", "audience", "api"), nil, 400, "invalid_request", "invalid_request", "audience"},
		{"field given twice", form("grant_type", "password", "username", "form@example.com", "password", "a", "password", "b"), nil, 400, "invalid_request", "invalid_request", "body"},
		{"malformed form", "grant_type=%zz", []reqOpt{header("Content-Type", "application/x-www-form-urlencoded")}, 400, "invalid_request", "invalid_request", "body"},
		{"client_id too long", form("grant_type", "refresh_token", "refresh_token", "x", "client_id", strings.Repeat("a", 257)), nil, 400, "invalid_request", "invalid_request", "client_id"},
		{"client secret in the body", form("grant_type", "password", "username", "form@example.com", "password", testPassword, "client_secret", "s3cret"), nil, 401, "unauthorized", "invalid_client", "client_secret"},
		{"client secret by basic auth", form("grant_type", "password", "username", "form@example.com", "password", testPassword), []reqOpt{basic("app", "s3cret")}, 401, "unauthorized", "invalid_client", ""},
		{"malformed basic auth", form("grant_type", "password", "username", "form@example.com", "password", testPassword), []reqOpt{header("Authorization", "Basic !!!")}, 401, "unauthorized", "invalid_client", ""},
		{"unsupported media type", "grant_type: password", []reqOpt{header("Content-Type", "text/yaml")}, 415, "invalid_request", "invalid_request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "/v1/token", tc.body, tc.opts...)
			if tc.code == "" {
				var tok tokensJSON
				r.Want(tc.status).Strict(&tok)
				e.secret(tok.AccessToken, tok.RefreshToken)
				return
			}
			p := r.WantProblem(tc.status, tc.code)
			if p.Error != tc.oauth {
				t.Errorf("error %q, want %q", p.Error, tc.oauth)
			}
			if tc.field != "" && !p.HasField(tc.field) {
				t.Errorf("errors name %q, want %q: %s", p.Fields(), tc.field, r.Body)
			}
			if p.ErrorDescription == "" || strings.ContainsFunc(p.ErrorDescription, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
				t.Errorf("error_description %q: want RFC 6749's characters only", p.ErrorDescription)
			}
			if tc.oauth == "invalid_client" && tc.opts != nil {
				if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic ") {
					t.Errorf("WWW-Authenticate %q, want the Basic scheme the client used", h)
				}
			}
		})
	}

	// Other operations' problems are the contract's, without the RFC 6749
	// members.
	r := e.do(t, "POST", "/v1/signup", map[string]string{"email": "nope"})
	if p := r.WantFieldError("invalid_request", "email"); p.Error != "" || p.ErrorDescription != "" {
		t.Errorf("signup's problem has RFC 6749 members: %s", r.Body)
	}
}

// TestOAuth2ClientPhone signs in with a phone as the username.
func TestOAuth2ClientPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, gatehousetest.WithTwilio())
	var u userJSON
	e.do(t, "POST", "/v1/signup", map[string]string{"phone": "+1 415 555 0123", "password": testPassword}).Want(http.StatusCreated).Decode(&struct {
		User *userJSON `json:"user"`
	}{&u})
	cfg, ctx := e.oauthConfig(oauth2.AuthStyleInParams)
	tok, err := cfg.PasswordCredentialsToken(ctx, "+14155550123", testPassword)
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	e.secret(tok.AccessToken, tok.RefreshToken)
	if id := e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK).Header.Get("X-Auth-User-Id"); id != u.ID || id == "" {
		t.Errorf("the token is %q's, want %q's", id, u.ID)
	}
}

// TestTokenBodyEndsEarly: a token request whose body ends before its
// Content-Length, refused before huma runs, still carries RFC 6749's
// members.
func TestTokenBodyEndsEarly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	host := strings.TrimPrefix(e.URL, "http://")
	req := "POST /v1/token HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ngrant_type=pass"
	res := rawResponse(t, e.URL, req)
	if res == nil {
		t.Fatal("no answer")
	}
	defer res.Body.Close()
	var p problem
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusBadRequest || p.Code != "invalid_request" || p.Error != "invalid_request" || p.ErrorDescription == "" {
		t.Errorf("%d %+v, want 400 invalid_request with RFC 6749's members", res.StatusCode, p)
	}
}
