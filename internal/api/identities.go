package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// The linked identities routes: the sign-ins with other providers (OAuth
// 2.0 / OpenID Connect) linked to the signed-in account, listed and
// unlinked; and, for the admin API only, the provider's own tokens when a
// provider's setting asks for them to be kept.

// IdentityView is a linked identity as its owner (or an admin) sees it:
// what the provider said at the last sign-in with it.
type IdentityView struct {
	ID            string     `json:"id" format:"uuid"`
	Provider      string     `json:"provider" doc:"The provider's configured name (google, github, …)."`
	Email         string     `json:"email" doc:"The email the provider gave, \"\" for none; it decides nothing once linked."`
	EmailVerified bool       `json:"email_verified" doc:"The provider vouched for the email."`
	Name          string     `json:"name" doc:"The provider's profile name, \"\" for none."`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at" doc:"The last sign-in with it; null until the first one after it was linked."`
	TokensKept    bool       `json:"provider_tokens_kept" doc:"The provider's access and refresh tokens are kept (sealed) for it: only when GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS=true. Only the admin API gives them out."`
}

func identityView(i *auth.LinkedIdentity) IdentityView {
	return IdentityView{ID: i.ID, Provider: i.Provider, Email: i.Email, EmailVerified: i.EmailVerified, Name: i.Name,
		CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt, TokensKept: i.HasTokens}
}

type providerTokensInput struct {
	UserID     string `path:"id" maxLength:"64"`
	IdentityID string `path:"identity_id" maxLength:"64"`
}

type providerTokensOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Provider     string     `json:"provider" doc:"The provider's configured name."`
		AccessToken  string     `json:"access_token"`
		RefreshToken string     `json:"refresh_token,omitempty" doc:"Absent when the provider sent none."`
		TokenType    string     `json:"token_type,omitempty"`
		ExpiresAt    *time.Time `json:"expires_at,omitempty" doc:"When the access token expires; absent when the provider did not say."`
		ObtainedAt   time.Time  `json:"obtained_at" doc:"The end of the sign-in that brought them. Gatehouse never refreshes them: use the refresh token at the provider."`
	}
}

func identityViews(list []auth.LinkedIdentity) []IdentityView {
	out := make([]IdentityView, len(list))
	for i := range list {
		out[i] = identityView(&list[i])
	}
	return out
}

type identitiesOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Identities []IdentityView `json:"identities"`
	}
}

type identityIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// registerProviderTokens registers the admin API's read of an identity's
// provider tokens.
func (s *Server) registerProviderTokens() {
	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminProviderTokens", Method: http.MethodGet, Path: "/v1/admin/users/{id}/identities/{identity_id}/tokens",
		Summary: "Read the provider's tokens kept for a linked identity",
		Description: "The access token, refresh token and expiry the provider's code exchange returned at the last browser sign-in " +
			"with the identity, for a backend that calls the provider's API for the user. Kept only when " +
			"GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS=true (404 not_found otherwise, and for an identity that is not the user's). " +
			"Audited (provider_tokens_read).",
		Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *providerTokensInput) (*providerTokensOutput, error) {
		t, err := s.auth.AdminProviderTokens(ctx, in.UserID, in.IdentityID, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &providerTokensOutput{CacheControl: "no-store"}
		out.Body.Provider, out.Body.AccessToken, out.Body.RefreshToken = t.Provider, t.AccessToken, t.RefreshToken
		out.Body.TokenType, out.Body.ObtainedAt = t.TokenType, t.ObtainedAt
		if !t.Expiry.IsZero() {
			out.Body.ExpiresAt = &t.Expiry
		}
		return out, nil
	})
}

// registerIdentities registers /v1/user/identities.
func (s *Server) registerIdentities() {
	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "identities", Method: http.MethodGet, Path: "/v1/user/identities",
		Summary:     "List the sign-ins with other providers linked to the account",
		Description: "Oldest first. 503 unavailable when sign-in with other providers is off.",
		Errors:      []int{http.StatusServiceUnavailable},
	}), func(ctx context.Context, _ *struct{}) (*identitiesOutput, error) {
		list, err := s.auth.Identities(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &identitiesOutput{CacheControl: "no-store"}
		out.Body.Identities = identityViews(list)
		return out, nil
	})
	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "unlinkIdentity", Method: http.MethodDelete, Path: "/v1/user/identities/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Unlink a sign-in with another provider",
		Description: "With a second factor on, this needs an aal2 session (403 forbidden). 409 conflict when it is the account's " +
			"last way to sign in (no password, no proven email or phone, no passkey, no other linked identity); 404 not_found " +
			"for an identity that is not the user's. Audited (identity_unlinked).",
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *identityIDInput) (*struct{}, error) {
		if err := s.auth.UnlinkIdentity(ctx, principalOf(ctx), in.ID, auth.ClientFrom(ctx)); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})
}
