package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

type otpInput struct {
	Body struct {
		Email      string `json:"email,omitempty" doc:"Where to send the code or link; or"`
		Phone      string `json:"phone,omitempty" maxLength:"64" doc:"a phone in international format (+ and the country code), for a code by SMS."`
		Type       string `json:"type,omitempty" enum:"code,link" doc:"code (default): a numeric code; link: a magic link that also shows the code (email only)."`
		RedirectTo string `json:"redirect_to,omitempty" maxLength:"2048" doc:"Where the link sends the browser; used only when its origin is in GATEHOUSE_ALLOWED_REDIRECTS."`
	}
}

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

type acceptedOutput struct {
	Body struct{}
}

func (s *Server) registerOTP() {
	cfg := s.settings()
	huma.Register(s.api, op(huma.Operation{
		OperationID: "requestCode", Method: http.MethodPost, Path: "/v1/otp", DefaultStatus: http.StatusAccepted,
		Summary: "Send a sign-in code or magic link by email, or a code by SMS",
		Description: "Always 202, whether or not an account has the address (and in the same time), so the answer reveals nothing. " +
			fmt.Sprintf("A code has %d digits and is valid %s; a link is valid %s. ", cfg.OTPLength, span(cfg.OTPTTL), span(cfg.MagicLinkTTL)) +
			"An unknown address gets an account when the code or link is used, unless GATEHOUSE_PASSWORDLESS_SIGNUP is false. " +
			"429 rate_limited with Retry-After when the address was sent a message in the last minute, or ten in the last hour, or (SMS) when the number's country reached its hourly cap (GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT). " +
			"400 for a phone that is not valid or not from an allowed country (GATEHOUSE_SMS_ALLOWED_COUNTRIES); 503 unavailable when the channel is not configured.",
		Errors: []int{http.StatusBadRequest, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *otpInput) (*acceptedOutput, error) {
		err := s.auth.RequestCode(ctx, auth.CodeRequest{
			Email: in.Body.Email, Phone: in.Body.Phone, Link: in.Body.Type == "link", RedirectTo: in.Body.RedirectTo,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &acceptedOutput{}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "recover", Method: http.MethodPost, Path: "/v1/recover", DefaultStatus: http.StatusAccepted,
		Summary:     "Send a password reset code and link by email",
		Description: "Always 202 for a valid address, known or not; only an existing account gets the message.",
		Errors:      []int{http.StatusBadRequest, http.StatusTooManyRequests},
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
			g, err = s.auth.Finish(ctx, p, clientOf(ctx), auth.Tokens)
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &tokensOutput{CacheControl: "no-store", Body: tokensView(g)}, nil
	})
}
