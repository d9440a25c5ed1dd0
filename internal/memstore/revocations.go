package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/auth"
)

// Revocations carries revocations between the services of one process,
// each standing for a node (tests of several nodes; a cluster needs a
// shared one, such as Redis). A revocation reaches every watcher before
// Revoke returns, and nothing is ever lost, so it never sends Resync. It is
// safe for concurrent use; its zero value is not: use NewRevocations.
type Revocations struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
}

var _ auth.Revocations = (*Revocations)(nil)

// watcher is one subscription; mu makes its calls of fn one at a time.
type watcher struct {
	mu  sync.Mutex
	ctx context.Context
	fn  func(auth.Revocation)
}

// NewRevocations returns a Revocations with no watchers.
func NewRevocations() *Revocations {
	return &Revocations{watchers: map[*watcher]struct{}{}}
}

// Revoke delivers the end of the sessions with ids to every watcher.
func (r *Revocations) Revoke(ctx context.Context, ids ...string) error {
	return r.publish(ctx, "revoke", auth.Revocation{SessionIDs: slices.Clone(ids)})
}

// RevokeUser delivers to every watcher that the user's sessions are stale.
func (r *Revocations) RevokeUser(ctx context.Context, userID string) error {
	return r.publish(ctx, "revoke user", auth.Revocation{UserID: userID})
}

func (r *Revocations) publish(ctx context.Context, op string, rev auth.Revocation) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w: %w", op, auth.ErrUnavailable, err)
	}
	r.mu.Lock()
	ws := slices.Collect(maps.Keys(r.watchers))
	r.mu.Unlock()
	for _, w := range ws {
		w.deliver(rev)
	}
	return nil
}

func (w *watcher) deliver(rev auth.Revocation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx.Err() != nil {
		return // ended while this revocation was on its way
	}
	w.fn(rev)
}

// Watch subscribes fn until ctx ends.
func (r *Revocations) Watch(ctx context.Context, fn func(auth.Revocation)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: watch: %w: %w", auth.ErrUnavailable, err)
	}
	w := &watcher{ctx: ctx, fn: fn}
	r.mu.Lock()
	r.watchers[w] = struct{}{}
	r.mu.Unlock()
	context.AfterFunc(ctx, func() {
		r.mu.Lock()
		delete(r.watchers, w)
		r.mu.Unlock()
	})
	return nil
}
