package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth"
)

// Revocations is auth.Revocations on Redis pub/sub: Revoke and RevokeUser
// PUBLISH on the channel Client.Key("revocations"), and each Watch holds a
// subscription to it. It is an auth.LiveRevocations: Live answers whether
// Redis answers and every watcher's subscription is in place and has been
// resynchronised since it was last made.
//
// Pub/sub keeps nothing for a subscriber that is away, so a watcher is
// sent Resync (drop the whole view) each time its subscription may have
// missed messages: when it is made again after a receive error, a dropped
// connection or a health ping that got no answer, when go-redis
// re-subscribes by itself, and when the Client comes back up after failing
// (Client.OnUp). There is no buffer of ours to overflow: fn is called by
// the goroutine that reads the connection, and a watcher that falls far
// behind has its connection closed by Redis (its output buffer limit for
// subscribers), which is a dropped connection like any other. Live answers
// false from the moment a watcher notices its connection failed (at once
// for a closed one, within twice healthEvery for one that went silent)
// until its Resync has been handled, so the node polls the store
// meanwhile.
//
// A revocation that cannot be published (Redis down or failing) is
// returned as an error and kept, and published again once the Client is
// back up, so a node that stayed live hears it late rather than after its
// whole LiveCacheTTL. Too many kept ones become one message that tells
// every node to drop its whole view.
//
// It is safe for concurrent use; the zero value is not: use NewRevocations.
type Revocations struct {
	c       *Client
	channel string

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	// kept holds what could not be published, sent again by flush.
	kept keptRevocations

	// watching counts the running watchers and unsynced those among them
	// whose subscription is not in place or not yet followed by a Resync:
	// Live reads them and the Client's health, nothing else, on every
	// check.
	watching atomic.Int32
	unsynced atomic.Int32
}

var _ auth.LiveRevocations = (*Revocations)(nil)

const (
	// healthEvery is how long a subscription may stay silent before it is
	// pinged, and then how long the ping may go unanswered before the
	// connection counts as dead: a connection that died without a word
	// (a host gone, a network split) is noticed within twice this.
	healthEvery = 500 * time.Millisecond
	// retryMin and retryMax bound the wait between attempts to subscribe
	// again; the wait doubles from one to the other while they fail, and
	// the Client coming back up ends it at once.
	retryMin = 50 * time.Millisecond
	retryMax = time.Second
	// keepMax is how many session and user IDs are kept for publishing
	// again; past it they become one message that resynchronises every
	// node.
	keepMax = 1000
)

// NewRevocations returns the Revocations of c's deployment: every
// Revocations on a Client with the same prefix and Redis hears the others.
func NewRevocations(c *Client) *Revocations {
	r := &Revocations{c: c, channel: c.Key("revocations"), watchers: map[*watcher]struct{}{}}
	c.OnUp(r.up)
	return r
}

// The messages are short text: "s ID ID…" for sessions, "u ID" for a user,
// "*" for every view (kept revocations that overflowed). IDs hold no space.
const (
	msgSessions = "s "
	msgUser     = "u "
	msgAll      = "*"
)

// Revoke publishes that the sessions with ids ended. While the Client is
// down it does not wait for Redis: it keeps ids for later and returns an
// error at once.
func (r *Revocations) Revoke(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return r.publish(ctx, "revoke", msgSessions+strings.Join(ids, " "), func(k *keptRevocations) { k.sessions(ids) })
}

// RevokeUser publishes that the views of the user's sessions are stale,
// as Revoke does.
func (r *Revocations) RevokeUser(ctx context.Context, userID string) error {
	return r.publish(ctx, "revoke user", msgUser+userID, func(k *keptRevocations) { k.user(userID) })
}

// publish sends msg, or keeps what it says (with keep) for flush.
func (r *Revocations) publish(ctx context.Context, op, msg string, keep func(*keptRevocations)) error {
	if !r.c.Up() {
		r.keep(keep)
		return fmt.Errorf("redisstore: %s: %w: redis is down", op, auth.ErrUnavailable)
	}
	// The store has already revoked: a caller that goes away must not
	// take the news with it, so only the command timeout bounds this.
	cctx, cancel := r.c.Context(context.WithoutCancel(ctx))
	defer cancel()
	if err := r.c.Report(r.c.Redis().Publish(cctx, r.channel, msg).Err()); err != nil {
		r.keep(keep)
		return fmt.Errorf("redisstore: %s: %w: %w", op, auth.ErrUnavailable, err)
	}
	return nil
}

func (r *Revocations) keep(keep func(*keptRevocations)) {
	r.mu.Lock()
	keep(&r.kept)
	r.mu.Unlock()
	if r.c.Up() {
		// The Client came back between the failure and now, and its
		// flush may have run before this was kept: send it now.
		go r.flush()
	}
}

