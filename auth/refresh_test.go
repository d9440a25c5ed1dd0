package auth_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestRefreshGrant(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "rotates", func(t *testing.T, e *env) {
			u, g0 := e.newUser("rotate")
			e.clock.Advance(10 * time.Minute)
			c := auth.Client{IP: "203.0.113.9", UserAgent: "refresher"}
			g1, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, c)
			if err != nil {
				t.Fatalf("RefreshGrant: %v", err)
			}
			now := e.now()
			if g1.RefreshToken == "" || g1.RefreshToken == g0.RefreshToken || g1.AccessToken == g0.AccessToken {
				t.Errorf("refresh answered the same tokens")
			}
			if g1.User.ID != u.ID || g1.ExpiresIn != 15*time.Minute {
				t.Errorf("grant user %s expires in %v", g1.User.ID, g1.ExpiresIn)
			}
			want := *g0.Session
			want.LastSeenAt = now
			want.ExpiresAt = now.Add(168 * time.Hour)
			checkSession(t, "grant.Session", g1.Session, &want)
			checkSession(t, "stored session", e.storedSession(g0.Session.ID), &want)
			if p := e.bearer(g1.AccessToken); p.Session.ID != g0.Session.ID {
				t.Errorf("new access token is for session %s", p.Session.ID)
			}
			old, err := e.store.RefreshTokenByHash(e.ctx, opaque.Hash(g0.RefreshToken))
			if err != nil {
				t.Fatal(err)
			}
			next, err := e.store.RefreshTokenByHash(e.ctx, opaque.Hash(g1.RefreshToken))
			if err != nil {
				t.Fatalf("the successor is not stored: %v", err)
			}
			if old.RotatedAt == nil || !old.RotatedAt.Equal(now) || old.SuccessorID != next.ID {
				t.Errorf("old token %+v; want rotated at %v with successor %s", *old, now, next.ID)
			}
			if next.RotatedAt != nil || next.SessionID != g0.Session.ID || !next.ExpiresAt.Equal(g0.Session.AbsoluteExpiresAt) {
				t.Errorf("successor %+v; want unrotated, session %s, expiring at %v", *next, g0.Session.ID, g0.Session.AbsoluteExpiresAt)
			}
			// The chain goes on.
			g2, err := e.svc.RefreshGrant(e.ctx, g1.RefreshToken, c)
			if err != nil || g2.RefreshToken == g1.RefreshToken {
				t.Fatalf("second rotation: %v", err)
			}
		})

		run(t, st, "replay within grace answers the same successor", func(t *testing.T, e *env) {
			g0, g1 := e.rotated("grace")
			for _, d := range []time.Duration{time.Second, 9 * time.Second} {
				e.clock.Advance(d)
				g, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
				if err != nil {
					t.Fatalf("replay %v after rotation: %v", d, err)
				}
				if g.RefreshToken != g1.RefreshToken {
					t.Errorf("replay answered another successor")
				}
				if g.AccessToken == g1.AccessToken {
					t.Errorf("replay answered the same access token")
				}
				if p := e.bearer(g.AccessToken); p.Session.ID != g0.Session.ID {
					t.Errorf("replayed access token is for session %s", p.Session.ID)
				}
				// The replay rotated nothing, yet it is a use of the
				// session: it slides as the rotation slid it.
				want := *g1.Session
				want.LastSeenAt, want.ExpiresAt = e.now(), e.now().Add(e.cfg.SessionTTL)
				checkSession(t, "grant.Session of the replay", g.Session, &want)
				checkSession(t, "stored session after the replay", e.storedSession(g0.Session.ID), &want)
			}
			// The successor still works.
			if _, err := e.svc.RefreshGrant(e.ctx, g1.RefreshToken, client()); err != nil {
				t.Errorf("successor after replays: %v", err)
			}
		})

		run(t, st, "replay after grace revokes the session", func(t *testing.T, e *env) {
			g0, g1 := e.rotated("theft")
			e.bearer(g1.AccessToken) // cached
			e.clock.Advance(e.cfg.RefreshGrace + time.Microsecond)
			e.obs.take()
			_, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
			checkErr(t, "replay after grace", err, errRefreshRevoked)
			if ev := e.obs.take(); !slices.Equal(ev, []string{"refresh_token:failure"}) {
				t.Errorf("observed %q", ev)
			}
			_, err = e.svc.RefreshGrant(e.ctx, g1.RefreshToken, client())
			checkErr(t, "successor", err, errRefreshRevoked)
			_, err = e.svc.BearerPrincipal(e.ctx, g1.AccessToken)
			checkErr(t, "access token of the session", err, errSessionEnded)
			if s := e.storedSession(g0.Session.ID); s.RevokedAt == nil || !s.RevokedAt.Equal(e.now()) {
				t.Errorf("stored session revoked at %v; want %v", s.RevokedAt, e.now())
			}
		})

		run(t, st, "replay exactly at the end of grace", func(t *testing.T, e *env) {
			g0, g1 := e.rotated("edge")
			e.clock.Advance(e.cfg.RefreshGrace)
			g, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
			if err != nil || g.RefreshToken != g1.RefreshToken {
				t.Fatalf("replay at exactly RefreshGrace: %v", err)
			}
		})

		run(t, st, "unknown and empty tokens", func(t *testing.T, e *env) {
			plain, _, err := opaque.New()
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{plain, "garbage", "\xff\x00"} {
				_, err := e.svc.RefreshGrant(e.ctx, tok, client())
				checkErr(t, "RefreshGrant(unknown)", err, errRefreshRevoked)
			}
			_, err = e.svc.RefreshGrant(e.ctx, "", client())
			checkErr(t, "RefreshGrant(\"\")", err, invalid(auth.FieldError{Field: "refresh_token", Message: "is required"}))
		})

		run(t, st, "idle session expires", func(t *testing.T, e *env) {
			_, g0 := e.newUser("idle")
			_, g1 := e.newUser("idle-edge")
			e.clock.Advance(e.cfg.SessionTTL - time.Microsecond)
			if _, err := e.svc.RefreshGrant(e.ctx, g1.RefreshToken, client()); err != nil {
				t.Errorf("a microsecond before SessionTTL: %v", err)
			}
			e.clock.Advance(time.Microsecond)
			_, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
			checkErr(t, "after SessionTTL", err, errRefreshExpired)
			if ev := e.obs.take(); len(ev) < 2 || !slices.Equal(ev[len(ev)-2:], []string{"refresh_token:success", "refresh_token:failure"}) {
				t.Errorf("observed %q", ev)
			}
		})

		run(t, st, "token past its own expiry", func(t *testing.T, e *env) {
			// Tokens the flows make expire with their session; one stored
			// with an earlier end (another version, an import) is still
			// refused after it.
			u := e.signUp(email("rt-expiry"), "")
			now := e.now()
			sess := &auth.Session{ID: "sess-" + u.ID, UserID: u.ID, AAL: auth.AAL1, AMR: []string{auth.MethodPassword},
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(e.cfg.SessionTTL), AbsoluteExpiresAt: now.Add(e.cfg.RefreshTokenTTL)}
			plain, hash, err := opaque.New()
			if err != nil {
				t.Fatal(err)
			}
			rt := &auth.RefreshToken{ID: "rt-" + u.ID, SessionID: sess.ID, Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := e.store.CreateSession(e.ctx, sess, rt); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			_, err = e.svc.RefreshGrant(e.ctx, plain, client())
			checkErr(t, "expired refresh token", err, errRefreshExpired)
		})

		run(t, st, "sliding within the absolute lifetime", func(t *testing.T, e *env) {
			_, g := e.newUser("slide")
			abs := g.Session.AbsoluteExpiresAt
			tok := g.RefreshToken
			for day := 1; day < 30; day++ {
				e.clock.Advance(24 * time.Hour)
				g, err := e.svc.RefreshGrant(e.ctx, tok, client())
				if err != nil {
					t.Fatalf("day %d: %v", day, err)
				}
				tok = g.RefreshToken
				want := e.now().Add(e.cfg.SessionTTL)
				if want.After(abs) {
					want = abs
				}
				if !g.Session.ExpiresAt.Equal(want) || !g.Session.AbsoluteExpiresAt.Equal(abs) {
					t.Errorf("day %d: expires %v (absolute %v); want %v (%v)", day, g.Session.ExpiresAt, g.Session.AbsoluteExpiresAt, want, abs)
				}
			}
			if !e.now().Add(24 * time.Hour).Equal(abs) {
				t.Fatalf("test set-up: day 30 is %v, absolute expiry %v", e.now().Add(24*time.Hour), abs)
			}
			e.clock.Advance(24*time.Hour - time.Microsecond)
			next, err := e.svc.RefreshGrant(e.ctx, tok, client())
			if err != nil {
				t.Fatalf("a microsecond before the absolute end: %v", err)
			}
			e.clock.Advance(time.Microsecond)
			_, err = e.svc.RefreshGrant(e.ctx, next.RefreshToken, client())
			checkErr(t, "at RefreshTokenTTL", err, errRefreshExpired)
		})

		run(t, st, "disabled user", func(t *testing.T, e *env) {
			u, g := e.newUser("disabled")
			// Disabled behind the service's back: the refresh itself checks.
			at := e.now()
			if err := e.store.SetUserDisabled(e.ctx, u.ID, &at); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
			checkErr(t, "disabled in the store", err, errRefreshRevoked)
			if err := e.store.SetUserDisabled(e.ctx, u.ID, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client()); err != nil {
				t.Errorf("re-enabled before any revocation: %v", err)
			}

			u2, g2 := e.newUser("admin-disabled")
			if _, err := e.svc.AdminUpdateUser(e.ctx, u2.ID, auth.AdminUpdate{Disabled: new(true)}); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.RefreshGrant(e.ctx, g2.RefreshToken, client())
			checkErr(t, "disabled by an admin", err, errRefreshRevoked)
			if _, err := e.svc.AdminUpdateUser(e.ctx, u2.ID, auth.AdminUpdate{Disabled: new(false)}); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.RefreshGrant(e.ctx, g2.RefreshToken, client())
			checkErr(t, "after enabling: sessions stay revoked", err, errRefreshRevoked)
		})

		run(t, st, "concurrent refreshes share one successor", func(t *testing.T, e *env) {
			checkConcurrentRefresh(t, e)
		})

		// Every request reads the token before any rotates it, so fifteen
		// of them lose the rotation and must take the replay path.
		gate := &readGate{n: 16, open: make(chan struct{})}
		run(t, st, "concurrent refreshes that all read first", func(t *testing.T, e *env) {
			checkConcurrentRefresh(t, e)
			if gate.reads() < 16 {
				t.Errorf("only %d reads went through the gate", gate.reads())
			}
		}, withStore(func(st *sqlstore.Store) auth.Store { gate.Store = st; return gate }))
	})
}

