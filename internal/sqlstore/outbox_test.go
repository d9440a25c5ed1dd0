package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The store is every port the outbox needs; storetest.MessageStore must
// stay notify.Store's twin.
var (
	_ auth.ChallengeStore    = (*sqlstore.Store)(nil)
	_ notify.Store           = (*sqlstore.Store)(nil)
	_ storetest.MessageStore = (notify.Store)(nil)
	_ notify.Store           = (storetest.MessageStore)(nil)
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// putMessage stores a challenge for a new address with a message created
// and due at created, as the flows do.
func putMessage(tb testing.TB, s *sqlstore.Store, id string, created time.Time) *auth.Message {
	tb.Helper()
	addr := id + "@example.com"
	c := &auth.Challenge{
		ID: "c-" + id, Purpose: auth.PurposeSignIn, Address: addr, CodeHash: []byte("code-hash"),
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
	m := &auth.Message{
		ID: id, Kind: auth.KindSignInCode, Channel: "email", To: addr,
		Payload: []byte("sealed payload " + id), Status: auth.MessagePending,
		NextAttemptAt: created, CreatedAt: created,
	}
	if err := s.PutChallengeWithMessage(context.Background(), c, m); err != nil {
		tb.Fatalf("PutChallengeWithMessage: %v", err)
	}
	return m
}

// TestPayloadWiped reads the rows themselves: what auth.Message does not
// show (the payload of a listed message, the lease, failed_at) must be
// right too.
func TestPayloadWiped(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		sent, failed, retried := putMessage(t, s, "sent", t0), putMessage(t, s, "failed", t0), putMessage(t, s, "retried", t0)
		if got, err := s.ClaimMessages(ctx, t0, time.Hour, 10); err != nil || len(got) != 3 {
			t.Fatalf("ClaimMessages = %d, %v", len(got), err)
		}
		if err := s.MessageSent(ctx, sent.ID, 1, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.MessageFailed(ctx, failed.ID, 5, "550", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.MessageRetry(ctx, retried.ID, 1, t0.Add(time.Minute), "421"); err != nil {
			t.Fatal(err)
		}
		row := func(id string) string {
			t.Helper()
			// length() counts a BLOB's and a bytea's bytes alike.
			v, err := s.QueryString(ctx, false, fmt.Sprintf(`SELECT length(payload) || ' ' ||
				CASE WHEN locked_until IS NULL THEN 'unlocked' ELSE 'locked' END || ' ' ||
				CASE WHEN failed_at IS NULL THEN '-' ELSE 'failed_at' END || ' ' ||
				CASE WHEN payload IS NULL THEN 'NULL' ELSE 'bytes' END
				FROM messages WHERE id = '%s'`, id))
			if err != nil {
				t.Fatalf("read message %s: %v", id, err)
			}
			return v
		}
		for id, want := range map[string]string{
			sent.ID:    "0 unlocked - bytes",
			failed.ID:  "0 unlocked failed_at bytes",
			retried.ID: fmt.Sprintf("%d unlocked - bytes", len(retried.Payload)),
		} {
			if got := row(id); got != want {
				t.Errorf("message %s: payload length, lease, failed_at, NULL payload = %q, want %q", id, got, want)
			}
		}
		// The retried message keeps its payload, byte for byte.
		got, err := s.ClaimMessages(ctx, t0.Add(time.Minute), time.Hour, 10)
		if err != nil || len(got) != 1 || string(got[0].Payload) != string(retried.Payload) {
			t.Errorf("claim of the retried message = %+v, %v; want its payload intact", got, err)
		}
		// One challenge row per purpose and address, whatever replaced it.
		for i := range 3 {
			c := &auth.Challenge{
				ID: fmt.Sprintf("again-%d", i), Purpose: auth.PurposeSignIn, Address: "sent@example.com",
				CodeHash: []byte{1}, CreatedAt: t0, ExpiresAt: t0,
			}
			if err := s.PutChallenge(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.QueryString(ctx, false, `SELECT COUNT(*) FROM challenges WHERE address = 'sent@example.com'`); err != nil || n != "1" {
			t.Errorf("challenge rows for one purpose and address = %s, %v; want 1", n, err)
		}
	})
}

// TestClaimTwoNodes drains one outbox from two stores on one database, as
// two nodes (PostgreSQL) or two processes on one file (SQLite) would, with
// several workers each: every message is claimed exactly once.
func TestClaimTwoNodes(t *testing.T) {
	for _, tc := range []sqltest.DB{sqltest.SQLiteDB, sqltest.PostgresDB} {
		t.Run(tc.Name, func(t *testing.T) {
			u := tc.URL(t)
			ctx := t.Context()
			var nodes [2]*sqlstore.Store
			for i := range nodes {
				s, err := sqlstore.Open(ctx, u, sqlstore.Options{})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				nodes[i] = s
			}
			const total, perNode = 300, 4
			for i := range total {
				putMessage(t, nodes[i%2], fmt.Sprintf("m%04d", i), t0.Add(time.Duration(i)*time.Microsecond))
			}
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				mu     sync.Mutex
				counts = map[string]int{}
				errs   = make(chan error, 2*perNode)
			)
			for n, s := range nodes {
				for w := range perNode {
					wg.Go(func() {
						<-start
						for {
							batch, err := s.ClaimMessages(ctx, t0.Add(time.Second), time.Hour, 1+(n+w)%5)
							if err != nil {
								errs <- err
								return
							}
							if len(batch) == 0 {
								return
							}
							mu.Lock()
							for _, m := range batch {
								counts[m.ID]++
							}
							mu.Unlock()
							for _, m := range batch {
								if err := s.MessageSent(ctx, m.ID, 1, t0); err != nil {
									errs <- err
									return
								}
							}
						}
					})
				}
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("worker: %v", err)
			}
			for id, n := range counts {
				if n != 1 {
					t.Errorf("message %s was claimed %d times, want once", id, n)
				}
			}
			if len(counts) != total {
				t.Errorf("%d messages claimed, want %d", len(counts), total)
			}
		})
	}
}

// BenchmarkClaimMessages measures a worker's poll: claim a batch of 10 out
// of an outbox of 1,000 pending messages. "claim" leaves them pending (the
// clock moves past each lease, so the same oldest ten come back);
// "claim+sent" marks each claimed message sent, as a delivering worker
// does, refilling the outbox off the clock; "parallel" claims from
// GOMAXPROCS goroutines at once.
func BenchmarkClaimMessages(b *testing.B) {
	const pending, batch = 1000, 10
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			if db.name == "postgres" && os.Getenv(sqltest.PostgresEnv) == "" {
				b.Skipf("%s is not set", sqltest.PostgresEnv)
			}
			s := db.open(b)
			ctx := context.Background()
			var seq atomic.Int64
			fill := func(n int) {
				for range n {
					i := seq.Add(1)
					putMessage(b, s, fmt.Sprintf("m%09d", i), t0.Add(time.Duration(i)*time.Microsecond))
				}
			}
			fill(pending)
			b.Run("claim", func(b *testing.B) {
				now := t0.Add(time.Hour)
				for b.Loop() {
					now = now.Add(time.Second)
					got, err := s.ClaimMessages(ctx, now, time.Second, batch)
					if err != nil || len(got) != batch {
						b.Fatalf("ClaimMessages = %d, %v", len(got), err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				var tick atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						now := t0.Add(2*time.Hour + time.Duration(tick.Add(1))*time.Second)
						if _, err := s.ClaimMessages(ctx, now, time.Second, batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("claim+sent", func(b *testing.B) {
				now := t0.Add(3 * time.Hour)
				for b.Loop() {
					now = now.Add(time.Second)
					got, err := s.ClaimMessages(ctx, now, time.Second, batch)
					if err != nil {
						b.Fatal(err)
					}
					if len(got) < batch {
						b.StopTimer()
						fill(pending)
						b.StartTimer()
						continue
					}
					for _, m := range got {
						if err := s.MessageSent(ctx, m.ID, 1, now); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		})
	}
}
