package web_test

// Tests of the account page's banner for an email not proven yet
// (account_email.go).

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestAccountEmailBanner: the banner shows while the email is unproven;
// its code proves it, and "Send again" mails a new code (once a minute).
func TestAccountEmailBanner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "unproven@example.test"
	u := acctUser(t, e, addr)
	first, _ := e.confirmMail(t, addr, 1)
	b, _ := acctBrowser(t, e, u)

	b.get(t, "/").want(http.StatusOK).contains(
		`<div class="banner" role="region" aria-labelledby="email-unconfirmed-h">`, "Your email address is not confirmed yet",
		`action="/account/email/verify"`, `hx-post="/account/email/verify" hx-target="#profile" hx-swap="outerHTML"`,
		`id="email-code"`, `name="code"`, `maxlength="6"`,
		`action="/account/email/resend"`, "Send again")

	// A wrong code: said at the field, the page or the card again.
	wrong := otherCode(first)
	b.post(t, "/account/email/verify", url.Values{"code": {wrong}}).want(http.StatusUnauthorized).
		contains("<html", `id="email-code-error"`, `aria-invalid="true"`, "Your email address is not confirmed yet").lacks(wrong)
	b.post(t, "/account/email/verify", url.Values{"code": {"12"}}, htmx()).want(http.StatusBadRequest).
		fragment("profile").contains(`id="email-code-error"`, "Code must be 6 digits")
	// Another site cannot post the forms.
	b.post(t, "/account/email/verify", url.Values{"code": {first}}, crossSite()).want(http.StatusForbidden)
	b.post(t, "/account/email/resend", nil, crossSite()).want(http.StatusForbidden)

	// Send again: a new message, whose code replaces the first; at once
	// again, the wait.
	b.post(t, "/account/email/resend", url.Values{}).redirectsTo("/?done=email_sent#profile")
	b.get(t, "/?done=email_sent").contains("We sent a new code and link to your email.")
	second, link := e.confirmMail(t, addr, 2)
	if link == "" {
		t.Error("the new message has no link")
	}
	p := b.post(t, "/account/email/resend", url.Values{}, htmx()).want(http.StatusTooManyRequests)
	p.fragment("profile").contains("Try again in")
	if p.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the wait")
	}
	if first != second {
		b.post(t, "/account/email/verify", url.Values{"code": {first}}).want(http.StatusUnauthorized)
	}

	b.post(t, "/account/email/verify", url.Values{"code": {second}}).redirectsTo("/?done=email#profile")
	b.get(t, "/?done=email").want(http.StatusOK).
		contains("Your email is confirmed.", `<span class="badge ok">Verified</span>`, "Change password").
		lacks("Your email address is not confirmed yet", `action="/account/email/verify"`)
	if !emailVerified(t, e, addr) {
		t.Error("the email is not proven")
	}
	// Proven, there is nothing to send again.
	e.Clock.Advance(2 * time.Minute)
	b.post(t, "/account/email/resend", url.Values{}).want(http.StatusBadRequest).contains("Email is already your proven email.")
}

// TestAccountEmailHTMX: an htmx post of the right code gets the profile
// card back, confirmed, without the banner.
func TestAccountEmailHTMX(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "htmx@example.test"
	u := acctUser(t, e, addr)
	code, _ := e.confirmMail(t, addr, 1)
	b, _ := acctBrowser(t, e, u)
	b.post(t, "/account/email/verify", url.Values{"code": {code}}, htmx()).want(http.StatusOK).
		fragment("profile").contains("Your email is confirmed.", `<span class="badge ok">Verified</span>`).
		lacks("Your email address is not confirmed yet")
}
