package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gatehouse/gatehouse/auth"
)

// admin is the huma middleware of every /v1/admin route: the request must
// carry GATEHOUSE_ADMIN_API_KEY as a Bearer token. Both sides are hashed
// before the constant-time comparison so not even the key's length leaks.
func (s *Server) admin(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	if s.o.AdminAPIKey == "" {
		writeProblem(w, newProblem(http.StatusForbidden, string(auth.KindForbidden), "The admin API is off: set GATEHOUSE_ADMIN_API_KEY to turn it on."))
		return
	}
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	got := sha256.Sum256([]byte(strings.TrimSpace(key)))
	want := sha256.Sum256([]byte(s.o.AdminAPIKey))
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		p := newProblem(http.StatusUnauthorized, string(auth.KindUnauthorized), "A valid admin API key is required.")
		p.headers = http.Header{"Www-Authenticate": {`Bearer realm="gatehouse-admin"`}}
		writeProblem(w, p)
		return
	}
	next(ctx)
}

// adminOp fills the defaults of an admin operation: behind the admin key,
// under the Admin tag.
func (s *Server) adminOp(o huma.Operation) huma.Operation {
	o = op(o)
	o.Tags = []string{"Admin"}
	o.Security = []map[string][]string{{"adminKey": {}}}
	o.Middlewares = huma.Middlewares{s.admin}
	o.Errors = append(o.Errors, http.StatusUnauthorized, http.StatusForbidden)
	return o
}

