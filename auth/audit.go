package auth

import "context"

// audit records an event; a failure is logged, never fatal to the flow.
func (s *Service) audit(ctx context.Context, userID, kind string, c Client, detail string) {
	if s.auditLog == nil {
		return
	}
	e := &AuditEvent{ID: newID(), UserID: userID, Kind: kind, IP: truncate(c.IP, 64), UserAgent: truncate(c.UserAgent, 512), Detail: detail, CreatedAt: s.now()}
	if err := s.auditLog.AddAuditEvent(ctx, e); err != nil {
		s.log.WarnContext(ctx, "audit event", "kind", kind, "user_id", userID, "err", err)
	}
}
