package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

type tokenInput struct {
	Body struct {
		GrantType    string          `json:"grant_type" enum:"password,refresh_token,otp,magic_link,mfa,id_token"`
		Username     string          `json:"username,omitempty" maxLength:"320" doc:"grant_type password and otp, instead of email or phone (RFC 6749's name): an email when it has an @, else a phone in international format."`
		Email        string          `json:"email,omitempty" doc:"grant_type password and otp."`
		Phone        string          `json:"phone,omitempty" maxLength:"64" doc:"grant_type password and otp, instead of email: the account's phone, in international format."`
		Password     string          `json:"password,omitempty" doc:"grant_type password."`
		RefreshToken string          `json:"refresh_token,omitempty" doc:"grant_type refresh_token."`
		Code         string          `json:"code,omitempty" doc:"grant_type otp: the code sent by email or SMS; grant_type mfa: the second factor's code."`
		Token        string          `json:"token,omitempty" doc:"grant_type magic_link: the token of the emailed link."`
		MFAToken     string          `json:"mfa_token,omitempty" doc:"grant_type mfa: from the mfa_required answer."`
		Factor       string          `json:"factor,omitempty" enum:"totp,email,backup_code,webauthn" doc:"grant_type mfa."`
		ChallengeID  string          `json:"challenge_id,omitempty" maxLength:"128" doc:"grant_type mfa, factor webauthn: from POST /v1/mfa/challenge."`
		Credential   json.RawMessage `json:"credential,omitempty" doc:"grant_type mfa, factor webauthn: the browser's AuthenticationResponseJSON."`
		Provider     string          `json:"provider,omitempty" maxLength:"64" doc:"grant_type id_token: the provider's configured name (google, apple, microsoft, gitlab, or a generic one's)."`
		IDToken      string          `json:"id_token,omitempty" maxLength:"16384" doc:"grant_type id_token: the ID token the provider's own SDK issued to the app (its audience one of GATEHOUSE_OAUTH_<NAME>_CLIENT_ID and _CLIENT_IDS)."`
		Nonce        string          `json:"nonce,omitempty" maxLength:"512" doc:"grant_type id_token: the nonce the app gave the provider's SDK, checked against the token's when given (recommended: it stops a token taken from elsewhere being replayed)."`
		ClientID     string          `json:"client_id,omitempty" maxLength:"256" doc:"Accepted and not checked, as an RFC 6749 public client sends it: Gatehouse has no registered clients. Basic authentication with the client ID and an empty password is accepted too."`
		ClientSecret string          `json:"client_secret,omitempty" maxLength:"256" doc:"Must be empty: Gatehouse has no client secrets (401 invalid_client otherwise)."`
		Scope        string          `json:"scope,omitempty" maxLength:"1024" doc:"Accepted and ignored: tokens carry the account's own rights, whatever scope is asked for."`
	}

	// basicSecret is set by Resolve when the Authorization header is Basic
	// authentication with a password (or malformed): a client secret.
	basicSecret bool
}

type tokensOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         Tokens
}

