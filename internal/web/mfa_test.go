package web_test

// Tests of the second-factor step (/login/mfa): each factor, the emailed code, and a step that ended.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// TestSecondFactorStep: a sign-in of an account with an authenticator
// stops at the second-factor step, which an app code, a backup code or an
// email code finishes with an aal2 session.
func TestSecondFactorStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "margaret@example.com"
	e.signUp(t, addr)
	token := signinToken(t, e, addr, testPassword)
	secret, backup := signinEnrolTOTP(t, e, token)

	firstFactor := func(t *testing.T, b *browser, opts ...reqOpt) *page {
		t.Helper()
		p := b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}, "redirect_to": {appOrigin + "/back"}}, opts...).want(http.StatusOK)
		p.contains("One more step", `type="hidden" name="factor" value="totp">`, `name="factor" value="backup_code"`, `autocomplete="one-time-code"`).
			lacks(`value="email"`, "Email me a code", testPassword)
		signinPageRules(t, p)
		if b.cookie() != "" {
			t.Fatal("the second-factor step set a cookie")
		}
		return p
	}

	t.Run("authenticator", func(t *testing.T) {
		b := e.browser()
		p := firstFactor(t, b, htmx())
		p.lacks("<html")
		tok := signinHidden(t, p, "mfa_token")
		code := signinTOTP(t, e, secret)
		wrong := otherCode(code)
		p = b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"totp"}, "code": {wrong}}).want(http.StatusUnauthorized)
		p.contains("That code is not correct", `aria-invalid="true"`, `name="mfa_token" value="`+tok+`"`).lacks(wrong)
		b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"totp"}}).want(http.StatusBadRequest).contains("Code is required")
		b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"totp"}, "code": {code}}).redirectsTo(appOrigin + "/back")
		if st, aal := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK || aal != "aal2" {
			t.Fatalf("check: %d %s", st, aal)
		}
		// The step's token is spent.
		b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"totp"}, "code": {code}}).want(http.StatusUnauthorized).
			contains("Start again", `href="/login"`).lacks(`name="mfa_token"`)
	})

	t.Run("backup code", func(t *testing.T) {
		b := e.browser()
		tok := signinHidden(t, firstFactor(t, b), "mfa_token")
		b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"backup_code"}, "code": {backup[0]}}).redirectsTo(appOrigin + "/back")
		if st, aal := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK || aal != "aal2" {
			t.Fatalf("check: %d %s", st, aal)
		}
		// A backup code works once.
		b2 := e.browser()
		tok = signinHidden(t, firstFactor(t, b2), "mfa_token")
		b2.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"backup_code"}, "code": {backup[0]}}).want(http.StatusUnauthorized).
			contains("not correct", `type="hidden" name="factor" value="backup_code">`).lacks(backup[0])
	})

	t.Run("too many tries", func(t *testing.T) {
		b := e.browser()
		tok := signinHidden(t, firstFactor(t, b), "mfa_token")
		var p *page
		for i := 0; i < 5; i++ {
			p = b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"totp"}, "code": {"000000"}})
		}
		p.want(http.StatusTooManyRequests).contains("Too many wrong codes", "Start again")
		b.post(t, "/login/mfa", url.Values{"mfa_token": {"nonsense"}, "factor": {"totp"}, "code": {"123456"}}).want(http.StatusUnauthorized).contains("Start again")
	})
}

// TestSecondFactorByEmail: with email as the second factor the step offers
// to send a code, and that code finishes the sign-in.
func TestSecondFactorByEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "dorothy@example.com"
	e.signUp(t, addr)
	e.confirmMail(t, addr, 1) // the sign-up's proof of the email, left unused
	token := signinToken(t, e, addr, testPassword)
	if st := signinJSON(t, e, "POST", "/v1/mfa/email", token, map[string]string{}, nil); st != http.StatusOK {
		t.Fatalf("enable the email factor: %d", st)
	}
	b := e.browser()
	p := b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusOK)
	p.contains(`type="hidden" name="factor" value="email">`, "Email me a code", `action="/login/mfa/email"`)
	tok := signinHidden(t, p, "mfa_token")
	p = b.post(t, "/login/mfa/email", url.Values{"mfa_token": {tok}}, htmx()).want(http.StatusOK)
	p.contains("We emailed you a code.", `type="hidden" name="factor" value="email">`).lacks("<html")
	code, _ := e.mailCode(t, addr, 2)
	b.post(t, "/login/mfa/email", url.Values{"mfa_token": {tok}}).want(http.StatusTooManyRequests).contains("Try again in")
	b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"email"}, "code": {code}}).redirectsTo("/")
	if st, aal := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK || aal != "aal2" {
		t.Fatalf("check: %d %s", st, aal)
	}
}

