package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// The passkey sign-up of /signup and the passkey at the second-factor
// step, over HTTP with passkeytest's software authenticator: the pages'
// markup, the flows, and the attacks on their JSON endpoints. The
// Chromium tests (browser_passkey_steps_test.go) drive the same pages.

// signupPasskey creates the account of email with a new passkey of a
// through /signup's endpoints, posting redirectTo, and answers the
// finish's answer.
func (b *browser) signupPasskey(t testing.TB, a *passkeytest.Authenticator, email, redirectTo string) *page {
	t.Helper()
	c := b.begin(t, "/signup/passkey/begin", map[string]any{"email": email})
	cred, _, err := a.Register(c.PublicKey, 0, passkeytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b.postJSON(t, "/signup/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred), "redirect_to": redirectTo})
}

// TestPasskeySignUpPage: /signup offers a passkey (hidden until the script
// shows it) only where passkeys work and sign-up without a password is on;
// the passkey creates the account and signs it in at aal2, the email not
// yet proven (the account page says so, and the proof was mailed), the
// passkey listed.
func TestPasskeySignUpPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const button = `data-passkey-register="/signup/passkey/begin /signup/passkey/finish"`
	e.browser().get(t, "/signup").want(http.StatusOK).contains(button, `data-passkey-field="email"`, `<div class="passkey-signin" data-passkey-only hidden>`, "Create an account with a passkey")

	const email = "pk-signup@example.com"
	b := e.browser()
	var ans pkAnswer
	b.signupPasskey(t, passkeytest.New(e.URL), email, appOrigin+"/back").want(http.StatusOK).answer(&ans)
	if ans.Redirect != appOrigin+"/back" {
		t.Fatalf("after the passkey sign-up: %+v", ans)
	}
	if st, aal := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK || aal != "aal2" {
		t.Fatalf("check: %d %s", st, aal)
	}
	p := b.get(t, "/").want(http.StatusOK).contains(email, "Your email address is not confirmed yet", "Not verified")
	if ids := p.passkeyIDs(); len(ids) != 1 {
		t.Fatalf("the account page lists %v passkeys", ids)
	}
	e.confirmMail(t, email, 1)

	t.Run("off", func(t *testing.T) {
		t.Parallel()
		off := newEnv(t, func(c *gatehouse.Config) { c.PasswordlessSignup = false })
		off.browser().get(t, "/signup").want(http.StatusOK).contains(`id="password"`).lacks(button, "data-passkey-field")
		off.browser().postJSON(t, "/signup/passkey/begin", map[string]any{"email": "x@example.com"}).refused(http.StatusForbidden, "forbidden")
		noPK := newEnv(t, func(c *gatehouse.Config) { c.PublicURL = "http://127.0.0.1:1" })
		noPK.browser().get(t, "/signup").want(http.StatusOK).lacks(button)
	})
}

// TestPasskeySignUpRefuse: the refusals of the sign-up endpoints, each a
// status and a message for people, never a 5xx, and no account or cookie
// left behind.
func TestPasskeySignUpRefuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const taken = "pk-taken@example.com"
	e.signUp(t, taken)
	a := passkeytest.New(e.URL)
	b := e.browser()

	t.Run("cross-origin posts", func(t *testing.T) {
		for _, path := range []string{"/signup/passkey/begin", "/signup/passkey/finish"} {
			b.postJSON(t, path, map[string]any{"email": "x@example.com"}, crossSite()).want(http.StatusForbidden)
		}
		b.post(t, "/signup/passkey/begin", url.Values{"email": {"x@example.com"}}).want(http.StatusUnsupportedMediaType)
	})
	t.Run("email", func(t *testing.T) {
		if a := b.postJSON(t, "/signup/passkey/begin", map[string]any{"email": taken}).refused(http.StatusConflict, "email_taken"); a.Error != "An account with this email already exists." {
			t.Errorf("taken: %q", a.Error)
		}
		if a := b.postJSON(t, "/signup/passkey/begin", map[string]any{"email": ""}).refused(http.StatusBadRequest, "invalid_request"); a.Error == "The request is not valid." {
			t.Errorf("no email: %q says nothing of the email", a.Error)
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		for _, cred := range []any{"garbage", 42, map[string]any{"id": "AAAA", "type": "public-key"}} {
			c := b.begin(t, "/signup/passkey/begin", map[string]any{"email": "pk-bad@example.com"})
			b.postJSON(t, "/signup/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": cred}).refused(http.StatusBadRequest, "invalid_credential")
		}
		// No user verification: the passkey would be the only way in.
		c := b.begin(t, "/signup/passkey/begin", map[string]any{"email": "pk-bad@example.com"})
		cred, _, err := a.Register(c.PublicKey, 0, passkeytest.Options{NoUV: true})
		if err != nil {
			t.Fatal(err)
		}
		b.postJSON(t, "/signup/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).refused(http.StatusBadRequest, "invalid_credential")
		// A registration made for the account page's challenge.
		u := acctUser(t, e, "pk-su-owner@example.com")
		ob, _ := acctBrowser(t, e, u)
		rc := ob.begin(t, "/account/passkeys/begin", map[string]any{})
		reg, _, err := a.Register(rc.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.postJSON(t, "/signup/passkey/finish", map[string]any{"challenge_id": rc.ChallengeID, "credential": json.RawMessage(reg)}).refused(http.StatusBadRequest, "invalid_credential")
		if b.cookie() != "" {
			t.Fatal("a refused passkey sign-up set a cookie")
		}
		if _, err := e.G.Auth().AdminUserByEmail(context.Background(), "pk-bad@example.com"); err == nil {
			t.Fatal("a refused passkey sign-up stored the account")
		}
	})
}

// mfaPasskeyUser makes an account with a password and a passkey of a (its
// only second factor) and answers its email.
func mfaPasskeyUser(t *testing.T, e *env, email string, a *passkeytest.Authenticator) string {
	t.Helper()
	u := acctUser(t, e, email)
	b, _ := acctBrowser(t, e, u, auth.MethodPassword)
	b.addPasskey(t, a, passkeytest.Options{})
	return email
}

// passwordStep signs b in with email's password and answers the MFA token
// of the second-factor step it stops at.
func passwordStep(t *testing.T, b *browser, email string) string {
	t.Helper()
	p := b.post(t, "/login/password", url.Values{"address": {email}, "password": {testPassword}, "redirect_to": {appOrigin + "/back"}}).want(http.StatusOK)
	p.contains("One more step", `id="passkey-mfa"`, `data-passkey-login="/login/mfa/passkey/begin /login/mfa/passkey/finish"`, `data-passkey-only hidden`)
	return signinHidden(t, p, "mfa_token")
}

// mfaPasskey runs the passkey of a at the second step of tok and answers
// the finish's answer.
func (b *browser) mfaPasskey(t testing.TB, a *passkeytest.Authenticator, tok string) *page {
	t.Helper()
	c := b.begin(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": tok})
	cred, err := a.Login(c.PublicKey, passkeytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": tok, "challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)})
}

// TestPasskeySecondStepPage: an account whose only second factor is a
// passkey stops at the second step after its password; the step offers
// the passkey (and, with no code factor, says without JavaScript that it
// needs it), which finishes the sign-in at aal2 where the sign-in was
// going. An account with an authenticator app too gets both.
func TestPasskeySecondStepPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := passkeytest.New(e.URL)
	email := mfaPasskeyUser(t, e, "pk-mfa@example.com", a)
	b := e.browser()
	tok := passwordStep(t, b, email)
	b.post(t, "/login/password", url.Values{"address": {email}, "password": {testPassword}}).contains("needs JavaScript").lacks(`action="/login/mfa"`)
	var ans pkAnswer
	b.mfaPasskey(t, a, tok).want(http.StatusOK).answer(&ans)
	if ans.Redirect != appOrigin+"/back" {
		t.Fatalf("after the passkey step: %+v", ans)
	}
	if st, aal := signinCheck(t, e, b.cookie(), ""); st != http.StatusOK || aal != "aal2" {
		t.Fatalf("check: %d %s", st, aal)
	}
	// The token is spent.
	b.postJSON(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": tok}).refused(http.StatusUnauthorized, "token_revoked")

	// With an authenticator app as well: one choice at a time. The
	// passkey first (the code form behind "Use a code instead", hidden by
	// the script, shown without it), unless this browser used a code
	// last: then the code form, and the passkey under "Use another way".
	const both = "pk-mfa-totp@example.com"
	e.signUp(t, both)
	signinEnrolTOTP(t, e, signinToken(t, e, both, testPassword))
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), both)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := acctBrowser(t, e, u, auth.MethodPassword, auth.MethodTOTP)
	ab.addPasskey(t, a, passkeytest.Options{})
	nb := e.browser()
	p := nb.post(t, "/login/password", url.Values{"address": {both}, "password": {testPassword}}).want(http.StatusOK)
	p.contains(`id="passkey-mfa"`, `type="hidden" name="factor" value="totp">`, "Use a code instead", "<div data-passkey-not>",
		`data-passkey-first data-passkey-only hidden`).lacks("needs JavaScript")
	p = e.browser().post(t, "/login/password", url.Values{"address": {both}, "password": {testPassword}},
		gatehousetest.WithCookie("gatehouse_mfa_last", "totp")).want(http.StatusOK)
	p.contains(`type="hidden" name="factor" value="totp">`, "<summary>Use another way</summary>",
		`<li data-passkey-only hidden><button type="button" class="link" id="passkey-mfa"`).
		lacks("Use a code instead", "data-passkey-not", "data-passkey-first")
}

