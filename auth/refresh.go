package auth

import (
	"context"
	"errors"
	"time"

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
		s.obs.SignIn(method, ResultSuccess)
	case KindOf(err) == KindTokenRevoked || KindOf(err) == KindTokenExpired:
		s.obs.SignIn(method, ResultFailure)
	case errors.Is(err, context.Canceled):
		s.obs.SignIn(method, ResultAbandoned)
	default:
		s.obs.SignIn(method, ResultError)
	}
	return g, err
}

func (s *Service) refresh(ctx context.Context, refresh string, c Client) (*Grant, error) {
	hash := opaque.Hash(refresh)
	now := s.now()
	next := opaque.Derive(s.cfg.SuccessorKey, refresh, successorLabel)
	// The successor this refresh stores when it rotates the token (its
	// session and expiry are the token's, set below where they are known).
	nrt := &RefreshToken{ID: newID(), Hash: opaque.Hash(next), CreatedAt: now}
	var (
		rt      *RefreshToken
		sess    *Session
		u       *User
		touched bool // this request rotated the token and touched the session
		err     error
	)
	if r, ok := s.store.(RefreshRotator); ok {
		// The read, and for a live unrotated token the rotation and the
		// session's touch, in one call: a normal refresh is one round
		// trip. What it did not rotate (a replay, a race lost, a dead
		// session) goes on below from what it read, as after
		// RefreshTokenSession.
		rt, sess, u, touched, err = r.RefreshAndRotate(ctx, hash, nrt, now, now.Add(s.cfg.SessionTTL))
	} else {
		// The token, its session and its user in one read, and below the
		// rotation and the session's touch in one write: two round trips.
		rt, sess, u, err = s.store.RefreshTokenSession(ctx, hash)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, errRefreshRevoked
	} else if err != nil {
		return nil, storeErr("find refresh token", err)
	}
	if err := liveSession(sess, u, now); err != nil {
		return nil, err
	}
	if !now.Before(rt.ExpiresAt) {
		return nil, errRefreshExpired
	}
	expiresAt := minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	if touched {
		s.obs.Refresh(RefreshRotated)
	} else if rt.RotatedAt == nil {
		nrt.SessionID, nrt.ExpiresAt = sess.ID, sess.AbsoluteExpiresAt
		won, err := s.store.RotateRefreshToken(ctx, rt.ID, nrt, now, expiresAt)
		if err != nil {
			return nil, storeErr("rotate refresh token", err)
		}
		if won {
			s.obs.Refresh(RefreshRotated)
			touched = true
		} else {
			// Another request rotated it a moment ago: treat as a replay.
			if rt, err = s.store.RefreshTokenByHash(ctx, hash); err != nil {
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
		derived, err := s.store.RefreshTokenByHash(ctx, nrt.Hash)
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
	if !touched {
		// A replay within the grace: the rotation that touched the
		// session was another request's.
		if err := s.store.TouchSession(ctx, sess.ID, now, expiresAt); err != nil {
			return nil, storeErr("touch session", err)
		}
	}
	sess.LastSeenAt = now
	sess.ExpiresAt = expiresAt
	return s.grant(ctx, u, sess, next)
}

// liveSession returns token_revoked or token_expired when the session (or
// its user) can no longer be used at now.
func liveSession(sess *Session, u *User, now time.Time) error {
	switch {
	case sess.RevokedAt != nil:
		return errRefreshRevoked
	case !sess.Live(now):
		return errRefreshExpired
	case u.Disabled():
		return errRefreshRevoked
	}
	return nil
}
