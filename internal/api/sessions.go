package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

type sessionsOutput struct {
	Body struct {
		Sessions []Session `json:"sessions"`
	}
}

type sessionIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type logoutInput struct {
	Body *struct {
		Scope string `json:"scope,omitempty" enum:"local,others,global" doc:"local (default): this session; others: every other one; global: all."`
	} `required:"false"`
}

// registerSessions registers the signed-in user's sessions: listing them,
// revoking one, and signing out.
func (s *Server) registerSessions() {
	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "listSessions", Method: http.MethodGet, Path: "/v1/sessions", Summary: "The user's live sessions",
	}), func(ctx context.Context, _ *struct{}) (*sessionsOutput, error) {
		list, err := s.auth.Sessions(ctx, principalOf(ctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &sessionsOutput{}
		out.Body.Sessions = make([]Session, len(list))
		for i := range list {
			out.Body.Sessions[i] = sessionView(&list[i].Session, list[i].Current)
		}
		return out, nil
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "revokeSession", Method: http.MethodDelete, Path: "/v1/sessions/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Revoke one of the user's sessions", Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
		if err := s.auth.RevokeSession(ctx, principalOf(ctx), in.ID); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, s.userOp(huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/v1/logout", DefaultStatus: http.StatusNoContent,
		Summary: "Sign out", Description: "Ends this session (scope local, the default), every other one (others) or all of them (global). A session cookie, if any, is cleared.",
		Errors: []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *logoutInput) (*logoutOutput, error) {
		scope := ""
		if in.Body != nil {
			scope = in.Body.Scope
		}
		p := principalOf(ctx)
		if err := s.auth.Logout(ctx, p, scope); err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &logoutOutput{}
		if p.Session.CookieHash != nil && scope != auth.ScopeOthers {
			out.SetCookie = []http.Cookie{*s.cookies.Clear()}
		}
		return out, nil
	})
}

type logoutOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie"`
}
