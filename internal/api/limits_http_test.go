package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

// The limits of issue 12 over HTTP, each written as the attack it stops,
// through the server gatehouse.New wires (auth/limits_test.go proves the
// flows; these prove the answers, the mail, the audit and the metrics a
// deployment sees). Every request names its client address
// (gatehousetest.From), so attacker and owner are on different networks.

const (
	attackerIP = "203.0.113.7"
	ownerIP    = "198.51.100.20"
)

var from = gatehousetest.From

// limitServer starts a server whose requests name their client, with
// mail and the limits edit changes.
func limitServer(t *testing.T, db database, edit func(*gatehouse.Config), opts ...option) *mfaEnv {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
	opts = append([]option{gatehousetest.WithSMTP(srv), gatehousetest.FromClients(), withConfig(func(c *gatehouse.Config) {
		c.AppName = mfaApp
		if edit != nil {
			edit(c)
		}
	})}, opts...)
	return &mfaEnv{env: newEnv(t, db, opts...), smtp: srv}
}

// wantRetry fails t unless r is a 429 problem of code with a Retry-After
// of at least min and at most max seconds.
func wantRetry(t testing.TB, r *response, code string, lo, hi time.Duration) problem {
	t.Helper()
	p := r.WantProblem(http.StatusTooManyRequests, code)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || time.Duration(secs)*time.Second < lo || time.Duration(secs)*time.Second > hi {
		t.Errorf("%s: Retry-After %q; want %s to %s", r.Req, r.Header.Get("Retry-After"), lo, hi)
	}
	return p
}

