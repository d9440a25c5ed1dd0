package notify

import (
	"io"
	"strings"
	"sync"
)

// Console prints messages instead of sending them, so a developer sees the
// codes and links without a mail server or an SMS account. It is for dev
// mode only: what it prints is exactly what the outbox keeps sealed. The
// mail and SMS console senders share it so both channels print alike.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole returns a Console that writes to w.
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

// Print writes one message as a single block: a title line naming channel,
// the header lines, a blank line, the body ending in a newline, and a rule
// as wide as the title. It writes the block in one call under a lock, so
// concurrent messages do not interleave.
func (c *Console) Print(channel, header, body string) error {
	title := "----- " + channel + " -----\n"
	var b strings.Builder
	b.WriteString(title)
	b.WriteString(header)
	b.WriteString("\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat("-", len(title)-1) + "\n")
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, b.String())
	return err
}
