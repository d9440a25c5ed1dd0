package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/opaque"
)

// Principal is who a request is signed in as.
type Principal struct {
	User    User
	Session Session

	// entry is the cached view this principal came from (nil once the
	// principal no longer matches it).
	entry *cacheEntry
}

// Memo returns a value derived from the principal (e.g. a rendered
// answer), made by make once per cached view of the session rather than on
// every request; a reload of the session starts afresh. make must depend
// only on the principal.
//
// Values are kept per key, and key should be of an unexported type of the
// caller's package: a principal reaches code outside this module (an app
// embedding Gatehouse), and a value that code stored under a key it can
// name must never become what another caller reads back.
func (p *Principal) Memo(key any, make func() any) any {
	if p.entry == nil {
		return make()
	}
	memos := p.entry.memos()
	if v, ok := memos.Load(key); ok {
		return v
	}
	v, _ := memos.LoadOrStore(key, make())
	return v
}

// memos returns the entry's memo table, made on first use. It lives in the
// entry's memo pointer, so each reload of the view starts with none.
func (e *cacheEntry) memos() *sync.Map {
	if m := e.memo.Load(); m != nil {
		return m
	}
	e.memo.CompareAndSwap(nil, new(sync.Map)) // a concurrent first use may win
	return e.memo.Load()
}

var (
	errUnauthorized = &Error{Kind: KindUnauthorized, Message: "Sign-in required."}
	errTokenExpired = &Error{Kind: KindTokenExpired, Message: "The access token has expired."}
	errTokenRevoked = &Error{Kind: KindTokenRevoked, Message: "The session has ended."}
	// errSessionExpired is token_expired too: the client's remedy (sign in
	// again) is the same whichever credential it sent.
	errSessionExpired = &Error{Kind: KindTokenExpired, Message: "The session has expired."}
)

// ErrTokenExpired is what a TokenSigner answers (wrapped) for a token that is
// valid but past its expiry, so the flows can say token_expired.
var ErrTokenExpired = errors.New("token expired")

// BearerPrincipal authenticates an access token: signature and expiry, then
// the session must still be live. This is the hot path of the check
// endpoint: a token verified before and a session seen within its TTL
// (Service.trust) cost no store round trip, nor any round trip to Revocations.
func (s *Service) BearerPrincipal(ctx context.Context, accessToken string) (*Principal, error) {
	now := s.now()
	claims, err := s.signer.Verify(ctx, accessToken, now)
	if errors.Is(err, ErrTokenExpired) {
		return nil, errTokenExpired
	} else if err != nil {
		return nil, errUnauthorized
	}
	e, err := s.view(ctx, "id:"+claims.SessionID, s.sessions.get(claims.SessionID), now, errTokenRevoked, func(ctx context.Context) (*Session, error) {
		return s.store.SessionByID(ctx, claims.SessionID)
	})
	if err != nil {
		return nil, err
	}
	if e.user.ID != claims.Subject {
		return nil, errUnauthorized
	}
	p, err := s.principal(e, now)
	if err != nil {
		return nil, err
	}
	if claims.AAL == AAL1 && p.Session.AAL != AAL1 {
		// The token was signed before the session stepped up: it stays
		// aal1, so a token taken at aal1 never becomes aal2. The
		// principal no longer matches the cached view, so its memos
		// (the check's rendered answer) are not shared with the session's.
		p.Session.AAL, p.Session.AMR = AAL1, claims.AMR
		p.entry = nil
	}
	return p, nil
}

// CookiePrincipal authenticates a browser session cookie by the hash of its
// value, and slides the session's expiry (written at most once a minute).
func (s *Service) CookiePrincipal(ctx context.Context, cookie string) (*Principal, error) {
	if cookie == "" {
		return nil, errUnauthorized
	}
	now := s.now()
	hash := opaque.Hash(cookie)
	e, err := s.view(ctx, "cookie:"+string(hash), s.sessions.getByCookie(hash), now, errUnauthorized, func(ctx context.Context) (*Session, error) {
		return s.store.SessionByCookieHash(ctx, hash)
	})
	if err != nil {
		return nil, err
	}
	p, err := s.principal(e, now)
	if err != nil {
		return nil, err
	}
	if now.Sub(p.Session.LastSeenAt) >= slideEvery {
		if err := s.slide(ctx, &p.Session, now); err != nil {
			return nil, err
		}
		p.entry = nil // the session moved on from the cached view
	}
	return p, nil
}

