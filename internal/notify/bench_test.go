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
)

// BenchmarkWorkerSMTP measures how many messages per second the worker
// delivers from the in-memory store to an in-process SMTP server (tls=none,
// one connection per message), end to end: claim, open the sealed payload,
// SMTP, record.
func BenchmarkWorkerSMTP(b *testing.B) {
	for _, batch := range []int{1, notify.DefaultBatch} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			srv := smtptest.Start(b, smtptest.Config{Mode: smtptest.Plain})
			sender, err := mail.New(fmt.Sprintf("smtp://%s?tls=none", srv.Addr), "Gatehouse <no-reply@auth.example.com>", mail.Options{})
			if err != nil {
				b.Fatal(err)
			}
			box, clock, store := testBox(b), newFakeClock(), newMemStore()
			ob := notify.NewOutbox(testTemplates(b), box, clock)
			w, err := notify.NewWorker(notify.WorkerConfig{
				Store: store, Box: box, Sender: sender, Clock: clock, Batch: batch,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				m, err := ob.Compose(context.Background(), auth.KindMagicLink, fmt.Sprintf("user%d@example.com", i),
					auth.MessageData{Code: "482913", Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				store.add(m)
			}
			b.ResetTimer()
			start := time.Now()
			for {
				n, err := w.RunOnce(context.Background())
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
		})
	}
}