// up runs when the Client answers again after failing: every subscription
// may have missed messages, so each is made again (and its watcher sent
// Resync), and what could not be published is sent now. It runs in the
// goroutine of whichever command noticed, so it waits for nothing.
func (r *Revocations) up() {
	r.mu.Lock()
	ws := make([]*watcher, 0, len(r.watchers))
	for w := range r.watchers {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	for _, w := range ws {
		w.remake()
	}
	go r.flush()
}

// flush publishes what was kept while Redis failed; what fails again is
// kept again, for the next time the Client is back up.
func (r *Revocations) flush() {
	r.mu.Lock()
	k := r.kept
	r.kept = keptRevocations{}
	r.mu.Unlock()
	var msgs []string
	switch {
	case k.all:
		msgs = []string{msgAll}
	default:
		if len(k.ids) > 0 {
			msgs = append(msgs, msgSessions+strings.Join(k.ids, " "))
		}
		for _, u := range k.users {
			msgs = append(msgs, msgUser+u)
		}
	}
	for i, msg := range msgs {
		ctx, cancel := r.c.Context(context.Background())
		err := r.c.Report(r.c.Redis().Publish(ctx, r.channel, msg).Err())
		cancel()
		if err != nil {
			r.keep(func(kr *keptRevocations) {
				for _, msg := range msgs[i:] {
					kr.message(msg)
				}
			})
			return
		}
	}
}

// keptRevocations is what could not be published yet.
type keptRevocations struct {
	ids   []string
	users []string
	// all replaces the lists once they hold more than keepMax IDs.
	all bool
}

func (k *keptRevocations) sessions(ids []string) {
	if !k.all {
		k.ids = append(k.ids, ids...)
		k.trim()
	}
}

func (k *keptRevocations) user(id string) {
	if !k.all {
		k.users = append(k.users, id)
		k.trim()
	}
}

func (k *keptRevocations) trim() {
	if len(k.ids)+len(k.users) > keepMax {
		*k = keptRevocations{all: true}
	}
}

// message keeps a message that flush could not send.
func (k *keptRevocations) message(msg string) {
	switch rev := parse(msg); {
	case rev.Resync:
		*k = keptRevocations{all: true}
	case rev.UserID != "":
		k.user(rev.UserID)
	default:
		k.sessions(rev.SessionIDs)
	}
}

// parse reads a message. One it does not understand (a newer node's, or
// garbage) is a Resync: dropping the whole view is always safe.
func parse(msg string) auth.Revocation {
	switch {
	case strings.HasPrefix(msg, msgSessions):
		if ids := strings.Fields(msg[len(msgSessions):]); len(ids) > 0 {
			return auth.Revocation{SessionIDs: ids}
		}
	case strings.HasPrefix(msg, msgUser):
		if id := strings.TrimSpace(msg[len(msgUser):]); id != "" && !strings.ContainsRune(id, ' ') {
			return auth.Revocation{UserID: id}
		}
	}
	return auth.Revocation{Resync: true}
}

// Live reports whether the Client is up and every watcher's subscription
// is in place and resynchronised: whether a revocation published now
// reaches every watcher. It reads three atomics (see
// auth.LiveRevocations).
func (r *Revocations) Live() bool {
	return r.c.Up() && r.watching.Load() > 0 && r.unsynced.Load() == 0
}

// Watch subscribes fn and returns once the subscription is live. If Redis
// does not confirm it within the Client's timeout, Watch returns nil all
// the same and the watcher keeps trying in the background, Live answering
// false until it has subscribed and sent fn a Resync: a node that starts
// during an outage serves from the store rather than failing. Watch
// returns an error only when ctx has ended. fn is called from one
// goroutine, one message at a time, until ctx ends.
func (r *Revocations) Watch(ctx context.Context, fn func(auth.Revocation)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: watch: %w: %w", auth.ErrUnavailable, err)
	}
	w := &watcher{r: r, ctx: ctx, fn: fn, wake: make(chan struct{}, 1), first: make(chan struct{})}
	r.mu.Lock()
	r.watchers[w] = struct{}{}
	r.mu.Unlock()
	r.watching.Add(1)
	r.unsynced.Add(1)
	stop := context.AfterFunc(ctx, w.remake)
	go func() {
		defer stop()
		w.run()
	}()
	t := time.NewTimer(r.c.timeout)
	defer t.Stop()
	select {
	case <-w.first:
	case <-t.C:
		// The watcher sends Resync when it does subscribe: the view may
		// hold sessions loaded meanwhile.
		w.state.CompareAndSwap(waiting, gaveUp)
	case <-ctx.Done():
		return fmt.Errorf("redisstore: watch: %w: %w", auth.ErrUnavailable, ctx.Err())
	}
	return nil
}