// tripped returns gatehouse_limits_tripped_total{limit} from /metrics.
func tripped(t testing.TB, e *mfaEnv, limit string) int {
	t.Helper()
	body := string(e.do(t, "GET", "/metrics", nil).Want(http.StatusOK).Body)
	m := regexp.MustCompile(`(?m)^gatehouse_limits_tripped_total\{limit="` + limit + `"\} ([0-9]+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// auditKinds returns the kinds of the account's audit events as
// GET /v1/admin/audit lists them.
func auditKinds(t testing.TB, e *mfaEnv, userID string) []string {
	t.Helper()
	var out struct {
		Events []struct {
			Kind string `json:"kind"`
			IP   string `json:"ip"`
		} `json:"events"`
	}
	e.do(t, "GET", "/v1/admin/audit?user_id="+userID, nil, adminKey()).Want(http.StatusOK).Decode(&out)
	var kinds []string
	for _, ev := range out.Events {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

// count returns how many times s occurs in list.
func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// wrongTOTP returns a code the authenticator does not show now.
func (e *mfaEnv) wrongTOTP(t testing.TB, secret string) string {
	return e.code(fmt.Sprintf("%06d", (mustAtoi(t, e.totp(t, secret))+500000)%1000000))
}

// TestMFAAccountLockHTTP: someone who knows the password signs in again
// and again, each sign-in a fresh MFA token with its own 5 tries, and
// guesses the authenticator code a few times on each. Past
// GATEHOUSE_MFA_FAILURE_LIMIT wrong codes of the account the second step
// answers 429 too_many_attempts with Retry-After whatever the code (the
// right one too, on a new token, from the API and from the pages), the
// owner gets one email, the lock is audited and counted.
func TestMFAAccountLockHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := limitServer(t, db, nil)
		const addr = "mfa-victim@example.com"
		tok := e.account(t, addr)
		en, _ := e.enrolTOTP(t, addr, bearer(tok.AccessToken))
		limit := e.Config.MFAFailureLimit
		if limit < 2 {
			t.Fatalf("MFAFailureLimit %d", limit)
		}

		// 3 guesses per token: never the token's own limit of 5.
		var m mfaRequiredJSON
		for i := 0; i < limit; i++ {
			if i%3 == 0 {
				m = e.passwordMFA(t, addr, "backup_code", "totp")
			}
			e.grantMFA(t, m.MFAToken, "totp", e.wrongTOTP(t, en.Secret)).WantProblem(http.StatusUnauthorized, "invalid_code")
		}

		// A fresh token and the right code: still refused, for the account.
		m = e.passwordMFA(t, addr, "backup_code", "totp")
		p := wantRetry(t, e.grantMFA(t, m.MFAToken, "totp", e.totp(t, en.Secret)), "too_many_attempts", time.Minute, 15*time.Minute)
		if !strings.Contains(p.Detail, "second-factor") {
			t.Errorf("lock detail %q; want it to say the second factor is locked", p.Detail)
		}
		// From the owner's own network too: the lock is the account's.
		r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "mfa", "mfa_token": m.MFAToken, "factor": "totp", "code": e.totp(t, en.Secret)}, from(ownerIP))
		wantRetry(t, r, "too_many_attempts", time.Minute, 15*time.Minute)

		// The pages' second step says so.
		page := e.form(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}})
		pageTok := e.mfaPage(t, page, "totp", "backup_code")
		r = e.form(t, "/login/mfa", url.Values{"mfa_token": {pageTok}, "factor": {"totp"}, "code": {e.totp(t, en.Secret)}})
		if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "second-factor codes for this account") {
			t.Errorf("page second step while locked: %d\n%s", r.Status, r.Body)
		}
		if r.SetCookie(e.Config.SessionCookieName) != nil {
			t.Error("the locked page step set a session cookie")
		}

		// One email to the owner, however many refusals.
		parsed, err := gatehousetest.WaitMailAbout(t, e.smtp, addr, lockSubject, 1).Parse()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(parsed.Text, "password") {
			t.Errorf("lock mail %q:\n%s", parsed.Subject, parsed.Text)
		}
		time.Sleep(500 * time.Millisecond) // a second mail would be on its way by now
		wantOneLockMail(t, e, addr)
		if n := count(auditKinds(t, e, tok.User.ID), "mfa_locked"); n != 1 {
			t.Errorf("%d mfa_locked audit events; want 1", n)
		}
		if n := tripped(t, e, "mfa_account"); n != 1 {
			t.Errorf("mfa_account tripped %d times; want 1", n)
		}
	})
}

// lockSubject is in the subject of the mail that tells an account's owner
// its second step is locked.
const lockSubject = "failing the second step"

// wantOneLockMail fails t unless the owner of addr got one lock mail and
// nothing else but the sign-up's confirm mail.
func wantOneLockMail(t testing.TB, e *mfaEnv, addr string) {
	t.Helper()
	gatehousetest.WaitMailAbout(t, e.smtp, addr, gatehousetest.ConfirmSubject, 1)
	if n := len(gatehousetest.MailsAbout(t, e.smtp, addr, lockSubject)); n != 1 {
		t.Errorf("%d lock mails to the owner; want 1", n)
	}
	if n := len(gatehousetest.MailsTo(e.smtp, addr)); n != 2 {
		t.Errorf("%d mails to the owner; want 2: the sign-up's confirm mail and the lock mail", n)
	}
}

// TestClientCodeLimitHTTP: one network guesses sign-in codes spread over
// many addresses, 5 each (each code's own limit). Past
// GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT it is refused with 429 rate_limited
// and Retry-After whatever the code and the address, the right code of a
// live challenge too; the owner's network still signs in.
func TestClientCodeLimitHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const limit = 10
		e := limitServer(t, db, func(c *gatehouse.Config) { c.ClientCodeFailureLimit = limit })
		for i := range limit / 5 {
			addr := fmt.Sprintf("spread-%d@example.com", i)
			e.account(t, addr)
			e.do(t, "POST", "/v1/otp", map[string]string{"email": addr}, from(ownerIP)).Accepted()
			for range 5 {
				r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": addr, "code": e.code("000000")}, from(attackerIP))
				if r.Status != http.StatusUnauthorized && r.Status != http.StatusTooManyRequests {
					t.Fatalf("wrong code for %s: %d %s", addr, r.Status, r.Body)
				}
			}
		}
		// The victim's account is an established one (its email proven), so
		// the owner's sign-in by code at the end keeps its password.
		const victim = "spread-victim@example.com"
		e.account(t, victim)
		e.ProveEmail(t, victim, testPassword)
		e.do(t, "POST", "/v1/otp", map[string]string{"email": victim}, from(ownerIP)).Accepted()
		code := mailCodeRE.FindString(mailText(t, gatehousetest.WaitMailAbout(t, e.smtp, victim, signInSubject, 1)))
		e.code(code)
		r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": victim, "code": code}, from(attackerIP))
		wantRetry(t, r, "rate_limited", time.Minute, 15*time.Minute)
		r = e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "magic_link", "token": "an-unknown-link-token"}, from(attackerIP))
		wantRetry(t, r, "rate_limited", time.Minute, 15*time.Minute)
		if n := tripped(t, e, "code_client"); n != 1 {
			t.Errorf("code_client tripped %d times; want 1", n)
		}
		tok := e.Tokens(e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": victim, "code": code}, from(ownerIP)).Want(http.StatusOK))
		if !tok.User.HasPassword || !tok.User.EmailVerified {
			t.Errorf("the owner's sign-in by code: user %+v; want the password kept", tok.User)
		}
	})
}

// signInSubject is in the subject of a sign-in code's mail.
const signInSubject = "sign-in code"

// mailText returns a message's text part.
func mailText(t testing.TB, m smtptest.Message) string {
	t.Helper()
	p, err := m.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return p.Text
}

// askSends posts /v1/otp and /v1/recover for a known and an unknown
// address from ip and checks both answer the over-limit 429 alike: body,
// status and every header but Date and X-Request-Id.
func wantSendsRefused(t *testing.T, e *mfaEnv, known, unknown, ip string) {
	t.Helper()
	for _, path := range []string{"/v1/otp", "/v1/recover"} {
		a := e.do(t, "POST", path, map[string]string{"email": known}, from(ip))
		b := e.do(t, "POST", path, map[string]string{"email": unknown}, from(ip))
		wantRetry(t, a, "rate_limited", time.Second, time.Hour)
		wantRetry(t, b, "rate_limited", time.Second, time.Hour)
		gatehousetest.SameAnswer(t, path+" over the limit, known vs unknown address", a, b)
	}
}

// TestClientSendLimitHTTP: one network asks for codes and links to many
// addresses (mail bombing across addresses). Past
// GATEHOUSE_CLIENT_SEND_LIMIT both POST /v1/otp and POST /v1/recover
// answer 429 rate_limited with Retry-After, the same for an address with
// an account and one without; nothing more is sent; another network still
// gets its code.
func TestClientSendLimitHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const limit = 4
		e := limitServer(t, db, func(c *gatehouse.Config) { c.ClientSendLimit = limit })
		const known, unknown = "bombed@example.com", "nobody@example.com"
		e.account(t, known)
		for i := range limit {
			path := "/v1/otp"
			if i%2 == 1 {
				path = "/v1/recover"
			}
			e.do(t, "POST", path, map[string]string{"email": fmt.Sprintf("bomb-%d@example.com", i)}, from(attackerIP)).Accepted()
		}
		wantSendsRefused(t, e, known, unknown, attackerIP)
		if n := tripped(t, e, "send_client"); n != 1 {
			t.Errorf("send_client tripped %d times; want 1", n)
		}
		e.do(t, "POST", "/v1/otp", map[string]string{"email": known}, from(ownerIP)).Accepted()
		gatehousetest.WaitMailAbout(t, e.smtp, known, signInSubject, 1)
		gatehousetest.WaitMailAbout(t, e.smtp, known, gatehousetest.ConfirmSubject, 1) // the sign-up's, from 127.0.0.1
		time.Sleep(300 * time.Millisecond)
		if n := len(gatehousetest.MailsTo(e.smtp, known)); n != 2 {
			t.Errorf("%d messages to %s; want only the sign-up's confirm mail and the owner's code", n, known)
		}
		// An hour frees the budget.
		e.Clock.Advance(time.Hour + time.Second)
		e.do(t, "POST", "/v1/otp", map[string]string{"email": "bomb-0@example.com"}, from(attackerIP)).Accepted()
	})
}

// TestGlobalSendLimitHTTP: many networks ask for codes until
// GATEHOUSE_GLOBAL_SEND_LIMIT messages went out in the hour; then every
// send is refused alike, from any network, for any address.
func TestGlobalSendLimitHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const limit = 3
		e := limitServer(t, db, func(c *gatehouse.Config) { c.GlobalSendLimit = limit })
		// Passwordless accounts: a sign-up with a password mails a confirm
		// message, which would spend the ceiling before the requests below.
		const known, unknown = "global-known@example.com", "global-nobody@example.com"
		e.SignUp(t, known, "")
		for i := range limit {
			addr := fmt.Sprintf("global-%d@example.com", i)
			e.SignUp(t, addr, "")
			e.do(t, "POST", "/v1/otp", map[string]string{"email": addr}, from(fmt.Sprintf("192.0.2.%d", i+1))).Accepted()
		}
		for i := range limit {
			gatehousetest.WaitMail(t, e.smtp, fmt.Sprintf("global-%d@example.com", i), 1)
		}
		wantSendsRefused(t, e, known, unknown, "192.0.2.100")
		wantSendsRefused(t, e, known, unknown, ownerIP)
		if n := tripped(t, e, "send_global"); n != 1 {
			t.Errorf("send_global tripped %d times; want 1", n)
		}
		// A sign-up with a password past the ceiling makes the account, and
		// its confirm message is refused like every other send.
		const late = "global-late@example.com"
		e.SignUp(t, late, testPassword)
		time.Sleep(300 * time.Millisecond) // a message would be on its way by now
		for _, addr := range []string{known, late} {
			if n := len(gatehousetest.MailsTo(e.smtp, addr)); n != 0 {
				t.Errorf("%d messages to %s past the ceiling", n, addr)
			}
		}
	})
}

// TestPasswordThrottleByAccountHTTP: an account with a proven phone is
// guessed at by email and by phone, each guess from another network so
// no per-client limit stands in the way. The 5 wrong passwords are one
// budget for the account: the right one is then refused by email and by
// phone alike, the lock audited once; an unknown email guessed at the
// same way answers exactly as the known one does.
func TestPasswordThrottleByAccountHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := limitServer(t, db, nil, gatehousetest.WithTwilio())
		const addr, number = "both@example.com", "+14155552671"
		tok := e.account(t, addr)
		e.do(t, "POST", "/v1/user/phone", map[string]string{"phone": number}, bearer(tok.AccessToken)).Want(http.StatusAccepted)
		code := regexp.MustCompile(`[0-9]{6}`).FindString(e.Twilio.Wait(t, 1, gatehousetest.Wait)[0].Body)
		e.do(t, "POST", "/v1/user/phone/verify", map[string]string{"code": e.code(code)}, bearer(tok.AccessToken)).Want(http.StatusOK)

		guess := func(id, value, password, ip string) *response {
			return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", id: value, "password": password}, from(ip))
		}
		for i := range 5 {
			id, value := "email", addr
			if i%2 == 1 {
				id, value = "phone", number
			}
			guess(id, value, "wrong-password-guess", fmt.Sprintf("192.0.2.%d", i+1)).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		}
		byEmail := guess("email", addr, testPassword, "192.0.2.50")
		wantRetry(t, byEmail, "rate_limited", time.Second, time.Minute)
		wantRetry(t, guess("phone", number, testPassword, "192.0.2.51"), "rate_limited", time.Second, time.Minute)
		if n := count(auditKinds(t, e, tok.User.ID), "signin_locked"); n != 1 {
			t.Errorf("%d signin_locked audit events; want 1", n)
		}
		if n := tripped(t, e, "password_account"); n != 1 {
			t.Errorf("password_account tripped %d times; want 1", n)
		}

		const unknown = "nobody-both@example.com"
		for i := range 5 {
			guess("email", unknown, "wrong-password-guess", fmt.Sprintf("192.0.2.%d", i+101)).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		}
		gatehousetest.SameAnswer(t, "a throttled known and unknown email", byEmail, guess("email", unknown, testPassword, "192.0.2.150"))
	})
}

// TestLimitsDescribed: the routes' descriptions in /openapi.json quote the
// limits this server runs with, not the defaults.
func TestLimitsDescribed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, withConfig(func(c *gatehouse.Config) {
		c.MFAFailureLimit, c.ClientCodeFailureLimit, c.ClientSendLimit, c.GlobalSendLimit = 4, 9, 7, 123
	}))
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	e.do(t, "GET", "/openapi.json", nil).Want(http.StatusOK).Decode(&doc)
	sends := []string{"429 rate_limited", "7 messages", "GATEHOUSE_CLIENT_SEND_LIMIT", "123 messages", "GATEHOUSE_GLOBAL_SEND_LIMIT", "the same for every address"}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/v1/otp", sends},
		{"/v1/recover", sends},
		{"/v1/token", []string{"429 too_many_attempts", "4 wrong second-factor codes", "GATEHOUSE_MFA_FAILURE_LIMIT", "429 rate_limited", "9 wrong codes", "GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT"}},
	} {
		d := doc.Paths[tc.path]["post"].Description
		for _, w := range tc.want {
			if !strings.Contains(d, w) {
				t.Errorf("POST %s description lacks %q:\n%s", tc.path, w, d)
			}
		}
	}
}

// TestMFAAccountLockConcurrentHTTP: the guesser sends its guesses at once,
// over many MFA tokens, hoping the count lags behind. No more than
// GATEHOUSE_MFA_FAILURE_LIMIT of them are compared (401 invalid_code);
// the rest answer 429, and the owner gets one email.
func TestMFAAccountLockConcurrentHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := limitServer(t, db, func(c *gatehouse.Config) { c.MFAFailureLimit = 6 })
		const addr = "mfa-rush@example.com"
		tok := e.account(t, addr)
		en, _ := e.enrolTOTP(t, addr, bearer(tok.AccessToken))
		wrong := e.wrongTOTP(t, en.Secret)
		var tokens []string
		for range 5 {
			tokens = append(tokens, e.passwordMFA(t, addr, "backup_code", "totp").MFAToken)
		}
		const perToken = 4
		statuses := make(chan int, len(tokens)*perToken)
		var wg sync.WaitGroup
		for _, mt := range tokens {
			for range perToken {
				wg.Go(func() {
					r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "mfa", "mfa_token": mt, "factor": "totp", "code": wrong})
					statuses <- r.Status
				})
			}
		}
		wg.Wait()
		close(statuses)
		compared := 0
		for s := range statuses {
			switch s {
			case http.StatusUnauthorized:
				compared++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("a concurrent guess answered %d", s)
			}
		}
		if compared > e.Config.MFAFailureLimit {
			t.Errorf("%d guesses compared; want at most %d", compared, e.Config.MFAFailureLimit)
		}
		gatehousetest.WaitMailAbout(t, e.smtp, addr, lockSubject, 1)
		time.Sleep(500 * time.Millisecond)
		wantOneLockMail(t, e, addr)
		if n := count(auditKinds(t, e, tok.User.ID), "mfa_locked"); n != 1 {
			t.Errorf("%d mfa_locked audit events; want 1", n)
		}
	})
}
