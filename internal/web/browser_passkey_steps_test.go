package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// The passkey sign-up of /signup and the passkey at the second-factor step,
// in Chromium with the virtual authenticator of browser_passkey_test.go.

// TestBrowserPasskeySignUp: "Create an account with a passkey" on /signup
// first shows the refusal of a taken email in the page's error area, then
// creates the account for a new one: signed in on the account page, which
// lists the passkey and says the email is not confirmed yet. Signed out,
// "Sign in with a passkey" signs in again.
func TestBrowserPasskeySignUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const taken, email = "pk-su-taken@example.com", "pk-su-browser@example.com"
	e.signUp(t, taken)
	ctx := newTab(t)
	va := virtualAuthenticator(t, ctx)

	step(t, ctx, "the sign-up page with a taken email",
		chromedp.Navigate(e.URL+"/signup"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signup")),
		chromedp.SendKeys(chromedp.CSS("#address"), taken),
		chromedp.Click(chromedp.CSS("#passkey-signup")),
	)
	waitText(t, ctx, "the error area", "[data-passkey-error]", "An account with this email already exists.")
	screenshot(t, ctx, "passkey-signup-taken")
	value(t, ctx, "clear the address", chromedp.Evaluate[bool](`(document.querySelector("#address").value = "", true)`))
	step(t, ctx, "sign up with a passkey",
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.Click(chromedp.CSS("#passkey-signup")),
	)
	waitLocation(t, ctx, "signed up", func(l string) bool { return l == e.URL+"/" })
	step(t, ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("#passkeys")))
	waitText(t, ctx, "the passkeys card", "#passkeys", "not used yet")
	waitText(t, ctx, "the profile", "main", "Your email address is not confirmed yet")
	waitText(t, ctx, "the profile", "main", "Not verified")
	screenshot(t, ctx, "passkey-signup-account")
	if n := value(t, ctx, "passkeys", chromedp.Evaluate[int](`document.querySelectorAll("#passkeys li").length`)); n != 1 {
		t.Fatalf("%d passkeys listed after the sign-up, want 1", n)
	}
	if creds := authenticatorCredentials(t, ctx, va); len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials, want 1 discoverable", len(creds))
	}

	noConditionalMediation(t, ctx)
	signOut(t, ctx, e)
	step(t, ctx, "sign in with the passkey button", chromedp.WaitVisible(chromedp.CSS("#passkey-signin")), chromedp.Click(chromedp.CSS("#passkey-signin")))
	waitLocation(t, ctx, "signed in", func(l string) bool { return l == e.URL+"/" })
	waitText(t, ctx, "the account page", "#passkeys", "last used")
}

// TestBrowserPasskeySecondStep: an account with a password and a passkey
// signs in with the password and stops at the second step, which offers
// "Use your passkey"; a passkey that signs wrongly is refused with a
// message in the page, the step still there, and the passkey then
// finishes the sign-in: the account page, its session with two steps.
func TestBrowserPasskeySecondStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-mfa-browser@example.com"
	u := acctUser(t, e, email)
	cookie, _ := e.session(t, u, chromeMac, auth.MethodPassword)
	ctx, va := passkeyAddedTab(t, e, "", cookie)

	// The sign-in page's autofill would sign in with the passkey at once.
	noConditionalMediation(t, ctx)
	signOut(t, ctx, e)
	passwordSignIn(t, ctx, e.URL, email, "#passkey-mfa")
	waitText(t, ctx, "the second step", "main", "One more step")
	screenshot(t, ctx, "passkey-second-step")

	bogusSignatures(t, ctx, va, true)
	step(t, ctx, "a wrong passkey", chromedp.Click(chromedp.CSS("#passkey-mfa")))
	waitText(t, ctx, "the error area", "[data-passkey-error]", "The passkey sign-in failed or has expired; try again.")
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.URL+"/login") {
		t.Fatalf("after a wrong passkey the page is %s", loc)
	}
	bogusSignatures(t, ctx, va, false)
	step(t, ctx, "the passkey", chromedp.Click(chromedp.CSS("#passkey-mfa")))
	waitLocation(t, ctx, "signed in", func(l string) bool { return l == e.URL+"/" })
	step(t, ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("#sessions")))
	waitText(t, ctx, "this session", `#sessions tr[aria-current="true"]`, "with two steps")
}

