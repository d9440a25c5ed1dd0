package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// countingStore is the real store, counting the session reads of the check
// path. While gate is set, reads by ID wait for it to close.
type countingStore struct {
	*sqlstore.Store
	reads atomic.Int64
	gate  chan struct{}
}

func (c *countingStore) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	c.reads.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Store.SessionByID(ctx, id)
}

func (c *countingStore) SessionByCookieHash(ctx context.Context, hash []byte) (*auth.Session, error) {
	c.reads.Add(1)
	return c.Store.SessionByCookieHash(ctx, hash)
}

// eventually polls cond until it holds, failing the test after 10 s: a
// background reload has no completion to wait on.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func wantReads(t *testing.T, st *countingStore, want int64) {
	t.Helper()
	if got := st.reads.Load(); got != want {
		t.Fatalf("%d session reads; want %d", got, want)
	}
}

// TestSteadyChecksReloadInBackground: a session checked steadily is
// reloaded in the background once its view is past half of CacheTTL, once
// however many checks come at a time, so no check waits for the store and a
// change made on another node shows before CacheTTL has passed.
func TestSteadyChecksReloadInBackground(t *testing.T) {
	const checks = 16
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		credentials := map[string]func(e *env, u *auth.User, g *auth.Grant) func() (*auth.Principal, error){
			"bearer": func(e *env, _ *auth.User, g *auth.Grant) func() (*auth.Principal, error) {
				return func() (*auth.Principal, error) { return e.svc.BearerPrincipal(e.ctx, g.AccessToken) }
			},
			"cookie": func(e *env, u *auth.User, _ *auth.Grant) func() (*auth.Principal, error) {
				cookie, _ := e.cookieSession(u)
				return func() (*auth.Principal, error) { return e.svc.CookiePrincipal(e.ctx, cookie) }
			},
		}
		for name, credential := range credentials {
			counting := &countingStore{Store: st}
			run(t, st, name, func(t *testing.T, e *env) {
				u, g := e.newUser("reload-" + name)
				check := credential(e, u, g)
				if _, err := check(); err != nil {
					t.Fatal(err)
				}
				before := counting.reads.Load()

				renamed := *u
				renamed.Name = "Renamed Elsewhere"
				if err := e.store.UpdateUser(e.ctx, &renamed); err != nil {
					t.Fatal(err)
				}
				// Past half of CacheTTL: many checks at once answer the
				// cached view and start one reload between them.
				e.clock.Advance(e.cfg.CacheTTL/2 + time.Millisecond)
				var wg sync.WaitGroup
				for range checks {
					wg.Go(func() {
						if p, err := check(); err != nil {
							t.Error(err)
						} else if p.User.Name != "Test User" && p.User.Name != renamed.Name {
							t.Errorf("name %q", p.User.Name)
						}
					})
				}
				wg.Wait()
				// The reload brings the change in before CacheTTL has
				// passed; the checks meanwhile start no other.
				eventually(t, "the reloaded view", func() bool {
					p, err := check()
					if err != nil {
						t.Fatal(err)
					}
					return p.User.Name == renamed.Name
				})
				wantReads(t, counting, before+1)
				// A view younger than half of CacheTTL is not reloaded.
				e.clock.Advance(e.cfg.CacheTTL / 4)
				if _, err := check(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
				wantReads(t, counting, before+1)
			}, withStore(func(*sqlstore.Store) auth.Store { return counting }))
		}
	})
}

// TestBackgroundReloadEndsGoneSessions: when a background reload finds the
// session revoked or its user gone (another node did it), the checks after
// it fail at once instead of when the old view would have expired.
func TestBackgroundReloadEndsGoneSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		changes := map[string]func(e *env, u *auth.User, sessionID string) error{
			"session revoked": func(e *env, _ *auth.User, id string) error { return e.store.RevokeSession(e.ctx, id, e.now()) },
			"user deleted":    func(e *env, u *auth.User, _ string) error { return e.store.DeleteUser(e.ctx, u.ID) },
		}
		for name, change := range changes {
			run(t, st, name, func(t *testing.T, e *env) {
				u, g := e.newUser("reload-gone")
				e.bearer(g.AccessToken)
				if err := change(e, u, g.Session.ID); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(e.cfg.CacheTTL/2 + time.Millisecond)
				e.bearer(g.AccessToken) // still the cached view; starts the reload
				var err error
				eventually(t, "the check to fail", func() bool {
					_, err = e.svc.BearerPrincipal(e.ctx, g.AccessToken)
					return err != nil
				})
				checkErr(t, "bearer after the reload", err, errSessionEnded)
			})
		}
	})
}

// TestColdChecksShareOneLoad: checks of a session that is not cached, all
// at once (every client after a restart), wait for one store read between
// them instead of making one each.
func TestColdChecksShareOneLoad(t *testing.T) {
	const checks = 16
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		counting := &countingStore{Store: st}
		run(t, st, "burst", func(t *testing.T, e *env) {
			u, _ := e.newUser("cold")
			g := e.signIn(u.Email, goodPassword, client())
			counting.gate = make(chan struct{})
			var wg sync.WaitGroup
			for range checks {
				wg.Go(func() {
					if p, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken); err != nil || p.Session.ID != g.Session.ID {
						t.Errorf("check: %v", err)
					}
				})
			}
			eventually(t, "the first read", func() bool { return counting.reads.Load() > 0 })
			time.Sleep(50 * time.Millisecond) // the other checks arrive meanwhile
			close(counting.gate)
			wg.Wait()
			wantReads(t, counting, 1)
		}, withStore(func(*sqlstore.Store) auth.Store { return counting }))
	})
}
