package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// smtpSender delivers through an SMTP server with go-mail, one connection
// per message: outbox volumes are low and a fresh connection never finds a
// stale one. It is safe for concurrent use.
type smtpSender struct {
	cfg     smtpConfig
	from    string
	tls     *tls.Config
	timeout time.Duration
}

func newSMTP(cfg smtpConfig, from string, opts Options) (*smtpSender, error) {
	var tc *tls.Config
	if opts.TLSConfig != nil {
		tc = opts.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	tc.ServerName = cfg.host
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	s := &smtpSender{cfg: cfg, from: from, tls: tc, timeout: opts.Timeout}
	// Fail at start-up, not at the first message, when go-mail refuses the
	// settings.
	if _, err := s.client(context.Background(), nil); err != nil {
		return nil, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: %w", err)
	}
	return s, nil
}

// client returns a go-mail client for one delivery. Its connections close
// when ctx ends, so a stopping worker is not held up by a slow server; go-mail
// itself only bounds them by its timeout. Closers of the connections it
// dials are added to conns.
func (s *smtpSender) client(ctx context.Context, conns *connSet) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tls),
	}
	switch {
	case s.cfg.implicit:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.noTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	// After WithSSL, which sets its own default port.
	opts = append(opts, gomail.WithPort(s.cfg.port))
	if s.cfg.user != "" {
		// PLAIN and LOGIN (not the -NOENC variants): go-mail refuses to send
		// the password over a connection without TLS, except to localhost.
		auth := gomail.SMTPAuthPlain
		if s.cfg.authLogin {
			auth = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.user), gomail.WithPassword(s.cfg.pass))
	}
	if conns != nil {
		opts = append(opts, gomail.WithDialContextFunc(func(dctx context.Context, network, addr string) (net.Conn, error) {
			d := &net.Dialer{}
			var c net.Conn
			var err error
			if s.cfg.implicit {
				// go-mail dials TLS itself only without a dial function.
				c, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(dctx, network, addr)
			} else {
				c, err = d.DialContext(dctx, network, addr)
			}
			if err != nil {
				return nil, err
			}
			// The connection is returned as dialled (a *tls.Conn stays
			// one), so go-mail still knows it is encrypted.
			conns.add(context.AfterFunc(ctx, func() { _ = c.Close() }))
			return c, nil
		}))
	}
	c, err := gomail.NewClient(s.cfg.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}

// connSet collects the stop functions of connection watchers.
type connSet struct {
	mu    sync.Mutex
	stops []func() bool
}

func (c *connSet) add(stop func() bool) {
	c.mu.Lock()
	c.stops = append(c.stops, stop)
	c.mu.Unlock()
}

func (c *connSet) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.stops {
		f()
	}
}

// Send delivers m as multipart/alternative (text, then HTML). SMTP 5xx
// replies are permanent; 4xx replies, network and TLS errors are temporary.
func (s *smtpSender) Send(ctx context.Context, m notify.Email) error {
	msg, err := s.message(m)
	if err != nil {
		return notify.Permanent(err)
	}
	var conns connSet
	defer conns.stop()
	c, err := s.client(ctx, &conns)
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("mail: smtp %s: %w", net.JoinHostPort(s.cfg.host, strconv.Itoa(s.cfg.port)), err)
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		if smtpPermanent(err) {
			return notify.Permanent(err)
		}
		return err
	}
	return nil
}

func (s *smtpSender) message(m notify.Email) (*gomail.Msg, error) {
	from := m.From
	if from == "" {
		from = s.from
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp: sender address: %w", err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: smtp: sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: smtp: recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	// A Message-ID in the sender's domain, not this host's name: spam
	// filters compare them, and the host name is nobody's business.
	domain := addr.Address[strings.LastIndexByte(addr.Address, '@')+1:]
	msg.SetMessageIDWithValue(uuid.NewString() + "@" + domain)
	msg.SetDate()
	// Keep out-of-office replies and the like from answering a machine.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// smtpPermanent reports an SMTP 5xx reply anywhere in err: during the
// transaction (go-mail's SendError) or before it (AUTH, STARTTLS).
func smtpPermanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		if code >= 500 && code < 600 {
			return true
		}
		if code >= 400 && code < 500 {
			return false
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code < 600
	}
	return false
}
