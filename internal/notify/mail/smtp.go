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
	"github.com/wneessen/go-mail/smtp"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// Limits of the connections smtpSender keeps open between messages.
const (
	// idleTimeout is how long an idle connection is kept. Servers close
	// idle sessions themselves (RFC 5321 asks them to wait at least five
	// minutes, some wait less); a connection the server dropped is found
	// by the NOOP go-mail sends before each message, and replaced.
	idleTimeout = 30 * time.Second
	// maxConnMessages bounds the messages sent over one connection, for
	// servers that limit them per session.
	maxConnMessages = 100
)

// smtpSender delivers through an SMTP server with go-mail. It keeps up to
// Options.MaxIdleConns connections open between messages, each message a mail
// transaction of its own (go-mail checks the session with NOOP before it
// and ends it with RSET), so a burst of codes costs a connection, EHLO,
// STARTTLS and AUTH per connection rather than per message. It is safe for
// concurrent use: each Send has a connection of its own.
type smtpSender struct {
	cfg     smtpConfig
	from    string
	tls     *tls.Config
	timeout time.Duration
	maxIdle int

	mu     sync.Mutex
	idle   []*smtpConn // most recently used last
	closed bool
}

// smtpConn is one SMTP session: the go-mail client that dialled it, its
// protocol client and the network connection beneath, which is closed
// when the context of the Send using it ends.
type smtpConn struct {
	client *gomail.Client
	smtp   *smtp.Client
	used   time.Time // when it went idle
	sent   int       // messages sent over it

	mu   sync.Mutex
	conn net.Conn
	dead bool // closed: by kill, or after an error
}

// attach records c as the connection beneath, or closes it at once when
// the Send that dials it has already ended.
func (sc *smtpConn) attach(c net.Conn) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.dead {
		_ = c.Close()
		return false
	}
	sc.conn = c
	return true
}

// kill closes the network connection without a word to the server: the
// Send using it has ended, and a slow server must not hold it up.
func (sc *smtpConn) kill() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.dead = true
	if sc.conn != nil {
		_ = sc.conn.Close()
	}
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
	s := &smtpSender{cfg: cfg, from: from, tls: tc, timeout: opts.Timeout, maxIdle: opts.MaxIdleConns}
	if s.maxIdle <= 0 {
		s.maxIdle = notify.DefaultConcurrency
	}
	// Fail at start-up, not at the first message, when go-mail refuses the
	// settings.
	if _, err := s.client(&smtpConn{}); err != nil {
		return nil, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: %w", err)
	}
	return s, nil
}

// client returns a go-mail client that dials sc's connection.
func (s *smtpSender) client(sc *smtpConn) (*gomail.Client, error) {
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
		if !sc.attach(c) {
			return nil, net.ErrClosed
		}
		// The connection is returned as dialled (a *tls.Conn stays one),
		// so go-mail still knows it is encrypted.
		return c, nil
	}))
	c, err := gomail.NewClient(s.cfg.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}

// get returns an idle connection (reused true) or, when none is left, a
// new one dialled under ctx. Until release or discard, sc is closed when
// ctx ends (stop undoes that).
func (s *smtpSender) get(ctx context.Context) (sc *smtpConn, reused bool, stop func() bool, err error) {
	now := time.Now()
	s.mu.Lock()
	for len(s.idle) > 0 {
		sc = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(sc.used) < idleTimeout {
			break
		}
		sc.kill() // no QUIT: the server has likely hung up already
		sc = nil
	}
	s.mu.Unlock()
	if sc != nil {
		return sc, true, context.AfterFunc(ctx, sc.kill), nil
	}
	sc = &smtpConn{}
	stop = context.AfterFunc(ctx, sc.kill)
	if sc.client, err = s.client(sc); err == nil {
		sc.smtp, err = sc.client.DialToSMTPClientWithContext(ctx)
	}
	if err != nil {
		stop()
		sc.kill()
		return nil, false, nil, err
	}
	return sc, false, stop, nil
}

// release keeps sc for the next message, unless it is used up, the pool is
// full or closed.
func (s *smtpSender) release(sc *smtpConn) {
	sc.sent++
	sc.used = time.Now()
	s.mu.Lock()
	keep := !s.closed && len(s.idle) < s.maxIdle && sc.sent < maxConnMessages
	if keep {
		s.idle = append(s.idle, sc)
	}
	s.mu.Unlock()
	if !keep {
		s.quit(sc)
	}
}

// quit ends sc's session politely (QUIT), within the sender's timeout.
func (s *smtpSender) quit(sc *smtpConn) {
	stop := time.AfterFunc(s.timeout, sc.kill)
	defer stop.Stop()
	_ = sc.client.CloseWithSMTPClient(sc.smtp)
	sc.kill()
}

// Close ends the idle sessions; a Send after Close still works but keeps
// no connection open. The worker's owner calls it once delivery stops.
func (s *smtpSender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, sc := range idle {
		s.quit(sc)
	}
	return nil
}

// Send delivers m as multipart/alternative (text, then HTML). SMTP 5xx
// replies are permanent; 4xx replies, network and TLS errors are temporary.
//
// A kept connection that turns out to be dead before the message went out
// (the NOOP before it failed: the server closed the idle session) is
// replaced by a new one once; an error after that is the message's. A
// message the server accepted counts as sent even when the RSET that
// follows fails: sending it again would deliver it twice.
func (s *smtpSender) Send(ctx context.Context, m notify.Email) error {
	msg, err := s.message(m)
	if err != nil {
		return notify.Permanent(err)
	}
	for {
		sc, reused, stop, err := s.get(ctx)
		if err != nil {
			return s.sendError(ctx, fmt.Errorf("dial failed: %w", err))
		}
		err = sc.client.SendWithSMTPClient(sc.smtp, msg)
		live := stop()
		switch {
		case err == nil && live:
			s.release(sc)
			return nil
		case msg.IsDelivered():
			sc.kill()
			return nil
		}
		sc.kill()
		if reused && live && connCheckFailed(err) {
			continue
		}
		return s.sendError(ctx, fmt.Errorf("send failed: %w", err))
	}
}

// sendError wraps a failed delivery's err, permanent for an SMTP 5xx reply.
func (s *smtpSender) sendError(ctx context.Context, err error) error {
	err = fmt.Errorf("mail: smtp %s: %w", net.JoinHostPort(s.cfg.host, strconv.Itoa(s.cfg.port)), err)
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	if smtpPermanent(err) {
		return notify.Permanent(err)
	}
	return err
}

// connCheckFailed reports whether err is go-mail's failed check of the
// session before a message (no connection, or no answer to NOOP), when no
// byte of the message has gone out.
func connCheckFailed(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrConnCheck
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