// readGate holds the first n reads of a refresh (RefreshTokenSession) until
// all n have read. It embeds the store as an auth.Store, so it hides
// RefreshAndRotate (auth.RefreshRotator) and the refreshes take the read,
// then the rotation; internal/sqlstore's TestRefreshAndRotateBehindALock
// makes the one-call form's reads overlap.
type readGate struct {
	auth.Store
	n    int
	mu   sync.Mutex
	seen int
	open chan struct{}
}

func (g *readGate) RefreshTokenSession(ctx context.Context, hash []byte) (*auth.RefreshToken, *auth.Session, *auth.User, error) {
	rt, sess, u, err := g.Store.RefreshTokenSession(ctx, hash)
	g.mu.Lock()
	g.seen++
	if g.seen == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	return rt, sess, u, err
}

func (g *readGate) reads() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen
}

// checkConcurrentRefresh has 16 goroutines refresh one token at once: each
// must get the same successor, and the store must hold exactly that one.
func checkConcurrentRefresh(t *testing.T, e *env) {
	t.Helper()
	_, g0 := e.newUser("race")
	const n = 16
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		grants [n]*auth.Grant
		errs   [n]error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			grants[i], errs[i] = e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
		})
	}
	close(start)
	wg.Wait()
	successor := ""
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: %v", i, errs[i])
			continue
		}
		if successor == "" {
			successor = grants[i].RefreshToken
		} else if grants[i].RefreshToken != successor {
			t.Fatalf("goroutine %d got another successor", i)
		}
	}
	if successor == "" {
		t.Fatal("no refresh succeeded")
	}
	old, err := e.store.RefreshTokenByHash(e.ctx, opaque.Hash(g0.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.store.RefreshTokenByHash(e.ctx, opaque.Hash(successor))
	if err != nil {
		t.Fatalf("successor not stored: %v", err)
	}
	if old.SuccessorID != next.ID || next.RotatedAt != nil {
		t.Errorf("old token's successor %q, stored successor %+v", old.SuccessorID, *next)
	}
	g, err := e.svc.RefreshGrant(e.ctx, successor, client())
	if err != nil {
		t.Fatalf("refreshing the successor: %v", err)
	}
	if g.RefreshToken == successor || g.Session.ID != g0.Session.ID {
		t.Errorf("the successor did not rotate within its session")
	}
	if s := e.storedSession(g0.Session.ID); s.RevokedAt != nil {
		t.Errorf("concurrent refreshes revoked the session")
	}
}

// rotated signs a new user in and rotates its refresh token once; it
// returns the sign-in's grant and the rotation's.
func (e *env) rotated(tag string) (g0, g1 *auth.Grant) {
	e.t.Helper()
	_, g0 = e.newUser(tag)
	g1, err := e.svc.RefreshGrant(e.ctx, g0.RefreshToken, client())
	if err != nil {
		e.t.Fatalf("RefreshGrant: %v", err)
	}
	return g0, g1
}
