package api_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

// Proving an address, and claiming an account (docs/contract.md), over
// HTTP through the real SMTP server and the fake Twilio, each written as
// the attack it stops: whoever sets an account up on an address they do
// not hold (pre-hijacking) loses it to the first proof of that address.

const (
	attackerPassword = "attacker's own passphrase 1"
	victimPhone      = "+14155552671"
)

// claimServer starts a server that mails to an in-process SMTP server
// (and texts through the fake Twilio with gatehousetest.WithTwilio), with
// the configuration edit changes.
func claimServer(t *testing.T, db database, edit func(*gatehouse.Config), opts ...option) *mfaEnv {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
	opts = append([]option{gatehousetest.WithSMTP(srv), withConfig(func(c *gatehouse.Config) {
		c.AppName = mfaApp
		if edit != nil {
			edit(c)
		}
	})}, opts...)
	e := &mfaEnv{env: newEnv(t, db, opts...), smtp: srv}
	e.secret(attackerPassword)
	return e
}

// emailCode asks POST /v1/otp for a sign-in code to email and returns the
// code from the n-th sign-in code mail to it.
func (e *mfaEnv) emailCode(t testing.TB, email string, n int) string {
	t.Helper()
	e.do(t, "POST", "/v1/otp", map[string]string{"email": email}).Accepted()
	code := mailCodeRE.FindString(mailText(t, gatehousetest.WaitMailAbout(t, e.smtp, email, signInSubject, n)))
	if code == "" {
		t.Fatalf("no code in the sign-in mail to %s", email)
	}
	return e.code(code)
}

var smsCodeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// smsCode waits for the n-th text (from 1) the fake Twilio took, checks it
// went to phone and returns its code.
func (e *mfaEnv) smsCode(t testing.TB, phone string, n int) string {
	t.Helper()
	m := e.Twilio.Wait(t, n, gatehousetest.Wait)[n-1]
	if m.To != phone {
		t.Fatalf("text %d went to %s, want %s", n, m.To, phone)
	}
	code := smsCodeRE.FindString(m.Body)
	if code == "" {
		t.Fatalf("no code in text %q", m.Body)
	}
	return e.code(code)
}

// grantOTP signs in with a code sent to the address id ("email" or
// "phone") names.
func (e *mfaEnv) grantOTP(t testing.TB, id, address, code string) *response {
	t.Helper()
	return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", id: address, "code": code})
}

// wantLockedOut fails t unless the attacker's password signs in nowhere
// (by each of ids: "email" or "phone", to its address) and the attacker's
// access and refresh tokens are dead.
func (e *mfaEnv) wantLockedOut(t testing.TB, atk tokensJSON, ids map[string]string) {
	t.Helper()
	for id, address := range ids {
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", id: address, "password": attackerPassword}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
	}
	e.check(t, bearer(atk.AccessToken)).Want(http.StatusUnauthorized)
	e.refresh(t, atk.RefreshToken).Want(http.StatusUnauthorized)
}

// TestClaimEmailPreHijackHTTP: an attacker signs up with the victim's
// email and a password of their own, signs in, and sets up an
// authenticator. When the victim signs in by a code sent to that email,
// the victim gets the account, and everything the attacker set up goes:
// the password, the authenticator, the sessions and refresh tokens.
func TestClaimEmailPreHijackHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		const victim = "pre-hijacked@example.com"
		e.signUp(t, victim, attackerPassword)
		atk := e.signIn(t, victim, attackerPassword)
		en, _ := e.enrolTOTP(t, victim, bearer(atk.AccessToken))
		atkCookie := e.browserSession(t, victim)

		tok := e.Tokens(e.grantOTP(t, "email", victim, e.emailCode(t, victim, 1)))
		if u := tok.User; u.ID != atk.User.ID || !u.EmailVerified || u.HasPassword {
			t.Errorf("the victim's sign-in: user %+v; want account %s, email proven, no password", u, atk.User.ID)
		}
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.checkFactors(t, bearer(tok.AccessToken), 0)

		e.wantLockedOut(t, atk, map[string]string{"email": victim})
		e.check(t, e.cookie(atkCookie)).Want(http.StatusUnauthorized)
		// The authenticator is gone with the rest: nothing for its code.
		e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, en.Secret)}, bearer(tok.AccessToken)).
			WantFieldError("invalid_request", "code")
		if kinds := auditKinds(t, e, tok.User.ID); count(kinds, "account_claimed") != 1 {
			t.Errorf("audit %q; want one account_claimed", kinds)
		}
	})
}

