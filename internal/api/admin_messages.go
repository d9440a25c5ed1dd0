package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
)

// MessageLister lists outbox deliveries for admins (notify.Store).
type MessageLister interface {
	ListMessages(ctx context.Context, status, before string, limit int) ([]auth.Message, error)
}

// Message is a delivery as admins see it: never its content.
type Message struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind" enum:"signin_code,magic_link,recovery,mfa_code,mfa_locked,sms_code,verify_email,method_added"`
	Channel       string     `json:"channel" enum:"email,sms"`
	To            string     `json:"to" doc:"Masked: a***@example.com."`
	Status        string     `json:"status" enum:"pending,sent,failed,suppressed" doc:"suppressed: asked for an address that gets no mail (no account while sign-up by code is off, recovery of an unknown address, a disabled account)."`
	Attempts      int        `json:"attempts" doc:"Delivery tries so far, the one that sent it included (0 while none was made)."`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" doc:"Pending messages only."`
	SentAt        *time.Time `json:"sent_at,omitempty"`
}

type listMessagesInput struct {
	Status string `query:"status" enum:"pending,sent,failed,suppressed" doc:"Only messages with this status."`
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"199" default:"50"`
}

type listMessagesOutput struct {
	Body struct {
		Messages   []Message `json:"messages"`
		NextCursor string    `json:"next_cursor,omitempty"`
	}
}

// registerMessages registers /v1/admin/messages.
func (s *Server) registerMessages() {
	huma.Register(s.api, s.adminOp(huma.Operation{
		OperationID: "adminListMessages", Method: http.MethodGet, Path: "/v1/admin/messages",
		Summary: "Email and SMS deliveries and their status (newest first)",
		Errors:  []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *listMessagesInput) (*listMessagesOutput, error) {
		if s.o.Messages == nil {
			return nil, s.fail(ctx, &auth.Error{Kind: auth.KindUnavailable, Message: "Messages are not configured."})
		}
		if in.Cursor != "" {
			if _, err := uuid.Parse(in.Cursor); err != nil {
				return nil, s.fail(ctx, &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request is not valid.",
					Fields: []auth.FieldError{{Field: "cursor", Message: "must be the next_cursor of a previous page"}}})
			}
		}
		list, next, err := fetchPage(in.Cursor, in.Limit, func(cursor string, n int) ([]auth.Message, error) {
			return s.o.Messages.ListMessages(ctx, in.Status, cursor, n)
		}, func(m auth.Message) string { return m.ID })
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &listMessagesOutput{}
		out.Body.NextCursor = next
		out.Body.Messages = make([]Message, len(list))
		for i, m := range list {
			v := Message{ID: m.ID, Kind: m.Kind, Channel: m.Channel, To: auth.MaskAddress(m.To), Status: m.Status,
				Attempts: m.Attempts, LastError: m.LastError, CreatedAt: m.CreatedAt, SentAt: m.SentAt}
			if m.Status == auth.MessagePending {
				next := m.NextAttemptAt
				v.NextAttemptAt = &next
			}
			out.Body.Messages[i] = v
		}
		return out, nil
	})
}