// registerSignIn registers /v1/token: every grant, the refresh included.
func (s *Server) registerSignIn() {
	cfg := s.settings()
	huma.Register(s.api, op(huma.Operation{
		OperationID: "token", Method: http.MethodPost, Path: "/v1/token",
		Summary: "Sign in, or refresh tokens",
		Description: "The body is JSON or, as RFC 6749 clients send it, a form (application/x-www-form-urlencoded) with the same fields. " +
			"Errors carry RFC 6749's error and error_description beside the problem's fields (invalid_request, invalid_grant for wrong credentials, codes and tokens, unsupported_grant_type, invalid_client for a client secret, slow_down for 429 rate_limited). " +
			"grant_type password signs in with email and password (401 invalid_credentials for any wrong or unknown pair; 429 rate_limited with Retry-After after repeated failures). " +
			fmt.Sprintf("An access token lives %s (expires_in). ", span(cfg.AccessTokenTTL)) +
			fmt.Sprintf("grant_type refresh_token exchanges a refresh token for a new pair; each refresh token is single use, and replaying a rotated one more than %s after its rotation revokes the session (401 token_revoked). ", span(cfg.RefreshGrace)) +
			fmt.Sprintf("A session unused for %s ends, and none outlives %s after its sign-in. ", span(cfg.SessionTTL), span(cfg.RefreshTokenTTL)) +
			fmt.Sprintf("grant_type otp signs in with a code sent by email or, with phone instead of email, by SMS (401 invalid_code or code_expired; 429 too_many_attempts after %s, when the code is dead); grant_type magic_link with an emailed link's token. ", plural(cfg.OTPMaxAttempts, "wrong code")) +
			"When the account has a second factor on, every first factor answers 200 {mfa_required: true, mfa_token, factors} instead of tokens; grant_type mfa with mfa_token, factor (totp, email, backup_code) and code then answers aal2 tokens; factor webauthn takes challenge_id (POST /v1/mfa/challenge) and credential (the AuthenticationResponseJSON) instead of code, and a passkey that does not verify is 401 invalid_credentials, counted like a wrong code. " +
			"grant_type id_token signs in a native app with an ID token the provider's own SDK issued to it (Sign in with Apple, Google Sign-In...): provider, id_token and, when the app set one, nonce. The token is checked as a provider sign-in's (signature against the provider's keys, iss, aud one of the provider's client IDs, exp, nonce), then lands in an account by the same rules: the linked one, else the account with the email the provider vouches for, else a new one (409 conflict when an account has an email the provider does not vouch for). A token that does not verify is 401 invalid_credentials, counted like a wrong code; a provider with no ID tokens (GitHub) or not configured is 400. " +
			codeLimits(cfg),
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusTooManyRequests},
	}), func(ctx context.Context, in *tokenInput) (*tokensOutput, error) {
		if in.basicSecret || in.Body.ClientSecret != "" {
			return nil, clientProblem(in.basicSecret)
		}
		c := auth.ClientFrom(ctx)
		id, err := in.identity()
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		var p *auth.Proof
		var g *auth.Grant
		switch in.Body.GrantType {
		case "password":
			p, err = s.auth.SignInPassword(ctx, id, in.Body.Password, c)
			err = in.byUsername(err)
		case "refresh_token":
			g, err = s.auth.RefreshGrant(ctx, in.Body.RefreshToken, c)
		case "otp":
			p, err = s.auth.SignInCode(ctx, id, in.Body.Code)
			err = in.byUsername(err)
		case "magic_link":
			p, err = s.auth.SignInLink(ctx, in.Body.Token)
		case "id_token":
			p, err = s.signInIDToken(ctx, in.Body.Provider, in.Body.IDToken, in.Body.Nonce)
		case "mfa":
			p, err = s.auth.SecondFactor(ctx, auth.MFAInput{
				Token: in.Body.MFAToken, Factor: in.Body.Factor, Code: in.Body.Code,
				ChallengeID: in.Body.ChallengeID, Credential: in.Body.Credential,
			}, c, auth.Tokens)
		}
		if p != nil {
			g, err = s.auth.Finish(ctx, p, c, auth.Tokens)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &tokensOutput{CacheControl: "no-store", Body: tokensView(g)}, nil
	})
	// RFC 6749 clients send the same fields as a form: say so.
	body := s.api.OpenAPI().Paths["/v1/token"].Post.RequestBody
	body.Content["application/x-www-form-urlencoded"] = body.Content["application/json"]
}

// signInIDToken runs the id_token grant: the provider must be configured
// and issue ID tokens (a field error otherwise, before anything is
// counted), then auth verifies the token through it and decides.
func (s *Server) signInIDToken(ctx context.Context, name, raw, nonce string) (*auth.Proof, error) {
	var pr Provider
	for _, p := range s.o.Providers {
		if p.Name() == name {
			pr = p
		}
	}
	switch {
	case name == "":
		return nil, fieldProblem("provider", "is required")
	case pr == nil:
		return nil, fieldProblem("provider", "is not a provider this server signs in with")
	case !pr.IssuesIDTokens():
		return nil, fieldProblem("provider", pr.Label()+" issues no ID tokens: sign in with it through the browser (/v1/oauth/"+pr.Name()+"/start)")
	case raw == "":
		return nil, fieldProblem("id_token", "is required")
	}
	return s.auth.SignInIDToken(ctx, pr.Name(), func(ctx context.Context) (auth.ProviderIdentity, error) {
		return pr.VerifyIDToken(ctx, raw, nonce)
	})
}

// fieldProblem is a 400 naming one invalid field.
func fieldProblem(field, msg string) error {
	return &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request is not valid.", Fields: []auth.FieldError{{Field: field, Message: msg}}}
}
