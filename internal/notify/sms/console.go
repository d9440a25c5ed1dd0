package sms

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// console prints messages instead of sending them, so a developer sees the
// codes without a Twilio account. It is for dev mode only: what it prints
// is exactly what the outbox keeps sealed.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// SendSMS writes the recipient and text as one block, so concurrent
// messages do not interleave.
func (c *console) SendSMS(_ context.Context, m notify.SMS) error {
	var b strings.Builder
	fmt.Fprintf(&b, "----- sms -----\nTo: %s\n\n%s", m.To, m.Text)
	if !strings.HasSuffix(m.Text, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString("---------------\n")
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return fmt.Errorf("sms: console: %w", err)
	}
	return nil
}
