package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

type signUpInput struct {
	Body struct {
		Email    string `json:"email,omitempty" doc:"Trimmed and compared case-insensitively. Required unless phone is given."`
		Phone    string `json:"phone,omitempty" maxLength:"64" doc:"International format (+ and the country code); stored as E.164. A sign-in code is sent to it by SMS, which proves it: POST /v1/token with grant_type otp, phone and code."`
		Password string `json:"password,omitempty" doc:"Optional: an account without one signs in by code or link. At least 8 characters, not a common password."`
		Name     string `json:"name,omitempty" maxLength:"200"`
	}
}

type userEnvelope struct {
	Body struct {
		User User `json:"user"`
	}
}

// registerSignUp registers /v1/signup.
func (s *Server) registerSignUp() {
	huma.Register(s.api, op(huma.Operation{
		OperationID: "signUp", Method: http.MethodPost, Path: "/v1/signup", DefaultStatus: http.StatusCreated,
		Summary: "Create an account",
		Description: "Creates an account with an email, a phone or both and, optionally, a password. A phone gets a sign-in code by SMS at once. " +
			"Answers 409 email_taken or phone_taken for a known email or phone, 400 weak_password for a short or common password, 400 for a phone that is not valid or not from an allowed country (GATEHOUSE_SMS_ALLOWED_COUNTRIES), and 503 unavailable for a phone when SMS is not configured.",
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *signUpInput) (*userEnvelope, error) {
		u, err := s.auth.SignUp(ctx, auth.SignUpInput{
			Email: in.Body.Email, Phone: in.Body.Phone, Password: in.Body.Password, Name: in.Body.Name, SendCode: true,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &userEnvelope{}
		out.Body.User = userView(u)
		return out, nil
	})
}