// watcher is one subscription and the goroutine that reads it.
type watcher struct {
	r     *Revocations
	ctx   context.Context
	fn    func(auth.Revocation)
	wake  chan struct{} // cuts a wait between attempts short
	first chan struct{} // closed at the first confirmation, for Watch
	// state is waiting until the first subscription is confirmed (then
	// confirmed) or Watch stops waiting for it (then gaveUp).
	state atomic.Int32

	// remade is set when remake closed the subscription: its failure is
	// then ours, not Redis's.
	remade atomic.Bool

	mu     sync.Mutex
	ps     *redis.PubSub // the subscription being read; nil between two
	synced bool          // counted out of Revocations.unsynced
}

const (
	waiting int32 = iota
	confirmed
	gaveUp
)

// remake closes the watcher's subscription, so it is made again (with a
// Resync), and cuts its wait short; once ctx has ended, the watcher then
// stops.
func (w *watcher) remake() {
	// Not live from now: what is published before the subscription is
	// made again is lost to it.
	w.setSynced(false)
	w.mu.Lock()
	ps := w.ps
	w.mu.Unlock()
	if ps != nil {
		w.remade.Store(true)
		_ = ps.Close()
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// setSynced records whether the watcher hears everything, for Live.
func (w *watcher) setSynced(ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.synced == ok {
		return
	}
	w.synced = ok
	if ok {
		w.r.unsynced.Add(-1)
	} else {
		w.r.unsynced.Add(1)
	}
}

// run makes the subscription, reads it, and makes it again each time it
// fails, until ctx ends.
func (w *watcher) run() {
	defer func() {
		w.setSynced(false)
		w.r.mu.Lock()
		delete(w.r.watchers, w)
		w.r.mu.Unlock()
		w.r.unsynced.Add(-1)
		w.r.watching.Add(-1)
	}()
	wait := retryMin
	for w.ctx.Err() == nil {
		heard, err := w.subscription()
		w.setSynced(false)
		if w.ctx.Err() != nil {
			return
		}
		ours := w.remade.Swap(false)
		if heard {
			// It worked for a while: try again at once.
			wait = retryMin
			continue
		}
		// Redis did not confirm a subscription: it counts as down (the
		// Client's probe notices it back and up wakes this), unless the
		// subscription was closed by remake.
		if !ours && !errors.Is(err, redis.ErrClosed) {
			_ = w.r.c.Report(err)
		}
		select {
		case <-w.ctx.Done():
			return
		case <-w.wake:
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// subscription subscribes, hands fn what it hears until the subscription
// fails, and returns why; heard says whether it was confirmed first.
func (w *watcher) subscription() (heard bool, err error) {
	r := w.r
	ps := r.c.Redis().Subscribe(w.ctx, r.channel)
	w.mu.Lock()
	w.ps = ps
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.ps = nil
		w.mu.Unlock()
		_ = ps.Close()
	}()
	if w.ctx.Err() != nil {
		// ctx ended before w.ps was set, so remake found nothing to close.
		return false, w.ctx.Err()
	}
	// Subscribe sent SUBSCRIBE; its confirmation is the first reply.
	for {
		msg, err := ps.ReceiveTimeout(w.ctx, r.c.timeout)
		if err != nil {
			return false, err
		}
		if s, ok := msg.(*redis.Subscription); ok && s.Kind == "subscribe" {
			break
		}
	}
	w.subscribed()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(w.ctx, healthEvery)
		if err != nil {
			if !isTimeout(err) {
				return true, err
			}
			if pinged {
				return true, errors.New("redisstore: the revocations subscription does not answer a ping")
			}
			if err := ps.Ping(w.ctx); err != nil {
				return true, err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			w.deliver(parse(m.Payload))
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// go-redis made the connection again by itself and
				// subscribed anew: what was published in between is lost.
				w.setSynced(false)
				w.resync()
			}
		}
	}
}

// subscribed follows a confirmed subscription: the first one, that Watch is
// still waiting for, needs nothing more; any other may follow missed
// messages, so fn is sent Resync before anything the subscription brings.
func (w *watcher) subscribed() {
	if w.state.CompareAndSwap(waiting, confirmed) {
		w.setSynced(true)
		close(w.first)
		return
	}
	w.resync()
}

// resync sends fn a Resync and then counts the watcher as live: in that
// order, so that no view loaded before the Resync is trusted as live.
func (w *watcher) resync() {
	w.deliver(auth.Revocation{Resync: true})
	w.setSynced(true)
}

// deliver calls fn unless ctx has ended: a message read just before it
// ended is not for a watcher that has gone.
func (w *watcher) deliver(r auth.Revocation) {
	if w.ctx.Err() == nil {
		w.fn(r)
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
