package sms

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// console prints text messages instead of sending them, so a developer
// sees the codes without a Twilio account (see notify.Console).
type console struct{ out *notify.Console }

func newConsole(w io.Writer) *console { return &console{out: notify.NewConsole(w)} }

// SendSMS prints the recipient and text.
func (c *console) SendSMS(_ context.Context, m notify.SMS) error {
	if err := c.out.Print("sms", fmt.Sprintf("To: %s\n", m.To), m.Text); err != nil {
		return fmt.Errorf("sms: console: %w", err)
	}
	return nil
}
