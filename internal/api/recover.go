package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

type recoverInput struct {
	Body struct {
		Email string `json:"email"`
	}
}

type recoverVerifyInput struct {
	Body struct {
		Email       string `json:"email,omitempty" doc:"With code."`
		Code        string `json:"code,omitempty" doc:"The emailed code (with email), or"`
		Token       string `json:"token,omitempty" doc:"the token of the emailed link."`
		NewPassword string `json:"new_password"`
	}
}

// registerRecover registers the password reset by an emailed code or link.
func (s *Server) registerRecover() {
	cfg := s.settings()
	huma.Register(s.api, op(huma.Operation{
		OperationID: "recover", Method: http.MethodPost, Path: "/v1/recover", DefaultStatus: http.StatusAccepted,
		Summary: "Send a password reset code and link by email",
		Description: "Always 202 for a valid address, known or not; only an existing account gets the message. " +
			"429 rate_limited with Retry-After when the address was sent a message in the last minute, or ten in the last hour. " + sendLimits(cfg),
		Errors: []int{http.StatusBadRequest, http.StatusTooManyRequests},
	}), func(ctx context.Context, in *recoverInput) (*acceptedOutput, error) {
		if err := s.auth.Recover(ctx, in.Body.Email); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &acceptedOutput{}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "recoverVerify", Method: http.MethodPost, Path: "/v1/recover/verify",
		Summary:     "Set a new password with the emailed code or link",
		Description: fmt.Sprintf("Signs in and revokes every other session of the account. 401 invalid_code/code_expired; 429 too_many_attempts after %s.", plural(cfg.OTPMaxAttempts, "wrong code")),
		Errors:      []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests},
	}), func(ctx context.Context, in *recoverVerifyInput) (*tokensOutput, error) {
		p, err := s.auth.ResetPassword(ctx, auth.RecoverInput{
			Email: in.Body.Email, Code: in.Body.Code, Token: in.Body.Token, NewPassword: in.Body.NewPassword,
		})
		var g *auth.Grant
		if err == nil {
			g, err = s.auth.Finish(ctx, p, auth.ClientFrom(ctx), auth.Tokens)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &tokensOutput{CacheControl: "no-store", Body: tokensView(g)}, nil
	})
}