// TestClaimPhonePreHijackHTTP: an attacker signs up with their own email,
// a password and the victim's phone, and signs in by password. When the
// victim signs in by a code texted to that phone, the victim gets the
// account and the attacker's password, email and sessions go. An
// attacker who proved their own email first keeps that account instead,
// without the phone, and the victim gets an account of their own.
func TestClaimPhonePreHijackHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil, gatehousetest.WithTwilio())
		const own = "phone-attacker@example.com"
		var out struct {
			User userJSON `json:"user"`
		}
		e.do(t, "POST", "/v1/signup", map[string]string{"email": own, "phone": victimPhone, "password": attackerPassword}).
			Want(http.StatusCreated).Strict(&out)
		e.smsCode(t, victimPhone, 1) // the sign-up's own code, which the attacker never sees
		atk := e.signIn(t, own, attackerPassword)

		e.Clock.Advance(time.Minute + time.Second) // one text a minute per number
		e.do(t, "POST", "/v1/otp", map[string]string{"phone": victimPhone}).Accepted()
		tok := e.Tokens(e.grantOTP(t, "phone", victimPhone, e.smsCode(t, victimPhone, 2)))
		if u := tok.User; u.ID != out.User.ID || u.Phone != victimPhone || !u.PhoneVerified || u.HasPassword || u.Email != "" {
			t.Errorf("the victim's sign-in: user %+v; want account %s with only the phone, proven", u, out.User.ID)
		}
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.wantLockedOut(t, atk, map[string]string{"email": own, "phone": victimPhone})
		if kinds := auditKinds(t, e, tok.User.ID); count(kinds, "account_claimed") != 1 {
			t.Errorf("audit %q; want one account_claimed", kinds)
		}

		// The attacker proves their own email this time: the phone is
		// released from that account, which they keep.
		const own2, phone2 = "phone-attacker-2@example.com", "+14155552672"
		e.do(t, "POST", "/v1/signup", map[string]string{"email": own2, "phone": phone2, "password": attackerPassword}).
			Want(http.StatusCreated).Strict(&out)
		e.ProveEmail(t, own2, attackerPassword)
		e.smsCode(t, phone2, 3)
		e.Clock.Advance(time.Minute + time.Second)
		e.do(t, "POST", "/v1/otp", map[string]string{"phone": phone2}).Accepted()
		tok = e.Tokens(e.grantOTP(t, "phone", phone2, e.smsCode(t, phone2, 4)))
		if u := tok.User; u.ID == out.User.ID || u.Phone != phone2 || !u.PhoneVerified || u.HasPassword || u.Email != "" {
			t.Errorf("the victim's sign-in: user %+v; want a new account with the phone", u)
		}
		kept := e.signIn(t, own2, attackerPassword)
		if u := kept.User; u.ID != out.User.ID || u.Phone != "" {
			t.Errorf("the attacker's account: %+v; want %s without the phone", u, out.User.ID)
		}
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "phone": phone2, "password": attackerPassword}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		if kinds := auditKinds(t, e, out.User.ID); count(kinds, "address_released") != 1 || count(kinds, "account_claimed") != 0 {
			t.Errorf("audit of the attacker's account %q; want one address_released, no account_claimed", kinds)
		}
	})
}

