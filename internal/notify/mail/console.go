package mail

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// console prints email instead of sending it, so a developer sees the
// codes and links without a mail server (see notify.Console).
type console struct {
	out  *notify.Console
	from string
}

func newConsole(w io.Writer, from string) *console {
	return &console{out: notify.NewConsole(w), from: from}
}

// Send prints the sender, recipient, subject and text body; the HTML body
// says the same.
func (c *console) Send(_ context.Context, m notify.Email) error {
	from := m.From
	if from == "" {
		from = c.from
	}
	var h strings.Builder
	if from != "" {
		fmt.Fprintf(&h, "From: %s\n", from)
	}
	fmt.Fprintf(&h, "To: %s\nSubject: %s\n", m.To, m.Subject)
	if err := c.out.Print("email", h.String(), m.Text); err != nil {
		return fmt.Errorf("mail: console: %w", err)
	}
	return nil
}
