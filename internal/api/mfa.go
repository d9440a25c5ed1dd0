package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

type totpEnrolOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Secret     string `json:"secret" doc:"Base32, to type into an app that cannot scan."`
		OTPAuthURL string `json:"otpauth_url" doc:"otpauth://totp/ URL; issuer GATEHOUSE_APP_NAME, account the email."`
		QRPNG      string `json:"qr_png" contentEncoding:"base64" doc:"The URL as a PNG QR code, base64."`
	}
}

type codeInput struct {
	Body struct {
		Code string `json:"code" maxLength:"32"`
	}
}

type backupCodesOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		BackupCodes []string `json:"backup_codes" doc:"Shown this once; each works once (xxxx-xxxx-xx)."`
	}
}

// backupCodes returns the response that shows new backup codes, once.
func backupCodes(codes []string) *backupCodesOutput {
	out := &backupCodesOutput{CacheControl: "no-store"}
	out.Body.BackupCodes = codes
	if codes == nil {
		out.Body.BackupCodes = []string{}
	}
	return out
}

type pngOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type mfaChallengeInput struct {
	Body struct {
		MFAToken string `json:"mfa_token" maxLength:"128"`
		Factor   string `json:"factor" enum:"email,webauthn"`
	}
}

// mfaChallengeOutput is 202 {} for email (the code is on its way) and
// 200 {challenge_id, publicKey} for webauthn (a ceremony to finish with
// the mfa grant).
type mfaChallengeOutput struct {
	Status       int
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		ChallengeID string          `json:"challenge_id,omitempty" doc:"webauthn: send it back with the credential in the mfa grant; single use, 5 minutes, this mfa_token only."`
		PublicKey   json.RawMessage `json:"publicKey,omitempty" doc:"webauthn: the PublicKeyCredentialRequestOptionsJSON (the user's passkeys allowed, user verification preferred), for navigator.credentials.get."`
	}
}

// stepUpOutput is a step-up's first step: the MFA token to finish with the
// mfa grant, and the factors that can.
type stepUpOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		MFAToken string   `json:"mfa_token" doc:"Finish with POST /v1/token, grant_type mfa; single use, 5 minutes, this session only."`
		Factors  []string `json:"factors" doc:"The second factors that can finish it: totp, email, backup_code, webauthn."`
	}
}

// mfaOp fills the defaults of a signed-in user's second-factor operation.
func (s *Server) mfaOp(o huma.Operation) huma.Operation {
	o = s.userOp(o)
	o.Tags = []string{"Second factors"}
	return o
}