type listUsersInput struct {
	Query  string `query:"query" maxLength:"200" doc:"Matches email, phone or name, case-insensitively."`
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"199" default:"50"`
}

type listUsersOutput struct {
	Body struct {
		Users      []AdminUser `json:"users"`
		NextCursor string      `json:"next_cursor,omitempty" doc:"Absent on the last page."`
	}
}

type adminCreateUserInput struct {
	Body struct {
		Email         string `json:"email,omitempty" doc:"Required unless phone is given."`
		Phone         string `json:"phone,omitempty" maxLength:"64" doc:"International format; stored as E.164. No code is sent."`
		Password      string `json:"password,omitempty"`
		Name          string `json:"name,omitempty" maxLength:"200"`
		EmailVerified bool   `json:"email_verified,omitempty"`
		PhoneVerified bool   `json:"phone_verified,omitempty"`
	}
}

type adminUserEnvelope struct {
	Body struct {
		User AdminUser `json:"user"`
	}
}

type adminUserOutput struct {
	Body AdminUser
}

type userIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type adminUpdateUserInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Name          *string `json:"name,omitempty" maxLength:"200"`
		EmailVerified *bool   `json:"email_verified,omitempty"`
		Disabled      *bool   `json:"disabled,omitempty" doc:"true disables the user and revokes every session at once; false enables it."`
		Admin         *bool   `json:"admin,omitempty" doc:"true grants the admin role (the /admin page); false takes it away."`
	}
}

type adminSetRolesInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Roles []string `json:"roles" doc:"Every role the user is to have (an empty list for none): lower-case letters, digits and _.:-, starting with a letter or digit, at most 64 bytes each, at most 32 roles. Duplicates are dropped; the list is stored sorted."`
	}
}

type adminSessionsInput struct {
	UserID string `query:"user_id" required:"true" maxLength:"64"`
}

// registerAdmin registers /v1/admin/users and /v1/admin/sessions.
func (s *Server) registerAdmin() {
	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminListUsers", Method: http.MethodGet, Path: "/v1/admin/users", Summary: "List or search users",
		Errors: []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
		users, next, err := s.auth.AdminUsers(ctx, auth.UserQuery{Query: in.Query, After: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &listUsersOutput{}
		out.Body.Users = make([]AdminUser, len(users))
		for i := range users {
			out.Body.Users[i] = adminUserView(&users[i])
		}
		out.Body.NextCursor = next
		return out, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminCreateUser", Method: http.MethodPost, Path: "/v1/admin/users", DefaultStatus: http.StatusCreated,
		Summary: "Create a user", Errors: []int{http.StatusBadRequest, http.StatusConflict},
	}), func(ctx context.Context, in *adminCreateUserInput) (*adminUserEnvelope, error) {
		u, err := s.auth.SignUp(ctx, auth.SignUpInput{
			Email: in.Body.Email, Phone: in.Body.Phone, Password: in.Body.Password, Name: in.Body.Name,
			EmailVerified: in.Body.EmailVerified, PhoneVerified: in.Body.PhoneVerified,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &adminUserEnvelope{}
		out.Body.User = adminUserView(u)
		return out, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminGetUser", Method: http.MethodGet, Path: "/v1/admin/users/{id}", Summary: "Get a user",
		Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*adminUserOutput, error) {
		u, err := s.auth.AdminUser(ctx, in.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		ids, err := s.auth.AdminIdentities(ctx, u.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &adminUserOutput{Body: adminUserView(u)}
		out.Body.Identities = identityViews(ids)
		return out, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminUpdateUser", Method: http.MethodPatch, Path: "/v1/admin/users/{id}", Summary: "Update, disable or enable a user, or change its admin role",
		Errors: []int{http.StatusBadRequest, http.StatusNotFound},
	}), func(ctx context.Context, in *adminUpdateUserInput) (*adminUserOutput, error) {
		u, err := s.auth.AdminUpdateUser(ctx, in.ID, auth.AdminUpdate{
			Name: in.Body.Name, EmailVerified: in.Body.EmailVerified, Disabled: in.Body.Disabled, Admin: in.Body.Admin,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &adminUserOutput{Body: adminUserView(u)}, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminSetRoles", Method: http.MethodPut, Path: "/v1/admin/users/{id}/roles", Summary: "Replace a user's roles",
		Description: "Sets the user's roles to the list given (admin among them makes the user an admin). The change reaches the user's " +
			"sessions at once: the next /v1/check answers the new roles in X-Auth-Roles and the access rules decide by them, without a new " +
			"sign-in; access tokens already issued carry the old roles until they expire or are refreshed. Recorded in the audit log as roles_changed.",
		Errors: []int{http.StatusBadRequest, http.StatusNotFound},
	}), func(ctx context.Context, in *adminSetRolesInput) (*adminUserOutput, error) {
		u, err := s.auth.AdminSetRoles(ctx, in.ID, in.Body.Roles, auth.ClientFrom(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &adminUserOutput{Body: adminUserView(u)}, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminDeleteUser", Method: http.MethodDelete, Path: "/v1/admin/users/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a user and everything that belongs to it", Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := s.auth.AdminDeleteUser(ctx, in.ID); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminListSessions", Method: http.MethodGet, Path: "/v1/admin/sessions", Summary: "A user's live sessions (metadata only)",
		Errors: []int{http.StatusBadRequest, http.StatusNotFound},
	}), func(ctx context.Context, in *adminSessionsInput) (*sessionsOutput, error) {
		list, err := s.auth.AdminSessions(ctx, in.UserID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &sessionsOutput{}
		out.Body.Sessions = make([]Session, len(list))
		for i := range list {
			out.Body.Sessions[i] = sessionView(&list[i], false)
		}
		return out, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminRevokeSessions", Method: http.MethodDelete, Path: "/v1/admin/users/{id}/sessions", DefaultStatus: http.StatusNoContent,
		Summary: "Revoke every session and refresh token of a user", Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := s.auth.AdminRevokeSessions(ctx, in.ID); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminResetFactors", Method: http.MethodDelete, Path: "/v1/admin/users/{id}/factors", DefaultStatus: http.StatusNoContent,
		Summary: "Turn off every second factor of a user",
		Description: "Removes the authenticator app, email codes, the backup codes and the passkeys (a second factor too, and possibly on the lost device), and ends every session of the user and every sign-in " +
			"waiting for its second factor: for someone who lost the device their authenticator app was on. The user then signs in with " +
			"one factor and may set up a new one. Recorded in the audit log as factors_reset.",
		Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := s.auth.AdminResetFactors(ctx, in.ID, auth.ClientFrom(ctx)); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})
}
