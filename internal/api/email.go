package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

type emailInput struct {
	Body struct {
		Email string `json:"email" maxLength:"320" doc:"The new email, or the account's own unproven one to send its code and link again."`
	}
}

type emailVerifyInput struct {
	Body struct {
		Code     string `json:"code" maxLength:"16" doc:"The code sent to the email."`
		Email    string `json:"email,omitempty" maxLength:"320" doc:"Without a session: the account's email."`
		Password string `json:"password,omitempty" maxLength:"1024" doc:"Without a session: the account's password, which shows the proof comes from whoever holds the account."`
	}
}

type emailVerifyOutput struct {
	Body struct {
		User User `json:"user"`
	}
}

// maybeSignedIn is the huma middleware of a route that serves both a
// signed-in user and a request with no credential at all.
func (s *Server) maybeSignedIn(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	p, err := s.sessions.OptionalPrincipal(r)
	if err != nil {
		writeProblem(w, problemOf(r.Context(), s.log, err))
		return
	}
	next(huma.WithContext(ctx, httpauth.WithPrincipal(ctx.Context(), p)))
}

// registerEmail registers /v1/user/email and /v1/user/email/verify: a
// change of email, and the proof of the sign-up's own.
func (s *Server) registerEmail() {
	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "requestEmailChange", Method: http.MethodPost, Path: "/v1/user/email", DefaultStatus: http.StatusAccepted,
		Summary: "Change the email, or send the proof of the account's own again: a code and link to it",
		Description: "The email is saved, proven, by POST /v1/user/email/verify with the code, or by the link. " +
			"409 email_taken when another account has the address; 400 when it is already the account's proven email; " +
			"429 rate_limited as for POST /v1/otp; 503 unavailable when email is not configured.",
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *emailInput) (*acceptedOutput, error) {
		if err := s.auth.RequestEmail(ctx, principalOf(ctx), in.Body.Email); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &acceptedOutput{}, nil
	})

	o := op(huma.Operation{
		OperationID: "verifyEmail", Method: http.MethodPost, Path: "/v1/user/email/verify",
		Summary: "Prove the email with its code",
		Description: "With a session (Bearer or cookie): `{code}`. Without one: `{email, code, password}` — the account's password shows the proof comes from whoever holds the account, so everything it has is kept. " +
			"(Signing in by a code or link instead proves the address too, but claims an account whose password or factors were set by someone who never proved it: see docs/security.md.) " +
			fmt.Sprintf("Answers the user with the email proven. 401 invalid_code or code_expired, invalid_credentials for a wrong password; 429 too_many_attempts after %s, rate_limited after repeated wrong passwords; 409 email_taken when another account took a new address meanwhile.", plural(s.settings().OTPMaxAttempts, "wrong code")),
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusConflict, http.StatusTooManyRequests},
	})
	o.Tags = []string{"Signed-in user"}
	o.Security = append([]map[string][]string{{}}, userSecurity...)
	o.Middlewares = huma.Middlewares{s.maybeSignedIn}
	huma.Register(s.api, o, func(ctx context.Context, in *emailVerifyInput) (*emailVerifyOutput, error) {
		got, err := s.auth.ProveEmail(ctx, principalOf(ctx), auth.EmailProof{
			Code: in.Body.Code, Email: in.Body.Email, Password: in.Body.Password,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &emailVerifyOutput{}
		out.Body.User = userView(got.User)
		return out, nil
	})
}
