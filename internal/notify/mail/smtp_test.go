package mail_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/sendtest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

var testEmail = notify.Email{
	To:      "alice@example.com",
	Subject: "482913 is your Gatehouse sign-in code — für dich",
	Text:    "Your Gatehouse sign-in code is 482913.\nIt expires in 5 minutes.\n",
	HTML:    `<!DOCTYPE html><html><body><p>Your code is <b>482913</b> &amp; <a href="https://auth.example.com/v1/verify?token=abc">link</a></p></body></html>`,
}

func newSender(t *testing.T, url string, opts mail.Options) notify.Sender {
	t.Helper()
	s, err := mail.New(url, testFrom, opts)
	if err != nil {
		t.Fatalf("mail.New(%q): %v", url, err)
	}
	return s
}

func send(t *testing.T, s notify.Sender) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s.Send(ctx, testEmail)
}

// checkDelivered checks the one message srv got is testEmail from testFrom.
func checkDelivered(t *testing.T, srv *smtptest.Server, wantTLS bool, wantUser string) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "no-reply@auth.example.com" || len(m.To) != 1 || m.To[0] != testEmail.To {
		t.Errorf("envelope: MAIL FROM %q, RCPT TO %q", m.From, m.To)
	}
	if m.TLS != wantTLS || m.User != wantUser {
		t.Errorf("connection: TLS %v (want %v), user %q (want %q)", m.TLS, wantTLS, m.User, wantUser)
	}
	p, err := m.Parse()
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, m.Data)
	}
	if a, err := netmail.ParseAddress(p.From); err != nil || a.Name != "Gatehouse" || a.Address != "no-reply@auth.example.com" {
		t.Errorf("From: %q (%v), want %q", p.From, err, testFrom)
	}
	if p.To != "<"+testEmail.To+">" && p.To != testEmail.To {
		t.Errorf("To: %q, want %q", p.To, testEmail.To)
	}
	if p.Subject != testEmail.Subject {
		t.Errorf("Subject: %q, want %q", p.Subject, testEmail.Subject)
	}
	if strings.TrimRight(p.Text, "\n") != strings.TrimRight(testEmail.Text, "\n") {
		t.Errorf("text part: %q, want %q", p.Text, testEmail.Text)
	}
	if strings.TrimRight(p.HTML, "\n") != testEmail.HTML {
		t.Errorf("HTML part: %q, want %q", p.HTML, testEmail.HTML)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	if id := p.Header.Get("Message-Id"); !strings.HasSuffix(id, "@auth.example.com>") || p.Header.Get("Date") == "" {
		t.Errorf("Message-ID %q not in the sender's domain, or no Date", id)
	}
	if p.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Error("message lacks Auto-Submitted")
	}
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mode     smtptest.Mode
		user     string
		url      func(s *smtptest.Server) string
		trust    bool
		wantTLS  bool
		wantUser string
	}{
		{
			name: "plain relay, tls=none",
			mode: smtptest.Plain,
			url:  func(s *smtptest.Server) string { return fmt.Sprintf("smtp://%s?tls=none", s.Addr) },
		},
		{
			name:     "plain relay on localhost with AUTH PLAIN",
			mode:     smtptest.Plain,
			user:     "relay",
			url:      func(s *smtptest.Server) string { return fmt.Sprintf("smtp://relay:s3cret@%s?tls=none", s.Addr) },
			wantUser: "relay",
		},
		{
			name:    "STARTTLS",
			mode:    smtptest.StartTLS,
			url:     func(s *smtptest.Server) string { return fmt.Sprintf("smtp://%s", s.Addr) },
			trust:   true,
			wantTLS: true,
		},
		{
			name:     "STARTTLS with AUTH PLAIN",
			mode:     smtptest.StartTLS,
			user:     "gatehouse",
			url:      func(s *smtptest.Server) string { return fmt.Sprintf("smtp://gatehouse:s3cret@%s", s.Addr) },
			trust:    true,
			wantTLS:  true,
			wantUser: "gatehouse",
		},
		{
			name:     "STARTTLS with AUTH LOGIN",
			mode:     smtptest.StartTLS,
			user:     "gatehouse",
			url:      func(s *smtptest.Server) string { return fmt.Sprintf("smtp://gatehouse:s3cret@%s?auth=login", s.Addr) },
			trust:    true,
			wantTLS:  true,
			wantUser: "gatehouse",
		},
		{
			name:     "smtps implicit TLS with AUTH PLAIN",
			mode:     smtptest.Implicit,
			user:     "gatehouse",
			url:      func(s *smtptest.Server) string { return fmt.Sprintf("smtps://gatehouse:s3cret@%s", s.Addr) },
			trust:    true,
			wantTLS:  true,
			wantUser: "gatehouse",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Config{Mode: tt.mode, User: tt.user, Pass: "s3cret"})
			var opts mail.Options
			if tt.trust {
				opts.TLSConfig = &tls.Config{RootCAs: srv.RootCAs}
			}
			if err := send(t, newSender(t, tt.url(srv), opts)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			checkDelivered(t, srv, tt.wantTLS, tt.wantUser)
			for _, a := range srv.AuthAttempts() {
				if !a.OK || (tt.wantTLS && !a.TLS) {
					t.Errorf("AUTH attempt %+v", a)
				}
			}
			if tt.user != "" && len(srv.AuthAttempts()) != 1 {
				t.Errorf("%d AUTH attempts, want 1", len(srv.AuthAttempts()))
			}
		})
	}
}

func TestSMTPRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode smtptest.Mode
		url  func(s *smtptest.Server) string
		// trust the server's certificate
		trust     bool
		permanent bool
		wantErr   string
	}{
		{
			// Without ?tls=none STARTTLS is required: no message, and the
			// password never crosses the plain connection.
			name:    "server without STARTTLS",
			mode:    smtptest.Plain,
			url:     func(s *smtptest.Server) string { return fmt.Sprintf("smtp://gatehouse:s3cret@%s", s.Addr) },
			wantErr: "STARTTLS",
		},
		{
			name:    "untrusted certificate",
			mode:    smtptest.StartTLS,
			url:     func(s *smtptest.Server) string { return fmt.Sprintf("smtp://gatehouse:s3cret@%s", s.Addr) },
			wantErr: "certificate",
		},
		{
			name:    "smtps untrusted certificate",
			mode:    smtptest.Implicit,
			url:     func(s *smtptest.Server) string { return fmt.Sprintf("smtps://gatehouse:s3cret@%s", s.Addr) },
			wantErr: "certificate",
		},
		{
			name:      "wrong password",
			mode:      smtptest.StartTLS,
			url:       func(s *smtptest.Server) string { return fmt.Sprintf("smtp://gatehouse:wrong@%s", s.Addr) },
			trust:     true,
			permanent: true,
			wantErr:   "535",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Config{Mode: tt.mode, User: "gatehouse", Pass: "s3cret"})
			var opts mail.Options
			if tt.trust {
				opts.TLSConfig = &tls.Config{RootCAs: srv.RootCAs}
			}
			err := send(t, newSender(t, tt.url(srv), opts))
			sendtest.CheckFailure(t, "Send", err, tt.permanent, []string{tt.wantErr}, "s3cret")
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server got %d messages", n)
			}
			for _, a := range srv.AuthAttempts() {
				if !a.TLS {
					t.Errorf("password sent without TLS: %+v", a)
				}
			}
		})
	}
}

func TestSMTPReplyCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     *smtp.SMTPError
		permanent bool
	}{
		{"550 no such user", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}, true},
		{"554 rejected", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected"}, true},
		{"451 try later", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}, false},
		{"452 mailbox full", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
			srv.RejectRecipients(tt.reply)
			s := newSender(t, fmt.Sprintf("smtp://%s?tls=none", srv.Addr), mail.Options{})
			err := send(t, s)
			// The error carries the server's reply.
			sendtest.CheckFailure(t, "Send", err, tt.permanent, []string{fmt.Sprint(tt.reply.Code), tt.reply.Message})
			// The relay recovers: the same sender delivers.
			srv.RejectRecipients(nil)
			if err := send(t, s); err != nil {
				t.Fatalf("Send after recovery: %v", err)
			}
			checkDelivered(t, srv, false, "")
		})
	}
}

