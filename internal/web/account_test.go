package web_test

// Tests of the account page (/) and its forms, through a real server. A
// signed-in browser gets a session cookie the harness writes to the
// database (gatehousetest.Server.Session), so each test can choose the
// session's assurance level and device.

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

const (
	chromeMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	firefoxWin  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	safariPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	// needAAL2Text is how the page explains a change refused to a session
	// without a second factor.
	needAAL2Text = "Sign in again with your second factor to change this."
)

// acctUser signs up email (with testPassword) and answers the account.
func acctUser(t *testing.T, e *env, email string) *auth.User {
	t.Helper()
	e.signUp(t, email)
	u, err := e.g.Auth().AdminUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	return u
}

// acctBrowser answers a browser signed in as u (see acctSession) and the
// id of its session.
func acctBrowser(t *testing.T, e *env, u *auth.User, amr ...string) (*browser, string) {
	t.Helper()
	cookie, id := e.session(t, u, chromeMac, amr...)
	return e.browserWith(cookie), id
}

// acctToken returns the status of a password grant at POST /v1/token.
func acctToken(t *testing.T, e *env, email, password string) int {
	t.Helper()
	r := e.PasswordGrant(t, email, password)
	if r.Status == http.StatusOK {
		e.Tokens(r) // its tokens become secrets of the log
	}
	return r.Status
}

// acctHTML answers s as html/template writes it in text and attributes.
func acctHTML(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

// fragment fails the test unless p is an htmx fragment: a card, no page.
func (p *page) fragment(card string) *page {
	p.t.Helper()
	p.lacks("<html", "<head", `<main`)
	return p.contains(`<section class="card" id="` + card + `"`)
}

var (
	secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	backupRE = regexp.MustCompile(`<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2})</li>`)
)

// totpSecret answers the key the set-up shows, without its spaces.
func (p *page) totpSecret() string {
	p.t.Helper()
	m := secretRE.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s: no authenticator key shown:\n%s", p.req, p.body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// backupCodes answers the backup codes shown, which must be ten, in the
// list the Copy and Download buttons read.
func (p *page) backupCodes() []string {
	p.t.Helper()
	p.contains(`<ol class="codes" id="backup-codes">`, `data-copy="backup-codes"`, `data-download="backup-codes"`,
		`data-filename="gatehouse-backup-codes.txt"`, "will not be shown again")
	var codes []string
	for _, m := range backupRE.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		p.t.Fatalf("%s: %d backup codes shown, want 10:\n%s", p.req, len(codes), p.body)
	}
	return codes
}

// acctWrongTOTP answers a well-formed code that the key does not make
// now (nor a step either side).
func acctWrongTOTP(t *testing.T, e *env, secret string) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := totp.GenerateCode(secret, e.clock.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("unreachable: four codes cannot all be valid")
}

func TestAccountSignedOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	b.get(t, "/").redirectsTo("/login?redirect_to=%2F")
	b.get(t, "/?done=name").redirectsTo("/login?redirect_to=%2F%3Fdone%3Dname")
	b.post(t, "/account/name", url.Values{"name": {"Mallory"}}).redirectsTo("/login?redirect_to=%2F")
	b.post(t, "/account/password", url.Values{"new_password": {"a brand new passphrase"}}, htmx()).redirectsTo("/login?redirect_to=%2F")

	// A cookie whose session ended is no session.
	u := acctUser(t, e, "ended@example.test")
	b, _ = acctBrowser(t, e, u)
	b.get(t, "/").want(http.StatusOK)
	if err := e.g.Auth().AdminRevokeSessions(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	b.get(t, "/").redirectsTo("/login?redirect_to=%2F")
}

func TestAccountPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "page@example.test")
	b, _ := acctBrowser(t, e, u)
	p := b.get(t, "/").want(http.StatusOK)
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	p.contains("<title>Your account · Gatehouse</title>", "<h1>Your account</h1>",
		// every card
		`id="profile"`, `id="phone"`, `id="mfa"`, `id="password"`, `id="sessions"`,
		// profile
		"page@example.test", `<span class="badge warn">Not verified</span>`, "Member since", u.CreatedAt.UTC().Format("2 January 2006"),
		`action="/account/name"`, `hx-post="/account/name" hx-target="#profile" hx-swap="outerHTML"`,
		// phone
		`action="/account/phone"`, `type="tel"`, `autocomplete="tel"`,
		// two-step verification: nothing on yet
		"Set up an authenticator app", `action="/account/totp"`, "Turn on email codes", `action="/account/mfa/email/on"`,
		// password: one is set, so the current one is asked for
		`autocomplete="current-password"`, `autocomplete="new-password"`, "Change password", "signs you out on all your other devices",
		// sessions
		"Chrome on macOS", "This device", "IP 192.0.2.7", "This is the only device signed in.",
		// sign out
		`<form method="post" action="/logout">`,
	).lacks(`action="/account/backup-codes"`, `action="/account/sessions/others"`, `class="qr"`, "totp-secret", `style=`)

	// Only known notice keys say anything; nothing typed into the URL shows.
	b.get(t, "/?done=password").contains("Your password was changed")
	b.get(t, "/?done=%3Cb%3Ehacked%3C%2Fb%3E").want(http.StatusOK).lacks("hacked", `class="alert`)
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "name@example.test")
	b, _ := acctBrowser(t, e, u)

	b.post(t, "/account/name", url.Values{"name": {"Ada Lovelace"}}).redirectsTo("/?done=name#profile")
	b.get(t, "/?done=name").contains("Your name was saved.", "<dd>Ada Lovelace</dd>", `value="Ada Lovelace"`)

	// An error re-renders the page with the message at the field and what
	// was typed kept.
	bad := strings.Repeat("x", 201)
	b.post(t, "/account/name", url.Values{"name": {bad}}).want(http.StatusBadRequest).
		contains("<html", `id="name-error"`, "Name must be at most 200 characters", `aria-invalid="true"`,
			`aria-describedby="name-hint name-error"`, `value="`+bad+`"`)

	// htmx gets the card alone, both for success and for errors.
	b.post(t, "/account/name", url.Values{"name": {"Ada King"}}, htmx()).want(http.StatusOK).
		fragment("profile").contains("Your name was saved.", "<dd>Ada King</dd>").lacks(`id="sessions"`)
	b.post(t, "/account/name", url.Values{"name": {"a\x01b"}}, htmx()).want(http.StatusBadRequest).
		fragment("profile").contains("must not contain control characters")

	// A post from another site is refused before it changes anything.
	b.post(t, "/account/name", url.Values{"name": {"Mallory"}}, crossSite()).want(http.StatusForbidden).lacks("Mallory")
	b.get(t, "/").contains("<dd>Ada King</dd>").lacks("Mallory")
}

func TestAccountPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *gatehouse.Config) { c.SMSAllowedCountries = []string{"US", "CA"} })
	u := acctUser(t, e, "phone@example.test")
	b, _ := acctBrowser(t, e, u)
	const number = "+14155552671"

	for _, tc := range []struct{ name, phone, want string }{
		{"not a number", "12345", "Phone must be a valid phone number"},
		{"country not allowed", "+447400123456", "Phone numbers from this country are not accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.post(t, "/account/phone", url.Values{"phone": {tc.phone}}).want(http.StatusBadRequest).
				contains(`id="phone-error"`, tc.want, `value="`+acctHTML(tc.phone)+`"`).lacks(`id="phone-code"`)
		})
	}

	// The code step: the card asks for the code sent by SMS.
	b.post(t, "/account/phone", url.Values{"phone": {"+1 415 555 2671"}}).want(http.StatusOK).
		contains("We sent a code by text message to "+acctHTML(number), `id="phone-code"`, "autofocus",
			`autocomplete="one-time-code"`, `inputmode="numeric"`, `pattern="[0-9]*"`, `value="`+acctHTML(number)+`"`)
	code := e.smsCode(t, number, 1)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	b.post(t, "/account/phone/verify", url.Values{"phone": {number}, "code": {wrong}}).want(http.StatusUnauthorized).
		contains(`id="phone-code-error"`, "The code is not correct.", `id="phone-code"`)
	b.post(t, "/account/phone/verify", url.Values{"phone": {number}, "code": {code}}).redirectsTo("/?done=phone#phone")
	b.get(t, "/?done=phone").contains("Your phone number is verified and saved.", acctHTML(number)+` <span class="badge ok">Verified</span>`)

	// Another account cannot take a verified number; with htmx the card
	// says so, and a number it can have swaps the profile card too.
	u2 := acctUser(t, e, "phone2@example.test")
	b2, _ := acctBrowser(t, e, u2)
	b2.post(t, "/account/phone", url.Values{"phone": {number}}, htmx()).want(http.StatusConflict).
		fragment("phone").contains(`id="phone-error"`, "Phone is already registered")
	const number2 = "+16135550123"
	b2.post(t, "/account/phone", url.Values{"phone": {number2}}, htmx()).want(http.StatusOK).
		fragment("phone").contains(`id="phone-code"`)
	code = e.smsCode(t, number2, 2)
	b2.post(t, "/account/phone/verify", url.Values{"phone": {number2}, "code": {code}}, htmx()).want(http.StatusOK).
		fragment("phone").contains("Your phone number is verified and saved.",
		`<section class="card" id="profile" aria-labelledby="profile-h" hx-swap-oob="true">`, acctHTML(number2)+` <span class="badge ok">Verified</span>`)
}

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "sessions@example.test")
	b, self := acctBrowser(t, e, u)

	long := "ExampleAgent/1.0 " + strings.Repeat("z", 100)
	devices := []struct{ ua, want string }{
		{firefoxWin, "Firefox on Windows"},
		{safariPhone, "Safari on iPhone"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0", "Edge on Android"},
		{"curl/8.5.0", "curl/8.5.0"},
		{long, long[:59] + "…"},
		{"", "Unknown device"},
	}
	cookies := make([]string, len(devices))
	ids := make([]string, len(devices))
	for i, d := range devices {
		cookies[i], ids[i] = e.session(t, u, d.ua)
	}
	p := b.get(t, "/").want(http.StatusOK).contains(`action="/account/sessions/others"`, "Sign out everywhere else")
	for _, d := range devices {
		p.contains("<td>" + d.want + `<span class="hint">`)
	}
	// "This device" marks the browser's own session, which has no revoke
	// button; every other one has.
	p.contains(`<td>Chrome on macOS <span class="badge ok">This device</span>`).lacks("/account/sessions/" + self + "/revoke")
	for _, id := range ids {
		p.contains(`action="/account/sessions/` + id + `/revoke"`)
	}

	// Revoking one ends that session's cookie at once, and only that one.
	b.post(t, "/account/sessions/"+ids[0]+"/revoke", url.Values{}).redirectsTo("/?done=session#sessions")
	if got := e.checkStatus(t, cookies[0]); got != http.StatusUnauthorized {
		t.Fatalf("revoked session: /v1/check %d, want 401", got)
	}
	if got := e.checkStatus(t, cookies[1]); got != http.StatusOK {
		t.Fatalf("other session: /v1/check %d, want 200", got)
	}
	b.get(t, "/?done=session").contains("That device was signed out.").lacks("Firefox on Windows")

	// With htmx the sessions card comes back alone.
	b.post(t, "/account/sessions/"+ids[1]+"/revoke", url.Values{}, htmx()).want(http.StatusOK).
		fragment("sessions").contains("That device was signed out.").lacks("Safari on iPhone", `id="profile"`)

	// Someone else's session, or no session at all, is not found here.
	other := acctUser(t, e, "other@example.test")
	otherCookie, otherID := e.session(t, other, firefoxWin)
	b.post(t, "/account/sessions/"+otherID+"/revoke", url.Values{}).want(http.StatusNotFound).contains("No such session.")
	b.post(t, "/account/sessions/not-an-id/revoke", url.Values{}).want(http.StatusNotFound)
	if got := e.checkStatus(t, otherCookie); got != http.StatusOK {
		t.Fatalf("another user's session: /v1/check %d, want 200", got)
	}

	// Sign out everywhere else: every other session ends, this one stays.
	b.post(t, "/account/sessions/others", url.Values{}).redirectsTo("/?done=others#sessions")
	for i, c := range cookies {
		if got := e.checkStatus(t, c); got != http.StatusUnauthorized {
			t.Fatalf("session %d after signing out everywhere else: /v1/check %d, want 401", i, got)
		}
	}
	b.get(t, "/?done=others").want(http.StatusOK).contains("You were signed out everywhere else.", "This is the only device signed in.")
}

func TestAccountTOTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "totp@example.test")
	b, _ := acctBrowser(t, e, u)

	// Set-up shows the QR code and the key, and asks for a code.
	p := b.post(t, "/account/totp", url.Values{}).want(http.StatusOK).
		contains(`<img class="qr" src="data:image/png;base64,`, `alt="QR code for your authenticator app"`,
			`href="otpauth://totp/`, `action="/account/totp/confirm"`, `id="totp-code"`, "autofocus", `autocomplete="one-time-code"`)
	secret := p.totpSecret()

	// A wrong code keeps the set-up on screen, with the error at the field.
	carried := url.Values{"code": {acctWrongTOTP(t, e, secret)}, "otpauth_url": {"otpauth://totp/Gatehouse:totp@example.test?secret=" + secret + "&issuer=Gatehouse"}}
	got := b.post(t, "/account/totp/confirm", carried).want(http.StatusUnauthorized).
		contains(`id="totp-code-error"`, "Code is not correct", `aria-invalid="true"`, `class="qr"`).totpSecret()
	if got != secret {
		t.Fatalf("set-up shown again with key %s, want %s", got, secret)
	}
	// A key carried back that is not this account's is not shown.
	b.post(t, "/account/totp/confirm", url.Values{"code": {"12345"}, "otpauth_url": {"otpauth://totp/Evil:someone@example.test?secret=JBSWY3DPEHPK3PXP&issuer=Evil"}}).
		want(http.StatusBadRequest).lacks("JBSW", `class="qr"`)

	// A set-up left for 15 minutes is gone: the page says so in its own
	// words (no API route) and does not show the old key again.
	e.clock.Advance(15 * time.Minute)
	late, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.post(t, "/account/totp/confirm", url.Values{"code": {late}, "otpauth_url": carried["otpauth_url"]}).want(http.StatusBadRequest).
		contains("The set-up has expired or was not started. Start it again.").lacks(`class="qr"`, secret, "/v1/")
	secret = b.post(t, "/account/totp", url.Values{}).want(http.StatusOK).totpSecret()

	// The right code turns it on and shows the backup codes, this once.
	code, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = b.post(t, "/account/totp/confirm", url.Values{"code": {code}}).want(http.StatusOK).
		contains("Your authenticator app is on.", "10 unused backup codes left.").lacks(`class="qr"`, "totp-secret")
	codes := p.backupCodes()
	p = b.get(t, "/").want(http.StatusOK).
		contains(`<span class="badge ok">On</span>`, "Remove the authenticator app", "10 unused backup codes left.").
		lacks(`class="qr"`, "totp-secret", secret, `id="backup-codes"`)
	p.lacks(codes...)

	// This session did not pass the authenticator: removing it, seeing its
	// QR code again and new backup codes are refused, and the page says why.
	b.post(t, "/account/totp/remove", url.Values{}).want(http.StatusForbidden).contains(needAAL2Text, "Remove the authenticator app")
	b.post(t, "/account/backup-codes", url.Values{}, htmx()).want(http.StatusForbidden).fragment("mfa").contains(needAAL2Text)
	b.post(t, "/account/totp/show", url.Values{}).want(http.StatusForbidden).contains("Sign in again with your second factor to see the QR code again.").lacks(`class="qr"`)

	// A session that passed it can do all three.
	b2, _ := acctBrowser(t, e, u, auth.MethodPassword, auth.MethodTOTP)
	if got := b2.post(t, "/account/totp/show", url.Values{}).want(http.StatusOK).contains(`class="qr"`).totpSecret(); got != secret {
		t.Fatalf("QR shown again with key %s, want %s", got, secret)
	}
	p = b2.post(t, "/account/backup-codes", url.Values{}).want(http.StatusOK).contains("You have new backup codes")
	fresh := p.backupCodes()
	p.lacks(codes...)
	b2.get(t, "/").lacks(fresh...)
	b2.post(t, "/account/backup-codes", url.Values{}, htmx()).want(http.StatusOK).fragment("mfa").backupCodes()

	b2.post(t, "/account/totp/remove", url.Values{}).redirectsTo("/?done=totp_removed#mfa")
	b2.get(t, "/?done=totp_removed").contains("The authenticator app was removed.", "Set up an authenticator app").
		lacks("Remove the authenticator app", `action="/account/backup-codes"`)

	// htmx: the set-up arrives as the card alone.
	b.post(t, "/account/totp", url.Values{}, htmx()).want(http.StatusOK).fragment("mfa").contains(`class="qr"`, "totp-secret")
}

func TestAccountEmailFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "emailmfa@example.test")
	b, _ := acctBrowser(t, e, u)

	// The first second factor brings backup codes, shown in this answer.
	p := b.post(t, "/account/mfa/email/on", url.Values{}).want(http.StatusOK).contains("Email codes are on")
	codes := p.backupCodes()
	p = b.get(t, "/").contains("Turn off email codes", "10 unused backup codes left.").lacks(`id="backup-codes"`)
	p.lacks(codes...)

	// Turning it off takes a session that passed a second factor.
	b.post(t, "/account/mfa/email/off", url.Values{}).want(http.StatusForbidden).contains(needAAL2Text)
	b2, _ := acctBrowser(t, e, u, auth.MethodPassword, auth.MethodEmailCode)
	b2.post(t, "/account/mfa/email/off", url.Values{}).redirectsTo("/?done=email_off#mfa")
	b2.get(t, "/?done=email_off").contains("Email codes are off.", "Turn on email codes").lacks(`action="/account/backup-codes"`)

	// With htmx, on again: the card with fresh codes (the old ones went
	// with the last factor); off again: the card with the notice.
	b2.post(t, "/account/mfa/email/on", url.Values{}, htmx()).want(http.StatusOK).fragment("mfa").backupCodes()
	b2.post(t, "/account/mfa/email/off", url.Values{}, htmx()).want(http.StatusOK).fragment("mfa").contains("Email codes are off.")
}

func TestAccountPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "password@example.test"
	u := acctUser(t, e, email)
	b, _ := acctBrowser(t, e, u)
	other, _ := e.session(t, u, firefoxWin)
	const next = "correct horse battery staple 9"

	for _, tc := range []struct {
		name          string
		current, next string
		status        int
		want          []string
	}{
		{"wrong current password", "not my password", next, http.StatusUnauthorized,
			[]string{`id="current-password-error"`, "Password is not correct"}},
		{"weak new password", testPassword, "short", http.StatusBadRequest,
			[]string{`id="new-password-error"`, "must be at least 8 characters", `aria-describedby="new-password-hint new-password-error"`}},
		{"no new password", testPassword, "", http.StatusBadRequest,
			[]string{`id="new-password-error"`, "Password is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post(t, "/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.next}}).
				want(tc.status).contains(tc.want...)
			for _, typed := range []string{tc.current, tc.next} {
				if typed != "" {
					p.lacks(typed) // passwords are never sent back
				}
			}
		})
	}
	if got := e.checkStatus(t, other); got != http.StatusOK {
		t.Fatalf("after failed changes: other session /v1/check %d, want 200", got)
	}

	b.post(t, "/account/password", url.Values{"current_password": {testPassword}, "new_password": {next}}).redirectsTo("/?done=password#password")
	if got := e.checkStatus(t, other); got != http.StatusUnauthorized {
		t.Fatalf("after the change: other session /v1/check %d, want 401", got)
	}
	b.get(t, "/?done=password").want(http.StatusOK).contains("every other device was signed out", "This is the only device signed in.")
	if got := acctToken(t, e, email, next); got != http.StatusOK {
		t.Fatalf("new password at /v1/token: %d, want 200", got)
	}
	if got := acctToken(t, e, email, testPassword); got != http.StatusUnauthorized {
		t.Fatalf("old password at /v1/token: %d, want 401", got)
	}

	// htmx: the password card, and the sessions card out of band.
	e.session(t, u, firefoxWin)
	b.post(t, "/account/password", url.Values{"current_password": {next}, "new_password": {testPassword}}, htmx()).
		want(http.StatusOK).fragment("password").
		contains(`<section class="card" id="sessions" aria-labelledby="sessions-h" hx-swap-oob="true">`, "This is the only device signed in.").
		lacks("Firefox on Windows")
}

func TestAccountSetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "nopassword@example.test"
	e.SignUp(t, email, "") // passwordless
	u, err := e.g.Auth().AdminUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := acctBrowser(t, e, u, auth.MethodOTP)
	b.get(t, "/").contains("Your account has no password", "Set password").lacks(`id="current-password"`)
	b.post(t, "/account/password", url.Values{"new_password": {"correct horse battery staple 9"}}).redirectsTo("/?done=password_set#password")
	b.get(t, "/?done=password_set").contains("Your password was set", "Change password", `id="current-password"`)
	if got := acctToken(t, e, email, "correct horse battery staple 9"); got != http.StatusOK {
		t.Fatalf("new password at /v1/token: %d, want 200", got)
	}
}
