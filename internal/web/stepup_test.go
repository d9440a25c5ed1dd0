package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

var stepUpTokenRE = regexp.MustCompile(`name="mfa_token" value="([^"]+)"`)

// aal1WithTOTP signs email up, starts a browser session at aal1 (a
// password), then turns an authenticator on, as an account does that
// added its second factor after signing in. It returns the session's
// cookie and id and the app's secret.
func aal1WithTOTP(t *testing.T, e *env, email string) (cookie, id, secret string) {
	t.Helper()
	e.signUp(t, email)
	cookie, id = e.session(t, &auth.User{Email: email}, "step-up test")
	p, err := e.G.Auth().CookiePrincipal(t.Context(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	return cookie, id, turnOnTOTP(t, e, p)
}

// checkAAL answers X-Auth-AAL of GET /v1/check with a session cookie, or
// the status when it is not 200.
func (e *env) checkAAL(t testing.TB, cookie string) string {
	t.Helper()
	r := e.Do(t, http.MethodGet, "/v1/check", nil, gatehousetest.Header("Accept", "application/json"), e.Cookie(cookie))
	if r.Status != http.StatusOK {
		return http.StatusText(r.Status)
	}
	return r.Header.Get("X-Auth-AAL")
}

// TestStepUpPage: a browser at aal1 opens the step-up page (where the
// check sends it), enters its authenticator's code, and goes back to the
// app with the same session at aal2 under a new cookie.
func TestStepUpPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cookie, id, secret := aal1WithTOTP(t, e, "step.page@example.com")
	b := e.browserWith(cookie)
	const app = appOrigin + "/billing?tab=2"
	page := b.get(t, "/step-up?redirect_to="+url.QueryEscape(app)).want(http.StatusOK).
		contains("Confirm it’s you", `name="step_up" value="1"`, "Continue").lacks("Finish signing in")
	tok := stepUpTokenRE.FindStringSubmatch(page.body)
	if tok == nil {
		t.Fatalf("no mfa_token on the step-up page:\n%s", page.body)
	}
	e.Logs.Secret(tok[1])

	// A wrong code redraws the step-up, not a sign-in's step.
	b.post(t, "/login/mfa", url.Values{"mfa_token": {tok[1]}, "factor": {"totp"}, "code": {"000000"}, "step_up": {"1"}}).
		want(http.StatusUnauthorized).contains("Confirm it’s you")
	b.post(t, "/login/mfa", url.Values{"mfa_token": {tok[1]}, "factor": {"totp"}, "code": {totpCode(t, secret, e.Clock.Now())}, "step_up": {"1"}}).
		redirectsTo(app)
	raised := b.cookie()
	if raised == "" || raised == cookie {
		t.Fatalf("the step-up left the cookie %q; want a new one", raised)
	}
	e.Logs.Secret(raised)
	if got := e.checkAAL(t, raised); got != auth.AAL2 {
		t.Errorf("check with the new cookie: %s; want aal2", got)
	}
	if got := e.checkAAL(t, cookie); got != http.StatusText(http.StatusUnauthorized) {
		t.Errorf("check with the cookie of before the step-up: %s; want Unauthorized", got)
	}
	p, err := e.G.Auth().CookiePrincipal(t.Context(), raised)
	if err != nil || p.Session.ID != id {
		t.Fatalf("session after the step-up: %+v, %v; want the same session %s", p, err, id)
	}
	// At aal2 the page sends the browser straight on.
	b.get(t, "/step-up?redirect_to="+url.QueryEscape(app)).redirectsTo(app)
}

// TestStepUpPageRefusals: signed out, no second factor, and a target
// outside the allowed origins.
func TestStepUpPageRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const app = appOrigin + "/x"
	back := "/step-up?redirect_to=" + url.QueryEscape(app)
	e.browser().get(t, back).redirectsTo("/login?redirect_to=" + url.QueryEscape(back))

	const plain = "no.factor@example.com"
	e.signUp(t, plain)
	c, _ := e.session(t, &auth.User{Email: plain}, "step-up test")
	e.browserWith(c).get(t, back).want(http.StatusForbidden).
		contains("This page needs a second factor", `href="/#mfa"`, `href="`+templateEscape(back)+`"`)

	// The page is never its own target: that would loop.
	aal2, _ := e.session(t, &auth.User{Email: plain}, "step-up test", auth.MethodPassword, auth.MethodTOTP)
	e.browserWith(aal2).get(t, "/step-up?redirect_to="+url.QueryEscape("/step-up?redirect_to=/")).redirectsTo("/")

	cookie, _, secret := aal1WithTOTP(t, e, "evil.target@example.com")
	b := e.browserWith(cookie)
	page := b.get(t, "/step-up?redirect_to="+url.QueryEscape("https://evil.example/steal")).want(http.StatusOK)
	tok := stepUpTokenRE.FindStringSubmatch(page.body)
	if tok == nil {
		t.Fatalf("no mfa_token:\n%s", page.body)
	}
	e.Logs.Secret(tok[1])
	b.post(t, "/login/mfa", url.Values{"mfa_token": {tok[1]}, "factor": {"totp"}, "code": {totpCode(t, secret, e.Clock.Now())}}).
		redirectsTo("/")
	e.Logs.Secret(b.cookie())
}

// templateEscape is how html/template writes a URL in an attribute.
func templateEscape(s string) string {
	return regexp.MustCompile(`&`).ReplaceAllString(s, "&amp;")
}

// TestStepUpPagePasskey: an account whose second factor is a passkey
// steps up with it, as the sign-in's second step would: the same session,
// a new cookie, aal2, back at the app.
func TestStepUpPagePasskey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := passkeytest.New(e.URL)
	u := acctUser(t, e, "pk-step@example.com")
	b, _ := acctBrowser(t, e, u, auth.MethodPassword) // aal1
	b.addPasskey(t, a, passkeytest.Options{})
	before := b.cookie()
	const app = appOrigin + "/vault"
	page := b.get(t, "/step-up?redirect_to="+url.QueryEscape(app)).want(http.StatusOK).
		contains("Confirm it’s you", `id="passkey-mfa"`, "Use it to continue")
	tok := stepUpTokenRE.FindStringSubmatch(page.body)
	if tok == nil {
		t.Fatalf("no mfa_token:\n%s", page.body)
	}
	e.Logs.Secret(tok[1])
	var ans pkAnswer
	b.mfaPasskey(t, a, tok[1]).want(http.StatusOK).answer(&ans)
	if ans.Redirect != app {
		t.Fatalf("after the passkey: %+v; want to go to %s", ans, app)
	}
	after := b.cookie()
	e.Logs.Secret(after)
	if after == before || e.checkAAL(t, after) != auth.AAL2 || e.checkAAL(t, before) != http.StatusText(http.StatusUnauthorized) {
		t.Errorf("cookie before %q (check %s), after %q (check %s); want a new cookie at aal2 and the old one refused",
			before, e.checkAAL(t, before), after, e.checkAAL(t, after))
	}
	p, err := e.G.Auth().CookiePrincipal(t.Context(), after)
	if err != nil || p.Session.AAL != auth.AAL2 || p.Session.AMR[len(p.Session.AMR)-1] != auth.MethodWebAuthn {
		t.Fatalf("session after the passkey step-up: %+v, %v", p, err)
	}
}
