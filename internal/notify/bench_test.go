package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// benchStore is the outbox as the delivery benchmark fills and drains it.
type benchStore interface {
	notify.Store
	auth.MessageQueue
}

// BenchmarkWorkerSMTP measures how many messages per second the worker
// delivers to an in-process SMTP server (tls=none), end to end: claim, open
// the sealed payload, SMTP, record. It runs on the in-memory store (the
// worker and SMTP alone), on SQLite and on PostgreSQL (skipped when
// GATEHOUSE_TEST_POSTGRES_URL is unset). The messages are queued before the
// timer starts, as after a burst of sign-ins; msgs/s is the drain rate.
func BenchmarkWorkerSMTP(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) benchStore
	}{
		{"mem", func(*testing.B) benchStore { return newMemStore() }},
		{"sqlite", func(b *testing.B) benchStore { return sqltest.SQLite(b) }},
		{"postgres", func(b *testing.B) benchStore { return sqltest.Postgres(b) }},
	}
	for _, st := range stores {
		for _, batch := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("store=%s/batch=%d", st.name, batch), func(b *testing.B) {
				benchWorkerSMTP(b, st.open(b), batch)
			})
		}
	}
}

func benchWorkerSMTP(b *testing.B, store benchStore, batch int) {
	ctx := context.Background()
	srv := smtptest.Start(b, smtptest.Config{Mode: smtptest.Plain})
	sender, err := mail.New(fmt.Sprintf("smtp://%s?tls=none", srv.Addr), "Gatehouse <no-reply@auth.example.com>", mail.Options{})
	if err != nil {
		b.Fatal(err)
	}
	box, clock := testBox(b), newFakeClock()
	ob := notify.NewOutbox(testTemplates(b), box, clock)
	w, err := notify.NewWorker(notify.WorkerConfig{
		Store: store, Box: box, Sender: sender, Clock: clock, Batch: batch,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		m, err := ob.Compose(ctx, auth.KindMagicLink, fmt.Sprintf("user%d@example.com", i),
			auth.MessageData{Code: "482913", Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Enqueue(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := len(srv.Messages()); got != b.N {
		b.Fatalf("server got %d messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
