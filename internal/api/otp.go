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

type acceptedOutput struct {
	Body struct{}
}

// registerOTP registers /v1/otp, which sends a sign-in code or link.
func (s *Server) registerOTP() {
	cfg := s.settings()
	huma.Register(s.api, op(huma.Operation{
		OperationID: "requestCode", Method: http.MethodPost, Path: "/v1/otp", DefaultStatus: http.StatusAccepted,
		Summary: "Send a sign-in code or magic link by email, or a code by SMS",
		Description: "Always 202, whether or not an account has the address (and in the same time), so the answer reveals nothing. " +
			fmt.Sprintf("A code has %d digits and is valid %s; a link is valid %s. ", cfg.OTPLength, span(cfg.OTPTTL), span(cfg.MagicLinkTTL)) +
			"An unknown address gets an account when the code or link is used, unless GATEHOUSE_PASSWORDLESS_SIGNUP is false. " +
			"429 rate_limited with Retry-After when the address was sent a message in the last minute, or ten in the last hour, or (SMS) when the number's country reached its hourly cap (GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT). " +
			sendLimits(cfg) +
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
}
