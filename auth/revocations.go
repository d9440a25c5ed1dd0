package auth

import (
	"context"
	"time"
)

// Revocation is what Revocations carries to every node's view of live
// sessions.
type Revocation struct {
	// SessionIDs are sessions that ended.
	SessionIDs []string
	// UserID, when set, names a user whose sessions must all be reloaded:
	// the user was disabled, deleted or changed, or every session ended.
	UserID string
	// Resync says the watcher may have missed revocations (its subscription
	// dropped and was made again, or messages were lost): it must drop
	// everything it cached, since any view may now be stale.
	Resync bool
}

// Revocations carries session revocations between nodes, so that the view
// of live sessions that each node keeps for the check endpoint drops a
// session as soon as any node revokes it. It is short-lived: it carries
// news, while the SessionStore keeps what was revoked. The node that revokes
// drops its own view at once, whatever this port does; nil Revocations
// (a single node) carries nothing further.
type Revocations interface {
	// Revoke publishes that the sessions with ids ended, to every watcher
	// of every node (this one included).
	Revoke(ctx context.Context, ids ...string) error
	// RevokeUser publishes that every view of the user's sessions is
	// stale, to every watcher of every node.
	RevokeUser(ctx context.Context, userID string) error
	// Watch subscribes fn to what is published from now on and returns once
	// the subscription is live (an error if it cannot be made). fn is
	// called one message at a time until ctx ends, and must not block
	// for long. An implementation that may lose messages (a dropped
	// connection, a full buffer) calls fn with Resync set once it hears
	// again, before any later message: the watcher then drops its whole
	// view, so a missed revocation costs reloads, never a revoked session
	// that still passes.
	Watch(ctx context.Context, fn func(Revocation)) error
}

// LiveRevocations is Revocations that can tell whether it is live: whether
// every revocation any node publishes from now on will reach this node's
// watcher, and none published since the watcher's last Resync was missed.
// A Service whose Revocations implement it trusts its view of a session for
// Config.LiveCacheTTL while Live answers true, since every revocation is
// then pushed to it, and for Config.CacheTTL, at most a second, while
// Live answers false, so that polling keeps the promise that a revocation
// shows on every node within a second when the push cannot.
//
// The two must agree: an implementation that may have missed a revocation
// answers false from the moment it may have (a dropped connection, a bus
// that does not answer) until it has called the watcher with Resync, and
// from then on hears everything again. A Watch that cannot subscribe at
// once (the bus is down while the node starts) may then return nil and
// keep trying, answering false until it has subscribed and sent Resync:
// the node serves from the store meanwhile instead of failing to start.
type LiveRevocations interface {
	Revocations
	// Live is called by every check of a session, so it must answer from
	// memory: no I/O, no lock that a slow operation holds, no allocation.
	Live() bool
}

// revocationBound is how late, at most, a revocation made on one node
// may show on another (docs/contract.md, "Many nodes"): while Revocations
// that are pushed are not live, a view is trusted no longer than this.
const revocationBound = time.Second

// trust answers how long a view of a session is trusted now.
func (s *Service) trust() time.Duration {
	if s.live == nil {
		return s.cfg.CacheTTL
	}
	if s.live.Live() {
		return s.cfg.LiveCacheTTL
	}
	return s.notLive
}

// forget drops sessions from this node's view at once and tells the other
// nodes. The store has already revoked them: a failure to publish is
// logged, not returned, since the revocation itself took place and the
// view's TTL still bounds how long another node trusts it (an implementation
// that is live should send again what it could not, see LiveRevocations).
func (s *Service) forget(ctx context.Context, ids ...string) {
	if len(ids) == 0 {
		return
	}
	s.sessions.forget(ids...)
	if s.revocations == nil {
		return
	}
	if err := s.revocations.Revoke(ctx, ids...); err != nil {
		s.log.WarnContext(ctx, "publish revocation", "err", err)
	}
}

// forgetUser drops every session of a user from this node's view at once
// and tells the other nodes, as forget does.
func (s *Service) forgetUser(ctx context.Context, userID string) {
	s.sessions.forgetUser(userID)
	if s.revocations == nil {
		return
	}
	if err := s.revocations.RevokeUser(ctx, userID); err != nil {
		s.log.WarnContext(ctx, "publish revocation", "err", err)
	}
}

// heard applies a revocation published by any node to this node's view.
func (s *Service) heard(r Revocation) {
	if r.Resync {
		s.sessions.forgetAll()
	}
	if len(r.SessionIDs) > 0 {
		s.sessions.forget(r.SessionIDs...)
	}
	if r.UserID != "" {
		s.sessions.forgetUser(r.UserID)
	}
}

// Close ends the service's subscription to Revocations: from then on it no
// longer hears of revocations made on other nodes.
func (s *Service) Close() {
	if s.stopWatch != nil {
		s.stopWatch()
	}
}