func TestSMTPNetworkErrorIsTemporary(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	err = send(t, newSender(t, fmt.Sprintf("smtp://%s?tls=none", addr), mail.Options{}))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a closed port = %v, want a temporary error", err)
	}
}

func TestSMTPSendHonoursContext(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { _ = l.Close(); <-done })
	s := newSender(t, fmt.Sprintf("smtp://%s?tls=none", l.Addr()), mail.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, testEmail)
	if err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

// TestSMTPKeepsConnections: messages one after another share a connection,
// each its own mail transaction, over STARTTLS with AUTH too; a kept
// connection the server hung up is replaced without failing the message;
// Close ends the kept ones and later messages still go out.
func TestSMTPKeepsConnections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.StartTLS, User: "relay", Pass: "s3cret"})
	s := newSender(t, fmt.Sprintf("smtp://relay:s3cret@%s", srv.Addr), mail.Options{TLSConfig: &tls.Config{RootCAs: srv.RootCAs}})
	for range 3 {
		if err := send(t, s); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if n, m := srv.Connections(), len(srv.Messages()); n != 1 || m != 3 {
		t.Fatalf("server saw %d connections for %d messages; want 1 for 3", n, m)
	}
	if n := len(srv.AuthAttempts()); n != 1 {
		t.Errorf("server saw %d AUTHs, want 1 (one per connection)", n)
	}

	srv.HangUp()
	if err := send(t, s); err != nil {
		t.Fatalf("Send after the server hung up the kept connection: %v", err)
	}
	if n, m := srv.Connections(), len(srv.Messages()); n != 2 || m != 4 {
		t.Errorf("server saw %d connections for %d messages; want 2 for 4", n, m)
	}

	if err := s.(io.Closer).Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := send(t, s); err != nil {
		t.Fatalf("Send after Close: %v", err)
	}
	if n, m := srv.Connections(), len(srv.Messages()); n != 3 || m != 5 {
		t.Errorf("server saw %d connections for %d messages; want 3 for 5", n, m)
	}
	for _, m := range srv.Messages() {
		if len(m.To) != 1 || !m.TLS || m.User != "relay" {
			t.Errorf("message to %q: TLS %v, user %q; want one recipient over TLS as relay", m.To, m.TLS, m.User)
		}
	}
}

// TestSMTPKeepsAtMostMaxIdleConns: of connections open at once, the sender
// keeps Options.MaxIdleConns (GATEHOUSE_DELIVERY_CONCURRENCY) for later
// messages and closes the rest.
func TestSMTPKeepsAtMostMaxIdleConns(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	s := newSender(t, "smtp://"+srv.Addr+"?tls=none", mail.Options{MaxIdleConns: 2})
	// atOnce sends n messages whose RCPTs all wait for one another, so
	// that each needs a connection of its own.
	atOnce := func(n int) {
		t.Helper()
		var arrived sync.WaitGroup
		arrived.Add(n)
		srv.RejectSome(func(string) error {
			arrived.Done()
			arrived.Wait()
			return nil
		})
		defer srv.RejectSome(nil)
		errs := make(chan error, n)
		for range n {
			go func() { errs <- send(t, s) }()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
	}
	atOnce(4)
	if n := srv.Connections(); n != 4 {
		t.Fatalf("four messages at once took %d connections, want 4", n)
	}
	// Two were kept: two more at once dial nothing, a third at once dials
	// one.
	atOnce(2)
	if n := srv.Connections(); n != 4 {
		t.Errorf("two messages at once after four took %d connections in all, want 4 (two kept)", n)
	}
	atOnce(3)
	if n := srv.Connections(); n != 5 {
		t.Errorf("three messages at once with two kept took %d connections in all, want 5", n)
	}
}
