package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
)

// AuditLister lists audit events for admins (the SQL store).
type AuditLister interface {
	AuditEvents(ctx context.Context, userID, before string, limit int) ([]auth.AuditEvent, error)
}

// AuditEvent is a security-relevant event of a user.
type AuditEvent struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Kind      string    `json:"kind" doc:"backup_code_used, factor_added, factor_removed, backup_codes_replaced, …"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type listAuditInput struct {
	UserID string `query:"user_id" maxLength:"64" doc:"Only this user's events."`
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"199" default:"50"`
}

type listAuditOutput struct {
	Body struct {
		Events     []AuditEvent `json:"events"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

// registerAudit registers /v1/admin/audit.
func (s *Server) registerAudit() {
	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminAudit", Method: http.MethodGet, Path: "/v1/admin/audit",
		Summary: "Audit events, newest first", Errors: []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listAuditInput) (*listAuditOutput, error) {
		if s.o.Audit == nil {
			return nil, s.fail(ctx, &auth.Error{Kind: auth.KindUnavailable, Message: "Audit events are not configured."})
		}
		for field, v := range map[string]string{"user_id": in.UserID, "cursor": in.Cursor} {
			if _, err := uuid.Parse(v); v != "" && err != nil {
				return nil, s.fail(ctx, &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request is not valid.",
					Fields: []auth.FieldError{{Field: field, Message: "must be an ID"}}})
			}
		}
		list, next, err := fetchPage(in.Cursor, in.Limit, func(cursor string, n int) ([]auth.AuditEvent, error) {
			return s.o.Audit.AuditEvents(ctx, in.UserID, cursor, n)
		}, func(e auth.AuditEvent) string { return e.ID })
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &listAuditOutput{}
		out.Body.NextCursor = next
		out.Body.Events = make([]AuditEvent, len(list))
		for i, e := range list {
			out.Body.Events[i] = AuditEvent{ID: e.ID, UserID: e.UserID, Kind: e.Kind, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail, CreatedAt: e.CreatedAt}
		}
		return out, nil
	})
}

// fetchPage asks list for one row more than the page holds (limit, or 50 when
// none was given), so it knows whether a next page exists without a
// second query, and returns the page and the cursor of the next one: the
// last row's ID, or "" on the last page.
func fetchPage[T any](cursor string, limit int, list func(cursor string, n int) ([]T, error), id func(T) string) ([]T, string, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := list(cursor, limit+1)
	if err != nil || len(rows) <= limit {
		return rows, "", err
	}
	rows = rows[:limit]
	return rows, id(rows[limit-1]), nil
}
