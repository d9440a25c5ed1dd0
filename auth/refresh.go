package auth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

var (
	errRefreshRevoked = &Error{Kind: KindTokenRevoked, Message: "The refresh token is not valid."}
	errRefreshExpired = &Error{Kind: KindTokenExpired, Message: "The session has expired."}
)

// successorLabel separates refresh successors from anything else derived
// with the same key.
const successorLabel = "refresh-successor"

// RefreshGrant exchanges a refresh token for a new pair. Each token is
// single use: its successor is derived from it, so a concurrent client that
// replays it within Config.RefreshGrace gets the same successor; a replay
// after that is taken as theft and revokes the whole session.
func (s *Service) RefreshGrant(ctx context.Context, refresh string, c Client) (_ *Grant, err error) {
	ctx, end := tracing.Start(ctx, "auth.RefreshGrant")
	defer func() { end(err) }()
	const method = "refresh_token"
	if refresh == "" {
		return nil, fieldError("refresh_token", "is required")
	}
	g, err := s.refresh(ctx, refresh, c)
	switch {
	case err == nil:
		s.obs.SignIn(method, "success")
	case KindOf(err) == KindTokenRevoked || KindOf(err) == KindTokenExpired:
		s.obs.SignIn(method, "failure")
	default:
		s.obs.SignIn(method, "error")
	}
	return g, err
}

func (s *Service) refresh(ctx context.Context, refresh string, c Client) (*Grant, error) {
	rt, err := s.store.RefreshTokenByHash(ctx, opaque.Hash(refresh))
	if errors.Is(err, ErrNotFound) {
		return nil, errRefreshRevoked
	} else if err != nil {
		return nil, storeErr("find refresh token", err)
	}
	sess, u, err := s.liveSession(ctx, rt.SessionID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(rt.ExpiresAt) {
		return nil, errRefreshExpired
	}
	next := opaque.Derive(s.cfg.SuccessorKey, refresh, successorLabel)
	if rt.RotatedAt == nil {
		nrt := &RefreshToken{ID: newID(), SessionID: sess.ID, Hash: opaque.Hash(next), CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}
		won, err := s.store.RotateRefreshToken(ctx, rt.ID, nrt, now)
		if err != nil {
			return nil, storeErr("rotate refresh token", err)
		}
		if won {
			s.obs.Refresh(RefreshRotated)
		}
		if !won {
			// Another request rotated it a moment ago: treat as a replay.
			if rt, err = s.store.RefreshTokenByHash(ctx, opaque.Hash(refresh)); err != nil {
				return nil, storeErr("find refresh token", err)
			}
		}
	}
	if rt.RotatedAt != nil && now.Sub(*rt.RotatedAt) <= s.cfg.RefreshGrace {
		// A replay within the grace gets the successor a concurrent
		// refresh stored, which is derived from this token; a token a
		// step-up retired (RaiseSession) has another successor, and this
		// one would mint tokens of the raised session from a token of
		// before it. That can be a refresh that raced the step-up, so
		// within the grace it is refused without ending the session.
		derived, err := s.store.RefreshTokenByHash(ctx, opaque.Hash(next))
		if errors.Is(err, ErrNotFound) || err == nil && derived.ID != rt.SuccessorID {
			return nil, errRefreshRevoked
		} else if err != nil {
			return nil, storeErr("find refresh token", err)
		}
	}
	if rt.RotatedAt != nil && now.Sub(*rt.RotatedAt) > s.cfg.RefreshGrace {
		s.log.WarnContext(ctx, "refresh token reused after rotation; revoking session", "session_id", sess.ID, "user_id", u.ID, "ip", c.IP)
		s.obs.Refresh(RefreshReuse)
		if err := s.revoke(ctx, sess.ID); err != nil {
			return nil, err
		}
		return nil, errRefreshRevoked
	}
	sess.LastSeenAt = now
	sess.ExpiresAt = minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	if err := s.store.TouchSession(ctx, sess.ID, sess.LastSeenAt, sess.ExpiresAt); err != nil {
		return nil, storeErr("touch session", err)
	}
	return s.grant(ctx, u, sess, next)
}

// liveSession loads a session and its user from the store and returns
// token_revoked or token_expired when it can no longer be used.
func (s *Service) liveSession(ctx context.Context, id string) (*Session, *User, error) {
	sess, err := s.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errRefreshRevoked
	} else if err != nil {
		return nil, nil, storeErr("find session", err)
	}
	now := s.now()
	if sess.RevokedAt != nil {
		return nil, nil, errRefreshRevoked
	}
	if !sess.Live(now) {
		return nil, nil, errRefreshExpired
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errRefreshRevoked
	} else if err != nil {
		return nil, nil, storeErr("find user", err)
	}
	if u.Disabled() {
		return nil, nil, errRefreshRevoked
	}
	return sess, u, nil
}
