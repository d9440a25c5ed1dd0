package web_test

// Tests of the recovery page (/recover).

import (
	"net/http"
	"net/url"
	"testing"
)

// TestRecoverPages: a reset by the emailed code signs in and ends every
// other session.
func TestRecoverPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "frances@example.com"
	e.signUp(t, addr)
	e.confirmMail(t, addr, 1) // the sign-up's proof of the email, left unused
	before := signinToken(t, e, addr, testPassword)
	if st, _ := signinCheck(t, e, "", before); st != http.StatusOK {
		t.Fatalf("check before: %d", st)
	}
	b := e.browser()
	b.post(t, "/recover", url.Values{"email": {"nope"}}).want(http.StatusBadRequest).contains("Email must be a valid email address", `id="email-error"`)
	p := b.post(t, "/recover", url.Values{"email": {addr}}, htmx()).want(http.StatusOK)
	p.contains("Choose a new password", addr, "open the link in the email", `autocomplete="new-password"`, `name="new_password"`).lacks("<html")
	signinCodeField(t, p)
	signinPageRules(t, p)
	code, link := e.mailCode(t, addr, 2)
	if link == "" {
		t.Error("the recovery email has no link")
	}
	wrong := otherCode(code)
	b.post(t, "/recover/verify", url.Values{"email": {addr}, "code": {wrong}, "new_password": {signinNewPassword}}).want(http.StatusUnauthorized).
		contains("That code is not correct").lacks(wrong, signinNewPassword)
	b.post(t, "/recover/verify", url.Values{"email": {addr}, "code": {code}, "new_password": {"short"}}).want(http.StatusBadRequest).
		contains("Password must be at least 8 characters", `id="new_password-error"`).lacks(code, `value="short"`)
	b.post(t, "/recover/verify", url.Values{"email": {addr}, "code": {code}, "new_password": {signinNewPassword}}).redirectsTo("/")
	if st, _ := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK {
		t.Fatalf("check with the new cookie: %d", st)
	}
	if st, _ := signinCheck(t, e, "", before); st != http.StatusUnauthorized {
		t.Fatalf("the token from before the reset answers %d", st)
	}
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusUnauthorized)
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {signinNewPassword}}).redirectsTo("/")
	// The code is used.
	b.post(t, "/recover/verify", url.Values{"email": {addr}, "code": {code}, "new_password": {"another new passphrase"}}).want(http.StatusUnauthorized)
}