// TestSecondFactorStepShown: /login/mfa/step shows the step of a live MFA
// token (the page a sign-in finished by passkey.js goes to when it needs a
// second step), consuming nothing; a token that is not live gets the page
// that starts over.
func TestSecondFactorStepShown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "mfa-step@example.com"
	e.signUp(t, addr)
	signinEnrolTOTP(t, e, signinToken(t, e, addr, testPassword))
	b := e.browser()
	tok := signinHidden(t, b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusOK), "mfa_token")
	for range 2 {
		b.post(t, "/login/mfa/step", url.Values{"mfa_token": {tok}}).want(http.StatusOK).
			contains("One more step", `name="mfa_token" value="`+tok+`"`, `type="hidden" name="factor" value="totp">`)
	}
	b.post(t, "/login/mfa/step", url.Values{"mfa_token": {"nonsense"}}).want(http.StatusUnauthorized).
		contains("Start again", `href="/login"`).lacks(`name="mfa_token"`)
	b.post(t, "/login/mfa/step", url.Values{"mfa_token": {tok}}, crossSite()).want(http.StatusForbidden)
	if b.cookie() != "" {
		t.Fatal("showing the step set a cookie")
	}
}

// TestSecondFactorOneWayAtATime: the step asks for one factor's code at a
// time, the others behind "Use another way" (plain forms: they work with
// JavaScript off); the factor that last finished a sign-in on this browser
// comes first next time, and a backup code is never remembered as the
// usual way.
func TestSecondFactorOneWayAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "one-way@example.com"
	e.signUp(t, addr)
	e.confirmMail(t, addr, 1)
	token := signinToken(t, e, addr, testPassword)
	_, backup := signinEnrolTOTP(t, e, token)
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	// Email too, from a session that passed the authenticator.
	pr, err := e.G.Auth().CookiePrincipal(t.Context(), admCookie(t, e, u, auth.MethodPassword, auth.MethodTOTP))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.G.Auth().EnableEmailFactor(t.Context(), pr, auth.Client{}); err != nil {
		t.Fatalf("email factor: %v", err)
	}
	const (
		asksTOTP   = `<input type="hidden" name="factor" value="totp">` + "\n" + `    <label for="code">Code from your authenticator app</label>`
		asksEmail  = `<input type="hidden" name="factor" value="email">` + "\n" + `    <label for="code">Code from the email</label>`
		asksBackup = `<input type="hidden" name="factor" value="backup_code">` + "\n" + `    <label for="code">Backup code</label>`
		other      = "<summary>Use another way</summary>"
	)
	oneWay := func(t *testing.T, p *page, asks string, others ...string) string {
		t.Helper()
		p.contains(asks, other).contains(others...).lacks(`type="radio"`)
		if n := strings.Count(p.body, `name="code"`); n != 1 {
			t.Errorf("%d code fields, want 1", n)
		}
		return signinHidden(t, p, "mfa_token")
	}
	password := func(t *testing.T, b *browser) *page {
		t.Helper()
		return b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusOK)
	}

	// First time: the authenticator app, the others folded.
	b := e.browser()
	tok := oneWay(t, password(t, b), asksTOTP, "Email me a code", "Use a backup code")
	// Another way, chosen: a plain post shows that one.
	oneWay(t, b.post(t, "/login/mfa/step", url.Values{"mfa_token": {tok}, "factor": {"backup_code"}}).want(http.StatusOK),
		asksBackup, "Use your authenticator app", "Email me a code")
	p := b.post(t, "/login/mfa/email", url.Values{"mfa_token": {tok}}).want(http.StatusOK)
	oneWay(t, p, asksEmail, "Use your authenticator app", "Use a backup code")
	code, _ := e.mailCode(t, addr, 2)
	done := b.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"email"}, "code": {code}}).redirectsTo("/")
	remembered := ""
	for _, c := range done.header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(c, "gatehouse_mfa_last="); ok {
			remembered = v
		}
	}
	if !strings.HasPrefix(remembered, "email;") || !strings.Contains(remembered, "HttpOnly") || !strings.Contains(remembered, "Path=/;") {
		t.Fatalf("remembered %q, want email (HttpOnly, on every path)", remembered)
	}

	// Next time on this browser: email first; elsewhere the default.
	last := func(v string) reqOpt {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "gatehouse_mfa_last", Value: v}) }
	}
	b2 := e.browser()
	p = b2.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}, last("email")).want(http.StatusOK)
	tok = oneWay(t, p, asksEmail, "Use your authenticator app", "Use a backup code")
	// A made-up or unusable value is ignored.
	for _, v := range []string{"webauthn", "nonsense", ""} {
		oneWay(t, b2.post(t, "/login/mfa/step", url.Values{"mfa_token": {tok}}, last(v)).want(http.StatusOK), asksTOTP)
	}
	// A backup code finishes the sign-in but is not remembered.
	done = b2.post(t, "/login/mfa", url.Values{"mfa_token": {tok}, "factor": {"backup_code"}, "code": {backup[0]}}).redirectsTo("/")
	if c := strings.Join(done.header.Values("Set-Cookie"), "\n"); strings.Contains(c, "gatehouse_mfa_last") {
		t.Errorf("a backup code was remembered: %s", c)
	}
}
