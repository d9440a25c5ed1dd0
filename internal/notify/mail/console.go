package mail

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// console prints messages instead of sending them, so a developer sees the
// codes and links without a mail server. It is for dev mode only: what it
// prints is exactly what the outbox keeps sealed.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	from string
}

func newConsole(w io.Writer, from string) *console { return &console{w: w, from: from} }

// Send writes the recipient, subject and text body as one block, so
// concurrent messages do not interleave.
func (c *console) Send(_ context.Context, m notify.Email) error {
	from := m.From
	if from == "" {
		from = c.from
	}
	var b strings.Builder
	b.WriteString("----- email -----\n")
	if from != "" {
		fmt.Fprintf(&b, "From: %s\n", from)
	}
	fmt.Fprintf(&b, "To: %s\nSubject: %s\n\n%s", m.To, m.Subject, m.Text)
	if !strings.HasSuffix(m.Text, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString("-----------------\n")
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return fmt.Errorf("mail: console: %w", err)
	}
	return nil
}