// TestPhoneSignUpCodeKeepsHTTP: the code a phone sign-up texts is no
// claim: only the phone's holder reads it, right after setting the
// account up, so the password set at sign-up stays.
func TestPhoneSignUpCodeKeepsHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil, gatehousetest.WithTwilio())
		e.secret(testPassword)
		var out struct {
			User userJSON `json:"user"`
		}
		e.do(t, "POST", "/v1/signup", map[string]string{"phone": victimPhone, "password": testPassword}).Want(http.StatusCreated).Strict(&out)
		tok := e.Tokens(e.grantOTP(t, "phone", victimPhone, e.smsCode(t, victimPhone, 1)))
		if u := tok.User; u.ID != out.User.ID || !u.PhoneVerified || !u.HasPassword {
			t.Errorf("sign-in by the sign-up's code: user %+v; want %s, phone proven, password kept", u, out.User.ID)
		}
		pw := e.Tokens(e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "phone": victimPhone, "password": testPassword}))
		if pw.User.ID != out.User.ID {
			t.Errorf("password sign-in by phone: %+v", pw.User)
		}
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		if kinds := auditKinds(t, e, out.User.ID); count(kinds, "account_claimed") != 0 {
			t.Errorf("audit %q; want no account_claimed", kinds)
		}
	})
}

// verifyEmail posts to /v1/user/email/verify and answers the user of a 200.
func (e *mfaEnv) verifyEmail(t testing.TB, body map[string]string, opts ...reqOpt) userJSON {
	t.Helper()
	var out struct {
		User userJSON `json:"user"`
	}
	e.do(t, "POST", "/v1/user/email/verify", body, opts...).Want(http.StatusOK).Strict(&out)
	return out.User
}

// TestEmailVerifyHTTP: POST /v1/user/email/verify proves the sign-up's
// email for its holder, who shows they hold the account by a session or
// by the password, and keeps everything the account has.
func TestEmailVerifyHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		e.secret(testPassword)

		// With a session: the code alone; the session lives on.
		const a = "verify-session@example.com"
		tok := e.account(t, a)
		u := e.verifyEmail(t, map[string]string{"code": e.ConfirmCode(t, a)}, bearer(tok.AccessToken))
		if u.ID != tok.User.ID || u.Email != a || !u.EmailVerified || !u.HasPassword {
			t.Errorf("proven with a session: %+v", u)
		}
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.refresh(t, tok.RefreshToken).Want(http.StatusOK)

		// Without one: email, code and password.
		const b = "verify-password@example.com"
		e.signUp(t, b, testPassword)
		if u := e.verifyEmail(t, map[string]string{"email": b, "code": e.ConfirmCode(t, b), "password": testPassword}); u.Email != b || !u.EmailVerified || !u.HasPassword {
			t.Errorf("proven with the password: %+v", u)
		}

		// A wrong password is refused before the code is used: the same
		// code works with the right one.
		const c = "verify-wrong@example.com"
		e.signUp(t, c, testPassword)
		code := e.ConfirmCode(t, c)
		e.secret("not the password at all")
		e.do(t, "POST", "/v1/user/email/verify", map[string]string{"email": c, "code": code, "password": "not the password at all"}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		if u := e.verifyEmail(t, map[string]string{"email": c, "code": code, "password": testPassword}); !u.EmailVerified {
			t.Errorf("proven after a wrong password: %+v", u)
		}

		// Without a session, the password is required.
		const d = "verify-nopassword@example.com"
		e.signUp(t, d, testPassword)
		code = e.ConfirmCode(t, d)
		e.do(t, "POST", "/v1/user/email/verify", map[string]string{"email": d, "code": code}).WantFieldError("invalid_request", "password")

		// A Bearer that is no session is refused, not taken for none: the
		// body's password would have done.
		full := map[string]string{"email": d, "code": code, "password": testPassword}
		e.do(t, "POST", "/v1/user/email/verify", full, bearer("not-a-token")).Want(http.StatusUnauthorized)
		e.do(t, "POST", "/v1/user/email/verify", full, bearer(tok.AccessToken+"x")).Want(http.StatusUnauthorized)
		if u := e.verifyEmail(t, full); !u.EmailVerified {
			t.Errorf("proven after the refused Bearers: %+v", u)
		}

		// The proof is audited for its account.
		if kinds := auditKinds(t, e, tok.User.ID); count(kinds, "email_verified") != 1 {
			t.Errorf("audit %q; want one email_verified", kinds)
		}
	})
}

