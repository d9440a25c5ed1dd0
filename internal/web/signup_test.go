package web_test

// Tests of the sign-up page (/signup).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
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
		// The sign-up mailed the proof of the email, which the account
		// page asks for.
		e.confirmMail(t, "alan@example.com", 1)
		b.get(t, "/").contains("Your email address is not confirmed yet")
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

// TestSignUpRequireVerifiedEmail: where a proven email is required
// (GATEHOUSE_REQUIRE_VERIFIED_EMAIL), a sign-up with a password does not
// sign in: it says to check the email, whose link and password then sign
// in. Until then /login with the password says the same, as a 403.
func TestSignUpRequireVerifiedEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *gatehouse.Config) { c.RequireVerifiedEmail = true })
	const addr = "careful@example.com"
	b := e.browser()
	p := b.post(t, "/signup", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusOK)
	p.contains("<title>Check your email · Gatehouse</title>", "We sent a code and a link to confirm <strong>"+addr+"</strong>",
		`href="/login/password"`).lacks(testPassword, `class="alert error"`)
	signinPageRules(t, p)
	if b.cookie() != "" {
		t.Fatal("the sign-up set a cookie before the email was proven")
	}
	// The sign-up's own message is the one to use: the page did not try
	// the password, which would have replaced it with another.
	_, first := e.confirmMail(t, addr, 1)
	e.browser().get(t, linkPath(t, e, first)).want(http.StatusOK)

	// The password alone: the same page, refused. (The refusal mails a new
	// proof, which replaces the first.)
	p = e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusForbidden)
	p.contains("Check your email", "We sent a code and a link to confirm <strong>"+addr+"</strong>").lacks(testPassword)
	_, link := e.confirmMail(t, addr, 2)
	e.browser().get(t, linkPath(t, e, first)).want(http.StatusNotFound)
	// htmx gets the content alone; a wrong password is still just wrong.
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}, htmx()).want(http.StatusForbidden).
		contains("Check your email").lacks("<html")
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {"not the password at all"}}).want(http.StatusUnauthorized).
		contains("That email or password is not correct.").lacks("Check your email")

	// The link and the password prove the email and sign in; from then
	// on the password alone does.
	path := linkPath(t, e, link)
	token := strings.TrimPrefix(path, "/v1/verify?token=")
	b.get(t, path).want(http.StatusOK).contains(`name="password"`)
	b.post(t, "/v1/verify", url.Values{"token": {token}, "password": {testPassword}}).redirectsTo("/?done=email#profile")
	if b.cookie() == "" {
		t.Fatal("no cookie after the link and the password")
	}
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")
}
