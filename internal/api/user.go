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

// principalOf authenticates a request by its Bearer access token or, when
// there is none, its session cookie.
func (s *Server) principalOf(r *http.Request) (*auth.Principal, error) {
	return s.sessions.Principal(r)
}

// signedIn is the huma middleware of every route for a signed-in user.
func (s *Server) signedIn(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	p, err := s.principalOf(r)
	if err != nil {
		writeProblem(w, problemOf(r.Context(), s.log, err))
		return
	}
	next(huma.WithContext(ctx, httpauth.WithPrincipal(ctx.Context(), p)))
}

// principalOf returns the principal signedIn found.
func principalOf(ctx context.Context) *auth.Principal { return httpauth.PrincipalFrom(ctx) }

var userSecurity = []map[string][]string{{"bearer": {}}, {"cookie": {}}}

// userOp fills the defaults of an operation for the signed-in user: a
// Bearer token or the session cookie, checked before the handler runs.
func (s *Server) userOp(o huma.Operation) huma.Operation {
	o = op(o)
	o.Tags = []string{"Signed-in user"}
	o.Security = userSecurity
	o.Middlewares = huma.Middlewares{s.signedIn}
	o.Errors = append(o.Errors, http.StatusUnauthorized)
	return o
}

type userOutput struct {
	Body Profile
}

// profile returns the response of u's profile, with its factors.
func (s *Server) profile(ctx context.Context, u *auth.User) (*userOutput, error) {
	kinds, left, err := s.auth.Factors(ctx, principalOf(ctx))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &userOutput{Body: Profile{User: userView(u), Factors: kinds, BackupCodesLeft: left}}, nil
}

type updateUserInput struct {
	Body struct {
		Name *string `json:"name,omitempty" maxLength:"200"`
	}
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password,omitempty" doc:"Required when a password is set already."`
		NewPassword     string `json:"new_password"`
	}
}

type phoneInput struct {
	Body struct {
		Phone string `json:"phone" maxLength:"64" doc:"International format (+ and the country code)."`
	}
}

type phoneVerifyInput struct {
	Body struct {
		Code string `json:"code" maxLength:"16" doc:"The code sent to the new phone."`
	}
}

// registerUser registers the signed-in user's profile, password and
// phone.
func (s *Server) registerUser() {
	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "getUser", Method: http.MethodGet, Path: "/v1/user", Summary: "The signed-in user's profile",
	}), func(ctx context.Context, _ *struct{}) (*userOutput, error) {
		u, err := s.auth.User(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return s.profile(ctx, u)
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "updateUser", Method: http.MethodPatch, Path: "/v1/user", Summary: "Update the profile",
		Errors: []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
		u, err := s.auth.UpdateProfile(ctx, principalOf(ctx), auth.ProfileUpdate{Name: in.Body.Name})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return s.profile(ctx, u)
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "changePassword", Method: http.MethodPost, Path: "/v1/user/password", DefaultStatus: http.StatusNoContent,
		Summary:     "Change or first set the password",
		Description: "Every other session of the user is revoked. 401 invalid_credentials for a wrong current password; 429 after repeated wrong ones.",
		Errors:      []int{http.StatusBadRequest, http.StatusTooManyRequests},
	}), func(ctx context.Context, in *changePasswordInput) (*struct{}, error) {
		err := s.auth.ChangePassword(ctx, principalOf(ctx), in.Body.CurrentPassword, in.Body.NewPassword, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "requestPhoneChange", Method: http.MethodPost, Path: "/v1/user/phone", DefaultStatus: http.StatusAccepted,
		Summary: "Add or change the phone: send a code to it by SMS",
		Description: "The phone is saved, verified, by POST /v1/user/phone/verify with the code. " +
			"409 phone_taken when another account has verified the number; 400 for a number that is not valid or not from an allowed country; " +
			"429 rate_limited as for POST /v1/otp; 503 unavailable when SMS is not configured.",
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}), func(ctx context.Context, in *phoneInput) (*acceptedOutput, error) {
		if err := s.auth.RequestPhoneChange(ctx, principalOf(ctx), in.Body.Phone); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &acceptedOutput{}, nil
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "verifyPhone", Method: http.MethodPost, Path: "/v1/user/phone/verify",
		Summary:     "Save the phone the code was sent to, verified",
		Description: fmt.Sprintf("Answers the profile with the new phone. 401 invalid_code or code_expired; 429 too_many_attempts after %s; 409 phone_taken when another account verified the number meanwhile.", plural(s.settings().OTPMaxAttempts, "wrong code")),
		Errors:      []int{http.StatusBadRequest, http.StatusConflict, http.StatusTooManyRequests},
	}), func(ctx context.Context, in *phoneVerifyInput) (*userOutput, error) {
		u, err := s.auth.VerifyPhone(ctx, principalOf(ctx), in.Body.Code, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return s.profile(ctx, u)
	})
}

// RequireAuth wraps next so it runs only for signed-in requests; others get
// a 401 problem. Applications mounting Gatehouse use it (through
// gatehouse.RequireAuth).
func (s *Server) RequireAuth(next func(http.ResponseWriter, *http.Request, *auth.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principalOf(r)
		if err != nil {
			writeProblem(w, problemOf(r.Context(), s.log, err))
			return
		}
		next(w, r, p)
	})
}
