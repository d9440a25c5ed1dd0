// Package smtptest runs a real SMTP server in-process (github.com/emersion/go-smtp)
// that records what it receives, for tests of the mail senders and of whole
// flows that send codes by email. It speaks plain SMTP, STARTTLS or
// implicit TLS with a certificate it makes itself, checks AUTH, and can be
// told to reject recipients, so tests cover what a real relay does.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/notify/sendtest"
)

// Mode says how the server speaks TLS.
type Mode int

// The server's TLS modes.
const (
	// Plain offers no TLS at all (no STARTTLS), like a local relay.
	Plain Mode = iota
	// StartTLS offers STARTTLS on a plain connection, like port 587.
	StartTLS
	// Implicit speaks TLS from the first byte, like port 465 (smtps).
	Implicit
)

// Config configures a Server.
type Config struct {
	Mode Mode
	// User and Pass, when User is set, are the only credentials AUTH
	// accepts (PLAIN or LOGIN), and MAIL is refused before AUTH.
	User, Pass string
}

// Message is one message the server accepted.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte   // the raw message
	TLS  bool     // whether the connection was encrypted
	User string   // who authenticated ("" for nobody)
}

// AuthAttempt is one AUTH the server saw, whether it succeeded or not, so a
// test can check that a password never crossed an unencrypted connection.
type AuthAttempt struct {
	Mech string
	User string
	Pass string
	TLS  bool
	OK   bool
}

// Server is a running in-process SMTP server.
type Server struct {
	// Addr is host:port to connect to (on 127.0.0.1).
	Addr string
	Host string
	Port int
	// RootCAs trusts the server's self-signed certificate (valid for
	// 127.0.0.1 and localhost); nil in Plain mode.
	RootCAs *x509.CertPool

	cfg  Config
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Message
	auth []AuthAttempt
	rej  error
	got  chan struct{}
	// rejectTo and dropData pick messages by recipient; conns are the
	// open connections, for HangUp.
	rejectTo func(to string) error
	dropData func(to string) bool
	conns    map[*smtp.Conn]bool
	dials    int
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := &Server{cfg: cfg, got: make(chan struct{}, 1), conns: map[*smtp.Conn]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // record, and let tests see, any clear-text AUTH
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = discardLogger{}
	var tlsConf *tls.Config
	if cfg.Mode != Plain {
		cert, pool, err := SelfSigned()
		if err != nil {
			t.Fatalf("smtptest: %v", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.RootCAs = pool
	}
	var l net.Listener
	var err error
	switch cfg.Mode {
	case Implicit:
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	case StartTLS:
		srv.TLSConfig = tlsConf
		l, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.srv = srv
	s.Addr = l.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// discardLogger keeps the server's connection errors (a client that hangs
// up mid-test) out of test output.
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// RejectRecipients makes RCPT TO answer err (an *smtp.SMTPError, so its
// code reaches the client, such as 550 or 451) until called with nil.
func (s *Server) RejectRecipients(err error) {
	s.mu.Lock()
	s.rej = err
	s.mu.Unlock()
}

// RejectSome makes RCPT TO answer fn(to) for each recipient (nil accepts
// it), until called with nil: a mail server that fails some messages.
func (s *Server) RejectSome(fn func(to string) error) {
	s.mu.Lock()
	s.rejectTo = fn
	s.mu.Unlock()
}

// DropData makes the server hang up in the middle of DATA, without
// accepting the message, for each message to a recipient fn picks, until
// called with nil: a connection dropped mid-batch.
func (s *Server) DropData(fn func(to string) bool) {
	s.mu.Lock()
	s.dropData = fn
	s.mu.Unlock()
}

// HangUp closes every open connection, as a server does to idle sessions.
func (s *Server) HangUp() {
	s.mu.Lock()
	conns := make([]*smtp.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Not under s.mu: closing a connection logs its session out, which
	// takes it.
	for _, c := range conns {
		_ = c.Close()
	}
}

// Connections returns how many connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// Messages returns a copy of what the server accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// AuthAttempts returns every AUTH the server saw, in order.
func (s *Server) AuthAttempts() []AuthAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthAttempt(nil), s.auth...)
}

// Wait waits until the server has accepted at least n messages and returns
// them, or fails the test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	return sendtest.Wait(t, "smtptest", n, timeout, s.got, s.Messages)
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	s.mu.Lock()
	s.conns[c] = true
	// After STARTTLS, go-smtp starts the connection's session anew.
	if !isTLS || s.cfg.Mode == Implicit {
		s.dials++
	}
	s.mu.Unlock()
	return &session{s: s, tls: isTLS, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		ok := ss.s.cfg.User != "" && user == ss.s.cfg.User && pass == ss.s.cfg.Pass
		ss.s.mu.Lock()
		ss.s.auth = append(ss.s.auth, AuthAttempt{Mech: mech, User: user, Pass: pass, TLS: ss.tls, OK: ok})
		ss.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	rej, rejectTo := ss.s.rej, ss.s.rejectTo
	ss.s.mu.Unlock()
	if rej != nil {
		return rej
	}
	if rejectTo != nil {
		if err := rejectTo(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	if drop := ss.s.dropData; drop != nil && len(ss.to) > 0 && drop(ss.to[0]) {
		ss.s.mu.Unlock()
		_ = ss.conn.Close()
		return errors.New("smtptest: connection dropped")
	}
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: b, TLS: ss.tls, User: ss.user})
	ss.s.mu.Unlock()
	select {
	case ss.s.got <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error {
	ss.s.mu.Lock()
	delete(ss.s.conns, ss.conn)
	ss.s.mu.Unlock()
	return nil
}

// loginServer is the server side of SASL LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response != nil { // initial response carries the user name
			l.user = string(response)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, errors.New("smtptest: unexpected LOGIN step")
}

// SelfSigned makes a short-lived ECDSA certificate for 127.0.0.1, ::1 and
// localhost, and a pool that trusts it.
func SelfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// Parsed is a received message taken apart: decoded headers and the text
// and HTML bodies, as a mail client would show them.
type Parsed struct {
	From, To, Subject string
	Header            netmail.Header
	Text, HTML        string
}

// Parse takes a received message apart: a single part or
// multipart/alternative (or mixed) with text/plain and text/html parts, in
// quoted-printable, base64 or 7/8bit.
func (m Message) Parse() (Parsed, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return Parsed{}, fmt.Errorf("smtptest: read message: %w", err)
	}
	dec := new(mime.WordDecoder)
	p := Parsed{Header: msg.Header}
	for _, f := range []struct {
		dst *string
		key string
	}{{&p.From, "From"}, {&p.To, "To"}, {&p.Subject, "Subject"}} {
		v, err := dec.DecodeHeader(msg.Header.Get(f.key))
		if err != nil {
			return Parsed{}, fmt.Errorf("smtptest: header %s: %w", f.key, err)
		}
		*f.dst = v
	}
	if err := p.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return Parsed{}, err
	}
	return p, nil
}

func (p *Parsed) walk(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("smtptest: content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("smtptest: multipart: %w", err)
			}
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("smtptest: body: %w", err)
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mt {
	case "text/plain":
		p.Text += s
	case "text/html":
		p.HTML += s
	}
	return nil
}
