package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// The passkey routes (WebAuthn): adding, listing, renaming and removing
// the signed-in user's passkeys, and signing in with one. Options and
// credentials travel in the browser's JSON forms; every ceremony's
// challenge is single use, lives 5 minutes and is named by challenge_id.
// With passkeys off (a public URL that cannot serve them) every route
// answers 503 unavailable.

type ceremonyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		ChallengeID string          `json:"challenge_id" doc:"Send it back with the credential to finish; single use, 5 minutes."`
		PublicKey   json.RawMessage `json:"publicKey" doc:"The options in the browser's JSON form (PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON), for navigator.credentials.create or get."`
	}
}

func ceremony(id string, options []byte) *ceremonyOutput {
	out := &ceremonyOutput{CacheControl: "no-store"}
	out.Body.ChallengeID, out.Body.PublicKey = id, options
	return out
}

// registerFinishInput finishes a passkey's registration: one added to an
// account, or the first of a new one (sign-up).
type registerFinishInput struct {
	Body struct {
		ChallengeID string          `json:"challenge_id" maxLength:"128"`
		Name        string          `json:"name,omitempty" maxLength:"256" doc:"The passkey's name; by default the authenticator's provider (from its AAGUID), else \"Passkey\"."`
		Credential  json.RawMessage `json:"credential" doc:"The browser's RegistrationResponseJSON."`
	}
}

type loginBeginInput struct {
	Body struct {
		Email string `json:"email,omitempty" maxLength:"320" doc:"Lists the account's passkeys in allowCredentials; without it the sign-in is usernameless."`
	}
}

type signUpBeginInput struct {
	Body struct {
		Email string `json:"email" maxLength:"320" doc:"The new account's email; a known one is 409 email_taken."`
		Name  string `json:"name,omitempty" maxLength:"200" doc:"The person's name for the profile, as POST /v1/signup takes it (the finish's name is the passkey's)."`
	}
}

type loginFinishInput struct {
	Body struct {
		ChallengeID string          `json:"challenge_id" maxLength:"128"`
		Credential  json.RawMessage `json:"credential" doc:"The browser's AuthenticationResponseJSON."`
	}
}

