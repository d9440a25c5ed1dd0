package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/memstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// withRevocations wires the service to r, as every node of a cluster is
// to one shared Revocations.
func withRevocations(r auth.Revocations) envOption {
	return func(s *envSettings) { s.revocations = r }
}

// A revocation made on one node reaches the cached view of another at
// once, through Revocations; without it, the other node trusts its view
// until CacheTTL (the control case, which shows the view is cached).
func TestRevocationReachesEveryNode(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tc := range []struct {
			name   string
			shared bool
			scope  string
		}{
			{"local logout", true, auth.ScopeLocal},
			{"global logout", true, auth.ScopeGlobal},
			{"local logout, nothing shared", false, auth.ScopeLocal},
			{"global logout, nothing shared", false, auth.ScopeGlobal},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var opts []envOption
				if tc.shared {
					opts = append(opts, withRevocations(memstore.NewRevocations()))
				}
				a, b := newEnv(t, st, opts...), newEnv(t, st, opts...)
				_, g := a.newUser("nodes")
				p := a.bearer(g.AccessToken)
				b.bearer(g.AccessToken) // now in b's view
				if err := a.svc.Logout(a.ctx, p, tc.scope); err != nil {
					t.Fatalf("Logout: %v", err)
				}
				_, err := a.svc.BearerPrincipal(a.ctx, g.AccessToken)
				checkErr(t, "the check on the node that revoked", err, errSessionEnded)
				_, err = b.svc.BearerPrincipal(b.ctx, g.AccessToken)
				if tc.shared {
					checkErr(t, "the check on the other node", err, errSessionEnded)
				} else if err != nil {
					t.Errorf("the check on a node that heard nothing = %v; want its cached view (CacheTTL bounds it)", err)
				}
			})
		}
	})
}

// lossyRevocations loses every revocation, as a dropped connection to a
// shared bus would, and lets the test send the Resync an adapter sends
// once it hears again.
type lossyRevocations struct {
	mu       sync.Mutex
	watchers []func(auth.Revocation)
}

func (l *lossyRevocations) Revoke(context.Context, ...string) error  { return nil }
func (l *lossyRevocations) RevokeUser(context.Context, string) error { return nil }
func (l *lossyRevocations) Watch(_ context.Context, fn func(auth.Revocation)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchers = append(l.watchers, fn)
	return nil
}

func (l *lossyRevocations) resync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fn := range l.watchers {
		fn(auth.Revocation{Resync: true})
	}
}

// A node that may have missed revocations drops its whole view when told
// to resync, so a lost message costs a reload, never a revoked session
// that still passes.
func TestResyncDropsTheView(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		lossy := &lossyRevocations{}
		a, b := newEnv(t, st, withRevocations(lossy)), newEnv(t, st, withRevocations(lossy))
		_, g := a.newUser("lossy")
		p := a.bearer(g.AccessToken)
		_, kept := a.newUser("kept")
		b.bearer(g.AccessToken)
		b.bearer(kept.AccessToken)
		if err := a.svc.Logout(a.ctx, p, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		if _, err := b.svc.BearerPrincipal(b.ctx, g.AccessToken); err != nil {
			t.Fatalf("before the resync, the other node's view = %v; want the stale view this test is about", err)
		}
		lossy.resync()
		_, err := b.svc.BearerPrincipal(b.ctx, g.AccessToken)
		checkErr(t, "the check after a resync", err, errSessionEnded)
		b.bearer(kept.AccessToken) // reloaded, still live
	})
}

// A closed service no longer hears other nodes.
func TestCloseEndsTheSubscription(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		rev := memstore.NewRevocations()
		a, b := newEnv(t, st, withRevocations(rev)), newEnv(t, st, withRevocations(rev))
		_, g := a.newUser("closed")
		p := a.bearer(g.AccessToken)
		b.bearer(g.AccessToken)
		b.svc.Close()
		if err := a.svc.Logout(a.ctx, p, auth.ScopeLocal); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		if _, err := b.svc.BearerPrincipal(b.ctx, g.AccessToken); err != nil {
			t.Errorf("a closed node's check = %v; want its cached view, since it no longer hears", err)
		}
	})
}
