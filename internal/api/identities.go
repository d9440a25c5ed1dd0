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
// unlinked. Provider tokens are never kept, so none is shown.

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
}

func identityView(i *auth.LinkedIdentity) IdentityView {
	return IdentityView{ID: i.ID, Provider: i.Provider, Email: i.Email, EmailVerified: i.EmailVerified, Name: i.Name,
		CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt}
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
