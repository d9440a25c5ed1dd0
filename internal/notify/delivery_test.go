package notify_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// These tests run the worker as it runs in production: the SQL store on
// SQLite and PostgreSQL, the SMTP sender and its kept connections, and a
// real SMTP server in process.

// smtpNode is one node's delivery: a worker with an SMTP sender of its own
// (and so connections of its own) on a store.
type smtpNode struct {
	worker *notify.Worker
	sender notify.Sender
}

func newSMTPNode(t *testing.T, store notify.Store, srv *smtptest.Server, clock auth.Clock, batch, concurrency int) *smtpNode {
	t.Helper()
	sender, err := mail.New(fmt.Sprintf("smtp://%s?tls=none", srv.Addr), "Gatehouse <no-reply@auth.example.com>", mail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := notify.NewWorker(notify.WorkerConfig{
		Store: store, Box: testBox(t), Sender: sender, Clock: clock, Batch: batch, Concurrency: concurrency,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &smtpNode{worker: w, sender: sender}
}

// drain runs the node's worker until a claim comes back empty.
func (n *smtpNode) drain(t *testing.T) {
	t.Helper()
	for {
		got, err := n.worker.RunOnce(t.Context())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if got == 0 {
			return
		}
	}
}

// enqueueTo queues a sign-in code to each of to, as requests do.
func enqueueTo(t *testing.T, q auth.MessageQueue, clock auth.Clock, to ...string) {
	t.Helper()
	ob := notify.NewOutbox(testTemplates(t), testBox(t), clock)
	for _, addr := range to {
		m, err := ob.Compose(t.Context(), auth.KindSignInCode, addr, testData)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// addresses returns n addresses named prefix0@example.com and on.
func addresses(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d@example.com", prefix, i)
	}
	return out
}

// received counts the messages the server accepted per recipient.
func received(srv *smtptest.Server) map[string]int {
	got := map[string]int{}
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	return got
}

// outbox returns every message of the store by recipient.
func outbox(t *testing.T, s notify.Store) map[string]auth.Message {
	t.Helper()
	msgs, err := s.ListMessages(t.Context(), "", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]auth.Message{}
	for _, m := range msgs {
		out[m.To] = m
	}
	return out
}

// TestDeliverySMTPSomeFail: a server that refuses some recipients for now
// (451) and some for good (550) fails those messages alone: the others of
// the batch are sent once and recorded, the temporary ones are retried
// after their backoff and then sent once, the permanent ones given up.
func TestDeliverySMTPSomeFail(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
		clock := newFakeClock()
		node := newSMTPNode(t, s, srv, clock, 8, 3)
		ok, temp, perm := addresses("ok", 20), addresses("temp", 5), addresses("perm", 5)
		enqueueTo(t, s, clock, append(append(append([]string{}, ok...), temp...), perm...)...)
		srv.RejectSome(func(to string) error {
			switch {
			case strings.HasPrefix(to, "temp"):
				return &smtp.SMTPError{Code: 451, Message: "try later"}
			case strings.HasPrefix(to, "perm"):
				return &smtp.SMTPError{Code: 550, Message: "no such user"}
			}
			return nil
		})
		node.drain(t)
		srv.RejectSome(nil)
		clock.Advance(notify.DefaultMaxBackoff)
		node.drain(t)

		got, box := received(srv), outbox(t, s)
		for _, to := range ok {
			if m := box[to]; got[to] != 1 || m.Status != auth.MessageSent || m.Attempts != 1 {
				t.Errorf("%s: received %d times, %s after %d attempts; want once, sent at the first", to, got[to], m.Status, m.Attempts)
			}
		}
		for _, to := range temp {
			if m := box[to]; got[to] != 1 || m.Status != auth.MessageSent || m.Attempts != 2 {
				t.Errorf("%s: received %d times, %s after %d attempts; want once, sent at the second", to, got[to], m.Status, m.Attempts)
			}
		}
		for _, to := range perm {
			if m := box[to]; got[to] != 0 || m.Status != auth.MessageFailed || m.Attempts != 1 {
				t.Errorf("%s: received %d times, %s after %d attempts; want never, failed at the first", to, got[to], m.Status, m.Attempts)
			}
		}
	})
}

// TestDeliverySMTPConnectionDropped: a server that hangs up in the middle
// of a message loses that message's attempt alone (it is retried, then
// sent once); one that hangs up the kept idle connections between batches
// costs nothing: the sender finds them dead before sending and dials anew,
// so no message of the next batch even counts a failed attempt.
func TestDeliverySMTPConnectionDropped(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
		clock := newFakeClock()
		node := newSMTPNode(t, s, srv, clock, 8, 4)
		first, drop := addresses("first", 12), addresses("drop", 4)
		enqueueTo(t, s, clock, append(append([]string{}, first...), drop...)...)
		var mu sync.Mutex
		dropped := map[string]bool{}
		srv.DropData(func(to string) bool {
			mu.Lock()
			defer mu.Unlock()
			if strings.HasPrefix(to, "drop") && !dropped[to] {
				dropped[to] = true
				return true
			}
			return false
		})
		node.drain(t)
		mu.Lock()
		n := len(dropped)
		mu.Unlock()
		if n != len(drop) {
			t.Fatalf("the server dropped %d connections, want %d", n, len(drop))
		}

		srv.HangUp() // every connection the sender keeps is dead now
		clock.Advance(notify.DefaultMaxBackoff)
		second := addresses("second", 12)
		enqueueTo(t, s, clock, second...)
		node.drain(t)

		got, box := received(srv), outbox(t, s)
		for _, to := range append(append([]string{}, first...), second...) {
			if m := box[to]; got[to] != 1 || m.Status != auth.MessageSent || m.Attempts != 1 {
				t.Errorf("%s: received %d times, %s after %d attempts; want once, sent at the first", to, got[to], m.Status, m.Attempts)
			}
		}
		for _, to := range drop {
			if m := box[to]; got[to] != 1 || m.Status != auth.MessageSent || m.Attempts != 2 {
				t.Errorf("%s: received %d times, %s after %d attempts; want once, sent at the second", to, got[to], m.Status, m.Attempts)
			}
		}
		// Kept connections carried the batches: far fewer dials than
		// messages.
		if n := srv.Connections(); n >= len(first)+len(second) {
			t.Errorf("the server saw %d connections for %d messages; want them kept between messages", n, len(first)+len(second)+2*len(drop))
		}
	})
}

// TestDeliverySMTPTwoNodes: two nodes, each with its worker, its store
// connections and its SMTP connections, drain one database at once; every
// message reaches the server exactly once and is recorded sent.
func TestDeliverySMTPTwoNodes(t *testing.T) {
	sqltest.EachDB(t, func(t *testing.T, db sqltest.DB) {
		url := db.URL(t)
		open := func() *sqlstore.Store {
			s, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return s
		}
		a, b := open(), open()
		srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
		clock := newFakeClock()
		to := addresses("user", 150)
		enqueueTo(t, a, clock, to...)
		nodes := []*smtpNode{newSMTPNode(t, a, srv, clock, 8, 4), newSMTPNode(t, b, srv, clock, 8, 4)}
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { n.drain(t) })
		}
		wg.Wait()

		got, box := received(srv), outbox(t, a)
		if len(got) != len(to) {
			t.Errorf("the server got messages for %d recipients, want %d", len(got), len(to))
		}
		for _, addr := range to {
			if m := box[addr]; got[addr] != 1 || m.Status != auth.MessageSent || m.Attempts != 1 {
				t.Errorf("%s: received %d times, %s after %d attempts; want once, sent at the first", addr, got[addr], m.Status, m.Attempts)
			}
		}
	})
}