// PasskeyView is a passkey as its owner sees it.
type PasskeyView struct {
	ID         string     `json:"id" doc:"The credential ID, base64url without padding."`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"null until its first sign-in."`
	BackedUp   bool       `json:"backed_up" doc:"The passkey is synced (its backup state)."`
}

func passkeyView(p *auth.Passkey) PasskeyView {
	return PasskeyView{ID: p.IDString(), Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, BackedUp: p.BackupState}
}

type passkeyOutput struct {
	Body PasskeyView
}

type passkeysOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Credentials []PasskeyView `json:"credentials"`
	}
}

type passkeyIDInput struct {
	ID string `path:"id" maxLength:"1400" doc:"The credential ID, base64url."`
}

type passkeyRenameInput struct {
	ID   string `path:"id" maxLength:"1400" doc:"The credential ID, base64url."`
	Body struct {
		Name string `json:"name" maxLength:"256"`
	}
}

// passkeyOp fills the defaults of a signed-in user's passkey operation.
func (s *Server) passkeyOp(o huma.Operation) huma.Operation {
	o = s.userOp(o)
	o.Tags = []string{"Passkeys"}
	o.Errors = append(o.Errors, http.StatusServiceUnavailable)
	return o
}

// registerPasskeys registers /v1/webauthn.
func (s *Server) registerPasskeys() {
	huma.Register(s.api, s.passkeyOp(huma.Operation{
		OperationID: "passkeyRegisterBegin", Method: http.MethodPost, Path: "/v1/webauthn/register/begin",
		Summary:     "Start adding a passkey",
		Description: "Answers the creation options: a discoverable credential, user verification preferred, attestation none, the user's passkeys excluded. With a second factor on, this needs an aal2 session (403 forbidden).",
		Errors:      []int{http.StatusForbidden},
	}), func(ctx context.Context, _ *struct{}) (*ceremonyOutput, error) {
		id, opts, err := s.auth.BeginPasskeyRegistration(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return ceremony(id, opts), nil
	})
	huma.Register(s.api, s.passkeyOp(huma.Operation{
		OperationID: "passkeyRegisterFinish", Method: http.MethodPost, Path: "/v1/webauthn/register/finish", DefaultStatus: http.StatusCreated,
		Summary:     "Finish adding a passkey",
		Description: "Verifies the browser's RegistrationResponseJSON against the challenge (used up either way) and stores the passkey. 400 invalid_credential when it does not verify (wrong origin or RP, a used, expired or another user's challenge).",
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *registerFinishInput) (*passkeyOutput, error) {
		pk, err := s.auth.FinishPasskeyRegistration(ctx, principalOf(ctx), in.Body.ChallengeID, in.Body.Name, in.Body.Credential, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &passkeyOutput{Body: passkeyView(pk)}, nil
	})
	huma.Register(s.api, s.passkeyOp(huma.Operation{
		OperationID: "passkeys", Method: http.MethodGet, Path: "/v1/webauthn/credentials",
		Summary:     "List the user's passkeys",
		Description: "Oldest first.",
	}), func(ctx context.Context, _ *struct{}) (*passkeysOutput, error) {
		list, err := s.auth.Passkeys(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &passkeysOutput{CacheControl: "no-store"}
		out.Body.Credentials = make([]PasskeyView, len(list))
		for i := range list {
			out.Body.Credentials[i] = passkeyView(&list[i])
		}
		return out, nil
	})
	huma.Register(s.api, s.passkeyOp(huma.Operation{
		OperationID: "renamePasskey", Method: http.MethodPatch, Path: "/v1/webauthn/credentials/{id}", DefaultStatus: http.StatusNoContent,
		Summary:     "Rename a passkey",
		Description: "name: 1 to 64 characters. 404 not_found for a passkey that is not the user's.",
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}), func(ctx context.Context, in *passkeyRenameInput) (*struct{}, error) {
		id, err := auth.ParsePasskeyID(in.ID)
		if err == nil {
			err = s.auth.RenamePasskey(ctx, principalOf(ctx), id, in.Body.Name)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})
	huma.Register(s.api, s.passkeyOp(huma.Operation{
		OperationID: "removePasskey", Method: http.MethodDelete, Path: "/v1/webauthn/credentials/{id}", DefaultStatus: http.StatusNoContent,
		Summary:     "Remove a passkey",
		Description: "With a second factor on, this needs an aal2 session (403 forbidden). 409 conflict when it is the account's last way to sign in (no password, no proven email or phone, no other passkey, no linked identity); 404 not_found for a passkey that is not the user's.",
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}), func(ctx context.Context, in *passkeyIDInput) (*struct{}, error) {
		id, err := auth.ParsePasskeyID(in.ID)
		if err == nil {
			err = s.auth.RemovePasskey(ctx, principalOf(ctx), id, auth.ClientFrom(ctx))
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})
	ceremonyLimit := fmt.Sprintf(" 429 rate_limited with Retry-After once this client address began %s in the last minute (GATEHOUSE_CLIENT_CEREMONY_LIMIT).",
		plural(s.settings().ClientCeremonyLimit, "passkey ceremony"))
	huma.Register(s.api, op(huma.Operation{
		OperationID: "passkeyLoginBegin", Method: http.MethodPost, Path: "/v1/webauthn/login/begin",
		Summary:     "Start a passkey sign-in",
		Description: "Answers the request options, user verification required. Without email the sign-in is usernameless (empty allowCredentials). With email, allowCredentials lists the account's passkeys; an unknown email, or an account without passkeys, gets options of the same shape (a credential that signs nobody in), so the answer does not tell whether the account exists." + ceremonyLimit,
		Errors:      []int{http.StatusBadRequest, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *loginBeginInput) (*ceremonyOutput, error) {
		id, opts, err := s.auth.BeginPasskeyLogin(ctx, in.Body.Email)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return ceremony(id, opts), nil
	})
	huma.Register(s.api, op(huma.Operation{
		OperationID: "passkeyLoginFinish", Method: http.MethodPost, Path: "/v1/webauthn/login/finish",
		Summary:     "Sign in with a passkey",
		Description: "Verifies the browser's AuthenticationResponseJSON against the challenge (used up either way) and answers as POST /v1/token: aal2 tokens with amr [\"webauthn\"], the authenticator having verified the user. 401 invalid_credentials for an unknown credential, a bad signature, a wrong origin or RP, a used or expired challenge, no user verification, or a signature counter that went backwards (which is audited). Failures count against the client's wrong-code limit (429 rate_limited with Retry-After).",
		Errors:      []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *loginFinishInput) (*tokensOutput, error) {
		c := auth.ClientFrom(ctx)
		p, err := s.auth.SignInPasskey(ctx, in.Body.ChallengeID, in.Body.Credential)
		var g *auth.Grant
		if err == nil {
			g, err = s.auth.Finish(ctx, p, c, auth.Tokens)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &tokensOutput{CacheControl: "no-store", Body: tokensView(g)}, nil
	})
	huma.Register(s.api, op(huma.Operation{
		OperationID: "passkeySignUpBegin", Method: http.MethodPost, Path: "/v1/webauthn/signup/begin",
		Summary: "Start creating an account with a passkey (no password)",
		Description: "Answers the creation options for the new account's first passkey: a discoverable credential, user verification required (the passkey is the account's only credential), attestation none; the user handle is the new account's ID. " +
			"400 for an email that is not valid, 409 email_taken for a known one (as POST /v1/signup), 403 forbidden when sign-up without a password is off (GATEHOUSE_PASSWORDLESS_SIGNUP)." + ceremonyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *signUpBeginInput) (*ceremonyOutput, error) {
		id, opts, err := s.auth.BeginPasskeySignUp(ctx, in.Body.Email, in.Body.Name)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return ceremony(id, opts), nil
	})
	huma.Register(s.api, op(huma.Operation{
		OperationID: "passkeySignUpFinish", Method: http.MethodPost, Path: "/v1/webauthn/signup/finish", DefaultStatus: http.StatusCreated,
		Summary: "Create the account with its passkey, and sign in",
		Description: "Verifies the browser's RegistrationResponseJSON against the sign-up's challenge (used up either way), stores the account (no password, its email not proven yet) and the passkey, and answers 201 with aal2 tokens of amr [\"webauthn\"], as POST /v1/token does. A code and link to prove the email go out as after POST /v1/signup; until it is proven, the first code or link sign-in of the address is a claim that removes the passkey (proving it from this session keeps it). " +
			"400 invalid_credential when the response does not verify (wrong origin or RP, no user verification, a used, expired or another ceremony's challenge); 409 email_taken when another sign-up took the email meanwhile (nothing is stored).",
		Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *registerFinishInput) (*tokensOutput, error) {
		c := auth.ClientFrom(ctx)
		p, err := s.auth.SignUpPasskey(ctx, in.Body.ChallengeID, in.Body.Credential, in.Body.Name, c)
		var g *auth.Grant
		if err == nil {
			g, err = s.auth.Finish(ctx, p, c, auth.Tokens)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &tokensOutput{CacheControl: "no-store", Body: tokensView(g)}, nil
	})
}
