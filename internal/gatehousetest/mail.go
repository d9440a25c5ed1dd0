package gatehousetest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
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
	return waitNth(t, s, n, func() []smtptest.Message { return MailsTo(s, address) }, fmt.Sprintf("to %s", address))
}

// waitNth waits up to Wait until mine returns at least n messages and
// returns the n-th. It counts the server's messages before it looks, so a
// message that lands between the look and the wait wakes it instead of
// leaving it to wait for one more that never comes.
func waitNth(t testing.TB, s *smtptest.Server, n int, mine func() []smtptest.Message, what string) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		seen := len(s.Messages())
		got := mine()
		if len(got) >= n {
			return got[n-1]
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no message %d %s after %v (%d such, %d in all)", n, what, Wait, len(got), len(s.Messages()))
		}
		s.Wait(t, seen+1, left)
	}
}

// ConfirmSubject begins the subject of the message that asks an address's
// owner to confirm it (the verify_email message), which a public sign-up
// with a password sends beside whatever else a test waits for.
const ConfirmSubject = "Confirm your email for "

// MailsAbout returns the messages s received for address whose subject
// contains about, in order.
func MailsAbout(t testing.TB, s *smtptest.Server, address, about string) []smtptest.Message {
	t.Helper()
	var out []smtptest.Message
	for _, m := range MailsTo(s, address) {
		p, err := m.Parse()
		if err != nil {
			t.Fatalf("message to %s: %v", address, err)
		}
		if strings.Contains(p.Subject, about) {
			out = append(out, m)
		}
	}
	return out
}

// WaitMailAbout waits up to Wait for the n-th message (from 1) to address
// on s whose subject contains about, and returns it: the sign-in code, say,
// whatever else the address was sent meanwhile.
func WaitMailAbout(t testing.TB, s *smtptest.Server, address, about string, n int) smtptest.Message {
	t.Helper()
	return waitNth(t, s, n, func() []smtptest.Message { return MailsAbout(t, s, address, about) }, fmt.Sprintf("about %q to %s", about, address))
}

// confirmCodeRE finds the code of a confirm message: alone on its line,
// indented, so no run of digits inside the link passes for it.
var confirmCodeRE = regexp.MustCompile(`(?m)^\s+([0-9]{6,10})\s*$`)

// ConfirmCode waits for the latest message asking to confirm email on the
// server's SMTP server and returns its code (remembered as a secret).
func (s *Server) ConfirmCode(t testing.TB, email string) string {
	t.Helper()
	if s.SMTP == nil {
		t.Fatal("ConfirmCode: this server does not deliver to the test's SMTP server")
	}
	WaitMailAbout(t, s.SMTP, email, ConfirmSubject, 1)
	mine := MailsAbout(t, s.SMTP, email, ConfirmSubject)
	p, err := mine[len(mine)-1].Parse()
	if err != nil {
		t.Fatal(err)
	}
	m := confirmCodeRE.FindStringSubmatch(p.Text)
	if m == nil {
		t.Fatalf("no code in the confirm message to %s:\n%s", email, p.Text)
	}
	s.Logs.Secret(m[1])
	return m[1]
}

// ProveEmail proves the email of an account signed up with a password as
// its holder does: the code of the confirm message the sign-up sent, with
// the password, at POST /v1/user/email/verify. The account is then an
// established one: a later sign-in by code or link keeps its password and
// factors, where the first proof of a never-proven address would claim it.
// It returns the user as the answer shows it.
func (s *Server) ProveEmail(t testing.TB, email, password string) User {
	t.Helper()
	s.Logs.Secret(password)
	var out struct {
		User User `json:"user"`
	}
	body := map[string]string{"email": email, "code": s.ConfirmCode(t, email), "password": password}
	s.Do(t, "POST", "/v1/user/email/verify", body).Want(http.StatusOK).Strict(&out)
	if !out.User.EmailVerified || out.User.Email != email {
		t.Fatalf("prove %s: user %+v", email, out.User)
	}
	return out.User
}
