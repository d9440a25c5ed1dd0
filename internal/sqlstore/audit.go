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

// AuditEvents answers events newest first (by CreatedAt, then ID), of the
// user (of every user, and of none, when userID is empty), after the event
// with ID before in that order (from the newest when empty; an unknown
// cursor answers none), at most limit (default 50, at most 200).
func (s *Store) AuditEvents(ctx context.Context, userID, before string, limit int) ([]auth.AuditEvent, error) {
	switch {
	case limit <= 0:
		limit = defaultAuditPage
	case limit > maxAuditPage:
		limit = maxAuditPage
	}
	var (
		rows *boundRows
		err  error
	)
	switch {
	case userID == "" && before == "":
		rows, err = s.r.QueryContext(ctx, s.q.auditEvents, limit)
	case userID == "":
		rows, err = s.r.QueryContext(ctx, s.q.auditEventsBefore, before, limit)
	case before == "":
		rows, err = s.r.QueryContext(ctx, s.q.auditEventsOfUser, userID, limit)
	default:
		rows, err = s.r.QueryContext(ctx, s.q.auditEventsOfUserBefore, userID, before, limit)
	}
	if err != nil {
		return nil, s.fail("audit events", err)
	}
	defer rows.Close()
	out := []auth.AuditEvent{}
	for rows.Next() {
		var e auth.AuditEvent
		if err := rows.Scan(&e.ID, nullStringCol{&e.UserID}, &e.Kind, &e.IP, &e.UserAgent, &e.Detail,
			timeCol{&e.CreatedAt}); err != nil {
			return nil, s.fail("audit events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("audit events", err)
	}
	return out, nil
}