// TestBrowserPasskeyStepsNoScript: with JavaScript off, /signup shows no
// passkey button and signs up with a password as before, and the second
// step of an account with an authenticator app and a passkey shows the
// code form only.
func TestBrowserPasskeyStepsNoScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	noScriptTab := func() context.Context {
		ctx := newTab(t)
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if _, err := chromedp.Call(sctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		return ctx
	}
	ctx := noScriptTab()
	step(t, ctx, "sign up with a password",
		chromedp.Navigate(e.URL+"/signup"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.WaitNotVisible(chromedp.CSS("#passkey-signup")),
		chromedp.SendKeys(chromedp.CSS("#address"), "pk-su-noscript@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#passkeys")),
	)

	const both = "pk-mfa-noscript@example.com"
	e.signUp(t, both)
	signinEnrolTOTP(t, e, signinToken(t, e, both, testPassword))
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), both)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := acctBrowser(t, e, u, auth.MethodPassword, auth.MethodTOTP)
	ab.addPasskey(t, passkeytest.New(e.URL), passkeytest.Options{})
	ctx = noScriptTab()
	step(t, ctx, "the second step",
		chromedp.Navigate(e.URL+"/login/password"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#address"), both),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login/password"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.WaitNotVisible(chromedp.CSS("#passkey-mfa")),
	)
	screenshot(t, ctx, "passkey-second-step-noscript")
}

// TestBrowserPasskeyOrCode: an account with a passkey and an authenticator
// app gets one choice at a time at the second step: the passkey alone,
// the code form hidden until "Use a code instead", which shows it (and
// hides the passkey); the code then finishes the sign-in, and the next
// sign-in on this browser starts with the code form, the passkey under
// "Use another way"; after the passkey, the passkey comes first again.
func TestBrowserPasskeyOrCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-or-code@example.com"
	secret := totpUser(t, e, email)
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.session(t, u, chromeMac, auth.MethodPassword, auth.MethodTOTP)
	ctx, _ := passkeyAddedTab(t, e, "", cookie)
	noConditionalMediation(t, ctx)

	// signInAgain signs out and in with the password, to the second step.
	signInAgain := func() {
		t.Helper()
		signOut(t, ctx, e)
		passwordSignIn(t, ctx, e.URL, email, "#passkey-mfa, #code")
	}
	visible := func(sel string) bool {
		t.Helper()
		return value(t, ctx, sel, chromedp.Evaluate[bool](`(function(){var el=document.querySelector(`+"`"+sel+"`"+`);return !!el && el.checkVisibility()})()`))
	}

	signInAgain() // the first sign-in
	if !visible("#passkey-mfa") || visible("#code") {
		t.Fatalf("the step shows passkey %v, code %v; want the passkey alone", visible("#passkey-mfa"), visible("#code"))
	}
	screenshot(t, ctx, "passkey-or-code")
	step(t, ctx, "use a code instead",
		chromedp.Click(chromedp.CSS("[data-passkey-instead]")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if visible("#passkey-mfa") {
		t.Error("the passkey still shows beside the code form")
	}
	e.Clock.Advance(30 * time.Second)
	step(t, ctx, "the authenticator's code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/login/mfa"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#sessions")),
	)

	signInAgain() // the next sign-in
	if !visible("#code") || visible("#passkey-mfa") {
		t.Fatalf("after a code: code %v, passkey %v; want the code form first", visible("#code"), visible("#passkey-mfa"))
	}
	step(t, ctx, "the passkey under another way",
		chromedp.Click(chromedp.CSS("details.other-ways summary")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-mfa")),
		chromedp.Click(chromedp.CSS("#passkey-mfa")),
	)
	waitLocation(t, ctx, "signed in", func(l string) bool { return l == e.URL+"/" })

	// The passkey was used last: it comes first again.
	signInAgain() // after the passkey
	if !visible("#passkey-mfa") || visible("#code") {
		t.Errorf("after the passkey: passkey %v, code %v; want the passkey alone", visible("#passkey-mfa"), visible("#code"))
	}
}
