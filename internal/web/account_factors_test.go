package web_test

// Tests of the account page's second factors: the authenticator app, email codes and backup codes.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/auth"
)

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
	e.Clock.Advance(15 * time.Minute)
	late, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.post(t, "/account/totp/confirm", url.Values{"code": {late}, "otpauth_url": carried["otpauth_url"]}).want(http.StatusBadRequest).
		contains("The set-up has expired or was not started. Start it again.").lacks(`class="qr"`, secret, "/v1/")
	secret = b.post(t, "/account/totp", url.Values{}).want(http.StatusOK).totpSecret()

	// The right code turns it on and shows the backup codes, this once.
	code, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = b.post(t, "/account/totp/confirm", url.Values{"code": {code}}).want(http.StatusOK).
		contains("Your authenticator app is on.", "10 unused backup codes left.").lacks(`class="qr"`, "totp-secret")
	codes := p.backupCodes()
	// Shown once, so as a warning (not a green "done"), and first on the
	// whole page a plain post answers, where the browser lands.
	p.contains(`<p class="alert warning" role="alert"><strong>Save these backup codes now.</strong>`).lacks(`class="alert notice" role="status">Save`)
	if first, profile := strings.Index(p.body, `id="backup-codes"`), strings.Index(p.body, `id="profile"`); first < 0 || profile < 0 || first > profile {
		t.Errorf("the backup codes are at %d, the first card at %d: want the codes first", first, profile)
	}
	p = b.get(t, "/").want(http.StatusOK).
		contains(`<span class="badge ok">On</span>`, "Remove the authenticator app", "10 unused backup codes left.").
		lacks(`class="qr"`, "totp-secret", secret, `id="backup-codes"`)
	p.lacks(codes...)

	// This session did not pass the authenticator: removing it, seeing its
	// QR code again and new backup codes are refused, and the page says why.
	b.post(t, "/account/totp/remove", url.Values{}).want(http.StatusForbidden).contains(needAAL2Text, "Remove the authenticator app", `<a href="/step-up?redirect_to=%2F%23mfa">Confirm it’s you</a>`)
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