// registerMFA registers /v1/mfa: the signed-in user's second factors, and
// the email code a sign-in's second step asks for.
func (s *Server) registerMFA() {
	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "enrolTOTP", Method: http.MethodPost, Path: "/v1/mfa/totp",
		Summary:     "Start setting up an authenticator app",
		Description: "Answers the secret, its otpauth URL and a QR code. Nothing changes until POST /v1/mfa/totp/verify confirms a code from the app; an unconfirmed set-up expires after 15 minutes and starting again replaces it. With a second factor already on, this needs an aal2 session.",
		Errors:      []int{http.StatusBadRequest, http.StatusForbidden},
	}), func(ctx context.Context, _ *struct{}) (*totpEnrolOutput, error) {
		e, err := s.auth.EnrollTOTP(ctx, principalOf(ctx), auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		img, err := httpauth.QRPNG(e.URL)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &totpEnrolOutput{CacheControl: "no-store"}
		out.Body.Secret, out.Body.OTPAuthURL, out.Body.QRPNG = e.Secret, e.URL, base64.StdEncoding.EncodeToString(img)
		return out, nil
	})

	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "confirmTOTP", Method: http.MethodPost, Path: "/v1/mfa/totp/verify",
		Summary:     "Confirm the authenticator app with a code from it",
		Description: "Turns the authenticator on and answers 10 backup codes, shown this once (the old ones die).",
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *codeInput) (*backupCodesOutput, error) {
		codes, err := s.auth.ConfirmTOTP(ctx, principalOf(ctx), in.Body.Code, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return backupCodes(codes), nil
	})

	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "totpQR", Method: http.MethodGet, Path: "/v1/mfa/totp/qr",
		Summary:     "The authenticator's QR code again (image/png)",
		Description: "Only for an aal2 session signed in less than 10 minutes ago: the image holds the secret.",
		Responses:   map[string]*huma.Response{"200": {Description: "PNG", Content: map[string]*huma.MediaType{"image/png": {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound},
	}), func(ctx context.Context, _ *struct{}) (*pngOutput, error) {
		url, err := s.auth.TOTPURL(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		img, err := httpauth.QRPNG(url)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &pngOutput{ContentType: "image/png", CacheControl: "no-store", Body: img}, nil
	})

	for _, kind := range []string{auth.FactorTOTP, auth.FactorEmail} {
		huma.Register(s.api, s.mfaOp(huma.Operation{
			OperationID: "remove" + map[string]string{"totp": "TOTP", "email": "EmailFactor"}[kind], Method: http.MethodDelete,
			Path: "/v1/mfa/" + kind, DefaultStatus: http.StatusNoContent,
			Summary:     "Turn the " + map[string]string{"totp": "authenticator app", "email": "email second factor"}[kind] + " off",
			Description: "Needs an aal2 session. When the last factor goes, the backup codes go too.",
			Errors:      []int{http.StatusForbidden, http.StatusNotFound},
		}), func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			if err := s.auth.RemoveFactor(ctx, principalOf(ctx), kind, auth.ClientFrom(ctx)); err != nil {
				return nil, s.fail(ctx, err)
			}
			return nil, nil
		})
	}

	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "enableEmailFactor", Method: http.MethodPost, Path: "/v1/mfa/email",
		Summary:     "Make emailed codes a second factor",
		Description: "When this is the account's first factor, the answer carries 10 backup codes, shown this once; otherwise backup_codes is empty. With a factor already on, this needs an aal2 session.",
		Errors:      []int{http.StatusBadRequest, http.StatusForbidden},
	}), func(ctx context.Context, _ *struct{}) (*backupCodesOutput, error) {
		codes, err := s.auth.EnableEmailFactor(ctx, principalOf(ctx), auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return backupCodes(codes), nil
	})

	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "newBackupCodes", Method: http.MethodPost, Path: "/v1/mfa/backup-codes",
		Summary:     "A fresh set of 10 backup codes (the old ones die)",
		Description: "Needs a second factor on and an aal2 session.",
		Errors:      []int{http.StatusBadRequest, http.StatusForbidden},
	}), func(ctx context.Context, _ *struct{}) (*backupCodesOutput, error) {
		codes, err := s.auth.NewBackupCodes(ctx, principalOf(ctx), auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return backupCodes(codes), nil
	})

	huma.Register(s.api, s.mfaOp(huma.Operation{
		OperationID: "stepUp", Method: http.MethodPost, Path: "/v1/mfa/step-up",
		Summary: "Raise this session to aal2 with a second factor (step-up)",
		Description: "For an API client signed in with its access token, at aal1 where an app asks aal2 (a /v1/check answer of 401 aal2_required). " +
			"Answers {mfa_token, factors} as a sign-in's first step does; finish with POST /v1/token, grant_type mfa (and POST /v1/mfa/challenge for an email code or a passkey). " +
			"The mfa grant then raises this same session (its id stays) to aal2 and answers new access and refresh tokens; the refresh token held before is retired " +
			"(a refresh with it is refused, and after the refresh grace taken as reuse, which ends the session), and access tokens signed before stay aal1. " +
			"403 forbidden when the account has no second factor usable after the session's first factor (set one up first; an emailed code does not follow an emailed first factor). " +
			"400 invalid_request for a browser's cookie session: browsers step up on the /step-up page.",
		Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusServiceUnavailable},
	}), func(ctx context.Context, _ *struct{}) (*stepUpOutput, error) {
		m, err := s.auth.StepUp(ctx, principalOf(ctx), auth.ClientFrom(ctx), auth.Tokens)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &stepUpOutput{CacheControl: "no-store"}
		out.Body.MFAToken, out.Body.Factors = m.Token, m.Factors
		return out, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "mfaChallenge", Method: http.MethodPost, Path: "/v1/mfa/challenge", DefaultStatus: http.StatusAccepted,
		Summary: "Start the second step of a sign-in: email its code, or begin its passkey",
		Description: "factor email: for an mfa_token whose factors include email, emails the code and answers 202 {}; 429 rate_limited with Retry-After within a minute of the last message to the address. " +
			"factor webauthn: for an mfa_token whose factors include webauthn (the user has a passkey), answers 200 {challenge_id, publicKey}: request options listing the user's passkeys, user verification preferred (holding the passkey is the second factor). " +
			"Finish with POST /v1/token, grant_type mfa, factor webauthn, challenge_id and the AuthenticationResponseJSON as credential; the challenge finishes this mfa_token only. " +
			fmt.Sprintf("429 rate_limited with Retry-After once this client address began %s in the last minute (GATEHOUSE_CLIENT_CEREMONY_LIMIT).", plural(s.settings().ClientCeremonyLimit, "passkey ceremony")),
		Responses: map[string]*huma.Response{"200": {
			Description: "webauthn: the passkey ceremony to finish with the mfa grant ({challenge_id, publicKey}); email answers 202 {}.",
			Content:     map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/MfaChallengeOutputBody"}}},
		}},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *mfaChallengeInput) (*mfaChallengeOutput, error) {
		out := &mfaChallengeOutput{Status: http.StatusAccepted}
		if in.Body.Factor == auth.FactorWebAuthn {
			id, opts, err := s.auth.BeginPasskeySecondFactor(ctx, in.Body.MFAToken)
			if err != nil {
				return nil, s.fail(ctx, err)
			}
			out.Status, out.CacheControl = http.StatusOK, "no-store"
			out.Body.ChallengeID, out.Body.PublicKey = id, opts
			return out, nil
		}
		if err := s.auth.MFAChallenge(ctx, in.Body.MFAToken, in.Body.Factor); err != nil {
			return nil, s.fail(ctx, err)
		}
		return out, nil
	})
}
