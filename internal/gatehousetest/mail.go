package gatehousetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

// MailsTo returns the messages s received for address, in order.
func MailsTo(s *smtptest.Server, address string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range s.Messages() {
		if slices.Contains(m.To, address) {
			out = append(out, m)
		}
	}
	return out
}

// WaitMail waits up to Wait for the n-th message (from 1) to address on s
// and returns it.
func WaitMail(t testing.TB, s *smtptest.Server, address string, n int) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		mine := MailsTo(s, address)
		if len(mine) >= n {
			return mine[n-1]
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no message %d to %s after %v (%d to it, %d in all)", n, address, Wait, len(mine), len(s.Messages()))
		}
		s.Wait(t, len(s.Messages())+1, left)
	}
}