// TestEmailChangeHTTP: POST /v1/user/email sends a code to a new address,
// which becomes the account's email once proven; an address of another
// account and the account's own proven one are refused, as is a request
// without a session.
func TestEmailChangeHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		e.secret(testPassword)
		const old, changed, other = "change-old@example.com", "change-new@example.com", "change-other@example.com"
		tok := e.account(t, old)
		e.ProveEmail(t, old, testPassword)
		e.signUp(t, other, testPassword)
		who := bearer(tok.AccessToken)

		e.do(t, "POST", "/v1/user/email", map[string]string{"email": changed}, who).Accepted()
		if u := e.profile(t, who); u.Email != old || !u.EmailVerified {
			t.Errorf("before the proof: %+v; want the old email, proven", u)
		}
		u := e.verifyEmail(t, map[string]string{"code": e.ConfirmCode(t, changed)}, who)
		if u.ID != tok.User.ID || u.Email != changed || !u.EmailVerified || !u.HasPassword {
			t.Errorf("after the proof: %+v", u)
		}
		if p := e.profile(t, who); p.Email != changed || !p.EmailVerified {
			t.Errorf("profile after the change: %+v", p)
		}
		e.signIn(t, changed, testPassword)
		e.PasswordGrant(t, old, testPassword).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		if kinds := auditKinds(t, e, tok.User.ID); count(kinds, "email_changed") != 1 {
			t.Errorf("audit %q; want one email_changed", kinds)
		}

		e.do(t, "POST", "/v1/user/email", map[string]string{"email": other}, who).WantProblem(http.StatusConflict, "email_taken")
		e.do(t, "POST", "/v1/user/email", map[string]string{"email": changed}, who).WantFieldError("invalid_request", "email")
		e.do(t, "POST", "/v1/user/email", map[string]string{"email": "change-anon@example.com"}).WantProblem(http.StatusUnauthorized, "unauthorized")
		// Nothing went to the refused addresses.
		time.Sleep(300 * time.Millisecond)
		if n := len(gatehousetest.MailsAbout(t, e.smtp, other, gatehousetest.ConfirmSubject)); n != 1 {
			t.Errorf("%d confirm mails to %s; want its sign-up's only", n, other)
		}
		if n := len(gatehousetest.MailsTo(e.smtp, "change-anon@example.com")); n != 0 {
			t.Errorf("%d mails to an address asked for without a session", n)
		}
	})
}

// TestRequireVerifiedEmailHTTP: with GATEHOUSE_REQUIRE_VERIFIED_EMAIL a
// password sign-in waits for the email's proof: 403 email_unverified,
// with a fresh confirm mail; a wrong password is still only 401.
func TestRequireVerifiedEmailHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, func(c *gatehouse.Config) { c.RequireVerifiedEmail = true })
		const addr = "unproven@example.com"
		e.signUp(t, addr, testPassword)
		gatehousetest.WaitMailAbout(t, e.smtp, addr, gatehousetest.ConfirmSubject, 1)
		e.PasswordGrant(t, addr, testPassword).WantProblem(http.StatusForbidden, "email_unverified")
		gatehousetest.WaitMailAbout(t, e.smtp, addr, gatehousetest.ConfirmSubject, 2)
		e.PasswordGrant(t, addr, "a wrong passphrase 99").WantProblem(http.StatusUnauthorized, "invalid_credentials")

		e.ProveEmail(t, addr, testPassword) // the latest mail's code
		tok := e.signIn(t, addr, testPassword)
		if !tok.User.EmailVerified || tok.User.Email != addr {
			t.Errorf("signed in: %+v", tok.User)
		}
	})
}