// TestPasskeySecondStepRefuse: the attacks on the second step's passkey
// endpoints, each refused with a message and no cookie, never a 5xx.
func TestPasskeySecondStepRefuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := passkeytest.New(e.URL)
	victim := mfaPasskeyUser(t, e, "pk-mfa-victim@example.com", a)
	x := passkeytest.New(e.URL)
	attacker := mfaPasskeyUser(t, e, "pk-mfa-attacker@example.com", x)

	t.Run("cross-origin posts", func(t *testing.T) {
		b := e.browser()
		tok := passwordStep(t, b, victim)
		for _, path := range []string{"/login/mfa/passkey/begin", "/login/mfa/passkey/finish"} {
			b.postJSON(t, path, map[string]any{"mfa_token": tok}, crossSite()).want(http.StatusForbidden)
		}
		b.post(t, "/login/mfa/passkey/begin", url.Values{"mfa_token": {tok}}).want(http.StatusUnsupportedMediaType)
	})
	t.Run("another user's token", func(t *testing.T) {
		// The attacker's own passkey and ceremony, posted with the
		// victim's token: the ceremony is bound to the attacker's token.
		vb, xb := e.browser(), e.browser()
		vtok, xtok := passwordStep(t, vb, victim), passwordStep(t, xb, attacker)
		c := xb.begin(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": xtok})
		cred, err := x.Login(c.PublicKey, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		xb.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": vtok, "challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).
			refused(http.StatusUnauthorized, "invalid_credentials")
		// The victim's ceremony, answered by the attacker's passkey.
		c = xb.begin(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": vtok})
		if _, err := x.Login(c.PublicKey, passkeytest.Options{}); err == nil {
			t.Fatal("the victim's ceremony allows the attacker's passkey")
		}
		if xb.cookie() != "" {
			t.Fatal("another user's token set a cookie")
		}
	})
	t.Run("another sign-in's challenge", func(t *testing.T) {
		// The victim's own passkey, for a ceremony begun for another of
		// the victim's sign-ins (say, one the attacker started with the
		// stolen password, finished by a prompt the victim accepts).
		b1, b2 := e.browser(), e.browser()
		tok1, tok2 := passwordStep(t, b1, victim), passwordStep(t, b2, victim)
		c := b1.begin(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": tok1})
		cred, err := a.Login(c.PublicKey, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b2.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": tok2, "challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).
			refused(http.StatusUnauthorized, "invalid_credentials")
		if b2.cookie() != "" {
			t.Fatal("another sign-in's challenge set a cookie")
		}
	})
	t.Run("a token of the API", func(t *testing.T) {
		var m struct {
			MFAToken string `json:"mfa_token"`
		}
		signinJSON(t, e, "POST", "/v1/token", "", map[string]string{"grant_type": "password", "email": victim, "password": testPassword}, &m)
		if m.MFAToken == "" {
			t.Fatal("the password grant answered no mfa_token")
		}
		e.Logs.Secret(m.MFAToken)
		b := e.browser()
		b.postJSON(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": m.MFAToken}).refused(http.StatusUnauthorized, "token_revoked")
		id, options, err := e.G.Auth().BeginPasskeySecondFactor(context.Background(), m.MFAToken)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := a.Login(options, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": m.MFAToken, "challenge_id": id, "credential": json.RawMessage(cred)}).want(http.StatusUnauthorized)
		if b.cookie() != "" {
			t.Fatal("an API client's MFA token was finished in a cookie")
		}
	})
	t.Run("a sign-in challenge", func(t *testing.T) {
		b := e.browser()
		tok := passwordStep(t, b, victim)
		c := b.begin(t, "/login/passkey/begin", map[string]any{})
		cred, err := a.Login(c.PublicKey, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": tok, "challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).
			refused(http.StatusUnauthorized, "invalid_credentials")
		if b.cookie() != "" {
			t.Fatal("a sign-in challenge finished the second step")
		}
	})
	t.Run("bad credentials, then the lock", func(t *testing.T) {
		b := e.browser()
		tok := passwordStep(t, b, victim)
		b.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": tok, "challenge_id": "x"}).refused(http.StatusBadRequest, "invalid_request")
		var last pkAnswer
		for i := 0; i < 20; i++ {
			c := b.begin(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": tok})
			p := b.postJSON(t, "/login/mfa/passkey/finish", map[string]any{"mfa_token": tok, "challenge_id": c.ChallengeID, "credential": "garbage"})
			if p.status == http.StatusTooManyRequests {
				p.answer(&last)
				break
			}
			p.refused(http.StatusUnauthorized, "invalid_credentials")
		}
		if last.Error != "Too many wrong codes were entered. Start again to sign in." {
			t.Fatalf("the lock: %+v", last)
		}
		b.postJSON(t, "/login/mfa/passkey/begin", map[string]any{"mfa_token": tok}).refused(http.StatusUnauthorized, "token_revoked")
		if b.cookie() != "" {
			t.Fatal("a refused passkey set a cookie")
		}
	})
}

// TestPasskeyTwoStepCard: for an account whose only second factor is a
// passkey, the two-step card says it is on and that the passkey is the
// second step, and offers backup codes, which a passkey session makes.
func TestPasskeyTwoStepCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	b.signupPasskey(t, passkeytest.New(e.URL), "pk-card@example.com", "").want(http.StatusOK)
	b.get(t, "/").want(http.StatusOK).
		contains(`<span class="badge ok">On</span> Signing in asks for a second step`, `id="mfa-passkey"`, `id="mfa-passkey-backup"`, `action="/account/backup-codes"`).
		lacks("Backup codes come with your first second step")
	p := b.post(t, "/account/backup-codes", nil).want(http.StatusOK).contains(`id="backup-codes"`)
	if strings.Count(p.body, "<li>") < 8 {
		t.Fatalf("backup codes:\n%s", p.body)
	}
	b.get(t, "/").want(http.StatusOK).contains(`id="mfa-passkey"`).lacks(`id="mfa-passkey-backup"`)
}
