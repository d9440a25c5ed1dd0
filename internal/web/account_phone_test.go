package web_test

// Tests of the account page's phone card.

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
)

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