// slideEvery bounds writes on the check path: a cookie session's last-seen
// time and sliding expiry move at most this often.
const slideEvery = time.Minute

func (s *Service) slide(ctx context.Context, sess *Session, now time.Time) error {
	now = now.UTC()
	sess.LastSeenAt = now
	sess.ExpiresAt = minTime(now.Add(s.cfg.SessionTTL), sess.AbsoluteExpiresAt)
	if err := s.store.TouchSession(ctx, sess.ID, sess.LastSeenAt, sess.ExpiresAt); err != nil {
		return storeErr("touch session", err)
	}
	// Only this node's view moved on: other nodes reload theirs within
	// their TTL, and a slide is no revocation to publish.
	s.sessions.forget(sess.ID)
	return nil
}

// view answers the cached view e while it is trusted (younger than
// trust: CacheTTL, or LiveCacheTTL while revocations are pushed), else a
// view loaded from the store now (find reads the session; key names it
// among concurrent loads). The TTL is asked at each check, not stored with
// the view, so a view loaded while revocations were live is no longer
// trusted past the short TTL as soon as they are not.
//
// A view past half of its TTL is also reloaded in the background, once at
// a time, so a session in steady use is renewed before it is too old and
// its checks never wait for the store. Without that, every check that came
// in just after the view expired loaded it again at once: a herd of store
// round trips each CacheTTL, which made the tail of /v1/check on
// PostgreSQL. The staleness bound stays the TTL either way.
func (s *Service) view(ctx context.Context, key string, e *cacheEntry, now time.Time, notFound *Error, find func(context.Context) (*Session, error)) (*cacheEntry, error) {
	ttl := s.trust()
	if e == nil || now.Sub(e.loadedAt) > ttl || slidElsewhere(e, now) {
		s.obs.SessionView(false)
		return s.loadShared(ctx, key, now, notFound, find)
	}
	s.obs.SessionView(true)
	if now.Sub(e.loadedAt) > ttl/2 && e.reloading.CompareAndSwap(false, true) {
		go s.reload(ctx, e, notFound, find)
	}
	return e, nil
}

// slidElsewhere reports whether e's session has reached its idle expiry in
// a view loaded before that moment: another node may have slid it since
// (slides are not published), so the store, not the view, decides. Once
// loaded after the expiry, a session that did expire is not reloaded again.
func slidElsewhere(e *cacheEntry, now time.Time) bool {
	sess := &e.session
	return sess.RevokedAt == nil && !now.Before(sess.ExpiresAt) && e.loadedAt.Before(sess.ExpiresAt)
}

// loadShared is load for the checks of one session that miss the cache at
// the same time: the first loads and the others wait for its answer. A
// burst on a session that is not cached yet (every client at once after a
// restart) then costs one store round trip, not one per check with the
// database pool opening connections for all of them; on PostgreSQL that
// stalled the first checks after a start by tens of milliseconds.
//
// The load does not end with the request that started it, since others
// wait on it; a waiter whose own request ends stops waiting.
func (s *Service) loadShared(ctx context.Context, key string, now time.Time, notFound *Error, find func(context.Context) (*Session, error)) (*cacheEntry, error) {
	done := s.loads.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
		defer cancel()
		return s.load(ctx, now, notFound, find)
	})
	select {
	case r := <-done:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*cacheEntry), nil
	case <-ctx.Done():
		return nil, storeErr("find session", ctx.Err())
	}
}

// reloadTimeout bounds a load that outlives the request that started it:
// a background reload, or a load others wait on.
const reloadTimeout = 5 * time.Second

