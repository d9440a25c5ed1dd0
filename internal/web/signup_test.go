package web_test

// Tests of the sign-up page (/signup).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSignUpPages: each way to create an account, and each way it fails.
func TestSignUpPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.signUp(t, "taken@example.com")

	t.Run("email and password", func(t *testing.T) {
		b := e.browser()
		b.post(t, "/signup", url.Values{"address": {"alan@example.com"}, "name": {"Alan"}, "password": {testPassword}, "redirect_to": {appOrigin + "/welcome"}}).
			redirectsTo(appOrigin + "/welcome")
		if st, _ := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK {
			t.Fatalf("check after sign-up: %d", st)
		}
	})

	t.Run("email only", func(t *testing.T) {
		const addr = "edsger@example.com"
		b := e.browser()
		p := b.post(t, "/signup", url.Values{"address": {addr}, "redirect_to": {"/start"}}, htmx()).want(http.StatusOK)
		p.contains("Your account is created.", "Enter your code", addr, `action="/login/verify"`).lacks("<html")
		signinCodeField(t, p)
		code, _ := e.mailCode(t, addr, 1)
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {code}, "redirect_to": {"/start"}}).redirectsTo("/start")
		// The account was made by the form: a second sign-up is taken.
		e.browser().post(t, "/signup", url.Values{"address": {addr}}).want(http.StatusConflict)
	})

	t.Run("phone", func(t *testing.T) {
		b := e.browser()
		p := b.post(t, "/signup", url.Values{"address": {signinPhone2}, "password": {testPassword}}).want(http.StatusOK)
		p.contains("We texted a 6-digit code", signinHTML(signinPhone2)).lacks(testPassword)
		code := e.smsCode(t, signinPhone2, 1)
		b.post(t, "/login/verify", url.Values{"address": {signinPhone2}, "code": {code}}).redirectsTo("/")
		// The password set at sign-up works with the phone.
		e.browser().post(t, "/login/password", url.Values{"address": {signinPhone2}, "password": {testPassword}}).redirectsTo("/")
		p = e.browser().post(t, "/signup", url.Values{"address": {signinPhone2}}).want(http.StatusConflict)
		p.contains("already exists", "Sign in instead")
	})

	for _, tc := range []struct {
		name             string
		form             url.Values
		status           int
		contains, absent []string
	}{
		{"email taken", url.Values{"address": {"taken@example.com"}, "password": {testPassword}}, http.StatusConflict,
			[]string{"An account with this email already exists.", `>Sign in instead</a>`, `href="/login"`}, []string{testPassword}},
		{"short password", url.Values{"address": {"new1@example.com"}, "password": {"short"}}, http.StatusBadRequest,
			[]string{"Password must be at least 8 characters", `id="password-error"`}, []string{`value="short"`}},
		{"common password", url.Values{"address": {"new2@example.com"}, "password": {"password"}}, http.StatusBadRequest,
			[]string{"Password is too common"}, []string{`value="password"`}},
		{"bad email", url.Values{"address": {"nope"}, "name": {"Nope"}}, http.StatusBadRequest,
			[]string{"Email must be a valid email address", `id="address-error"`, `value="Nope"`}, nil},
		{"bad phone", url.Values{"address": {"+1 555"}}, http.StatusBadRequest, []string{"Phone must be a valid phone number"}, nil},
		{"empty", url.Values{}, http.StatusBadRequest, []string{"Enter your email or phone number."}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			p := b.post(t, "/signup", tc.form).want(tc.status).contains(tc.contains...).lacks(tc.absent...)
			p.contains(`aria-invalid="true"`, "autofocus")
			if strings.Count(p.body, "autofocus") != 1 {
				t.Errorf("%d fields want the focus", strings.Count(p.body, "autofocus"))
			}
			signinPageRules(t, p)
			if b.cookie() != "" {
				t.Fatal("a failed sign-up set a cookie")
			}
		})
	}
}
