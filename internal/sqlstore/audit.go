package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/auth"
)

var _ auth.AuditStore = (*Store)(nil)

// Page sizes of AuditEvents.
const (
	defaultAuditPage = 50
	maxAuditPage     = 200
)

// Bounds of the stored text of an audit event. The IP and the user agent
// come from the client and the detail may quote anything: each is stored as
// valid UTF-8 without NUL, cut to its bound, so that an odd value can never
// make the event itself fail to be recorded.
const (
	maxAuditKind      = 100
	maxAuditIP        = 100
	maxAuditUserAgent = 1000
	maxAuditDetail    = 1000
)

// AddAuditEvent stores e. An empty e.UserID stores an event of no user;
// the user need not exist, and deleting a user keeps its events. Kind, IP,
// UserAgent and Detail are made valid UTF-8 without NUL and cut to 100,
// 100, 1000 and 1000 bytes.
func (s *Store) AddAuditEvent(ctx context.Context, e *auth.AuditEvent) error {
	_, err := s.w.ExecContext(ctx, s.q.addAuditEvent,
		e.ID, nullString(e.UserID), cleanText(e.Kind, maxAuditKind), cleanText(e.IP, maxAuditIP),
		cleanText(e.UserAgent, maxAuditUserAgent), cleanText(e.Detail, maxAuditDetail), s.d.time(e.CreatedAt))
	if err != nil {
		return s.fail("add audit event", err)
	}
	return nil
}

// AuditEvents returns events newest first (by CreatedAt, then ID), of the
// user (of every user, and of none, when userID is empty), after the event
// with ID before in that order (from the newest when empty; an unknown
// cursor returns none), at most limit (default 50, at most 200).
func (s *Store) AuditEvents(ctx context.Context, userID, before string, limit int) ([]auth.AuditEvent, error) {
	rows, err := s.newestFirst(ctx, pageQueries{
		all: s.q.auditEvents, before: s.q.auditEventsBefore,
		of: s.q.auditEventsOfUser, ofBefore: s.q.auditEventsOfUserBefore,
	}, userID, before, pageSize(limit, defaultAuditPage, maxAuditPage))
	return collect(s, "audit events", rows, err, func(row scanner) (*auth.AuditEvent, error) {
		var e auth.AuditEvent
		err := row.Scan(&e.ID, nullStringCol{&e.UserID}, &e.Kind, &e.IP, &e.UserAgent, &e.Detail,
			timeCol{&e.CreatedAt})
		return &e, err
	})
}