// reload renews the cached view old from the store in the background.
func (s *Service) reload(ctx context.Context, old *cacheEntry, notFound *Error, find func(context.Context) (*Session, error)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
	defer cancel()
	// Whatever happens, a later check may start another reload: the store
	// may have failed, or the cache refused the new view because a session
	// was forgotten meanwhile (sessionCache.gen).
	defer old.reloading.Store(false)
	_, err := s.load(ctx, s.now(), notFound, find)
	if err == notFound || err == errTokenRevoked {
		// The session or its user is gone: stop answering the old view now
		// rather than when it expires.
		s.sessions.forget(old.session.ID)
	}
}

// load reads a session (with find) and its user from the store and caches
// them. notFound is the answer for a session the store does not have.
func (s *Service) load(ctx context.Context, now time.Time, notFound *Error, find func(context.Context) (*Session, error)) (*cacheEntry, error) {
	gen := s.sessions.generation()
	sess, err := find(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, storeErr("find session", err)
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errTokenRevoked
	} else if err != nil {
		return nil, storeErr("find user", err)
	}
	u.PasswordHash = redacted(u.PasswordHash)
	e := &cacheEntry{user: *u, session: *sess, loadedAt: now}
	s.sessions.put(e, gen)
	return e, nil
}

// redacted keeps whether a password is set without keeping the hash in the
// long-lived cache.
func redacted(hash string) string {
	if hash == "" {
		return ""
	}
	return "set"
}

func (s *Service) principal(e *cacheEntry, now time.Time) (*Principal, error) {
	if e.user.Disabled() || e.session.RevokedAt != nil {
		return nil, errTokenRevoked
	}
	if !e.session.Live(now) {
		return nil, errSessionExpired
	}
	return &Principal{User: e.user, Session: e.session, entry: e}, nil
}

// revoke ends one session and forgets it on every node.
func (s *Service) revoke(ctx context.Context, id string) error {
	err := s.store.RevokeSession(ctx, id, s.now())
	s.forget(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeErr("revoke session", err)
	}
	return nil
}

// revokeUser ends every session of a user except keepID.
func (s *Service) revokeUser(ctx context.Context, userID, keepID string) error {
	if s.mfaTokens != nil {
		// A sign-in halfway through its second factor must die too.
		if err := s.mfaTokens.DeleteUserMFATokens(ctx, userID); err != nil {
			return storeErr("delete mfa tokens", err)
		}
	}
	ids, err := s.store.RevokeUserSessions(ctx, userID, keepID, s.now())
	if keepID == "" {
		s.forgetUser(ctx, userID)
	} else {
		s.forget(ctx, ids...)
	}
	if err != nil {
		return storeErr("revoke sessions", err)
	}
	return nil
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	Session
	Current bool
}

// Sessions lists the principal's live sessions, flagging the current one.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]SessionView, error) {
	list, err := s.store.ListSessions(ctx, p.User.ID, s.now())
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	out := make([]SessionView, len(list))
	for i, sess := range list {
		out[i] = SessionView{Session: sess, Current: sess.ID == p.Session.ID}
	}
	return out, nil
}

var errSessionNotFound = &Error{Kind: KindNotFound, Message: "No such session."}

// RevokeSession ends one of the principal's own sessions.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id string) error {
	if !validID(id) {
		return errSessionNotFound
	}
	sess, err := s.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != p.User.ID) {
		return errSessionNotFound
	} else if err != nil {
		return storeErr("find session", err)
	}
	return s.revoke(ctx, id)
}

// Logout scopes (docs/contract.md).
const (
	ScopeLocal  = "local"
	ScopeOthers = "others"
	ScopeGlobal = "global"
)

// Logout ends the current session (local), every other one (others) or all
// of them (global).
func (s *Service) Logout(ctx context.Context, p *Principal, scope string) error {
	switch scope {
	case "", ScopeLocal:
		return s.revoke(ctx, p.Session.ID)
	case ScopeOthers:
		return s.revokeUser(ctx, p.User.ID, p.Session.ID)
	case ScopeGlobal:
		return s.revokeUser(ctx, p.User.ID, "")
	}
	return fieldError("scope", "must be one of local, others, global")
}
