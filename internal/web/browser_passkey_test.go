package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/auth"
)

// Passkeys in Chromium, with the DevTools protocol's virtual authenticator
// standing in for the device's: a platform authenticator (internal
// transport, CTAP2) that keeps discoverable credentials and verifies the
// user, and answers at once (AutomaticPresenceSimulation, set explicitly:
// chromedp's protocol types would otherwise send false).

// virtualAuthenticator turns the tab's WebAuthn over to a new virtual
// platform authenticator and answers its id.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(sctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(sctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// passkeyAddedTab opens a tab signed in with the session cookie, with a
// virtual authenticator, and adds a passkey on the account page of the
// server mounted under base ("" at the root); it answers the tab and the
// authenticator.
func passkeyAddedTab(t *testing.T, e *env, base, cookie string) (context.Context, webauthn.AuthenticatorID) {
	t.Helper()
	ctx := newTab(t)
	va := virtualAuthenticator(t, ctx)
	setSessionCookie(t, ctx, e, cookie)
	step(t, ctx, "the account page", chromedp.Navigate(e.URL+base+"/"), chromedp.WaitVisible(chromedp.CSS("#passkey-add")))
	step(t, ctx, "add a passkey", chromedp.Click(chromedp.CSS("#passkey-add")))
	waitText(t, ctx, "added", "#passkeys", "Your passkey was added.")
	return ctx, va
}

// authenticatorCredentials answers the credentials the virtual
// authenticator holds.
func authenticatorCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Call(sctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// bogusSignatures makes the virtual authenticator sign with a zero
// signature (on), or sign properly again (off).
func bogusSignatures(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID, on bool) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(sctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: id, IsBogusSignature: &on}); err != nil {
		t.Fatalf("WebAuthn.setResponseOverrideBits: %v", err)
	}
}

// setSessionCookie gives the tab the session cookie, as a sign-in would.
func setSessionCookie(t *testing.T, ctx context.Context, e *env, cookie string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	httpOnly := true
	if _, err := chromedp.Call(sctx, network.SetCookie, network.SetCookieParams{
		Name: e.Config.SessionCookieName, Value: cookie, URL: e.URL + "/", Path: "/", HTTPOnly: &httpOnly,
	}); err != nil {
		t.Fatalf("Network.setCookie: %v", err)
	}
}

// waitText waits until the element at sel shows text.
func waitText(t *testing.T, ctx context.Context, what, sel, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := value(t, ctx, what, chromedp.Evaluate[string](`(function(){var el=document.querySelector(`+jsString(sel)+`);return el?el.innerText:""})()`))
		if strings.Contains(got, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q does not show %q (it shows %q)\npage: %s", what, sel, text, got, pageText(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal (for the selectors of
// these tests, which hold no backslash).
func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// signOut presses the header's Sign out and waits for the sign-in page.
func signOut(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	waitLocation(t, ctx, "signed out", func(l string) bool { return strings.HasPrefix(l, e.URL+"/login") })
	step(t, ctx, "the sign-in page", chromedp.WaitVisible(chromedp.CSS("#address")))
}

// noConditionalMediation makes the tab a browser without passkeys in its
// autofill (isConditionalMediationAvailable answers false) from its next
// page on. Chromium's virtual authenticator answers a conditional request
// at once, without waiting for a choice in the autofill, so the sign-in
// button can only be tested where no such request runs.
func noConditionalMediation(t *testing.T, ctx context.Context) cdppage.ScriptIdentifier {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Call(sctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`,
	})
	if err != nil {
		t.Fatalf("Page.addScriptToEvaluateOnNewDocument: %v", err)
	}
	return res.Identifier
}

// signOutAutofill presses the header's Sign out where the passkey, never
// used yet, is the only one the virtual authenticator holds: the sign-in
// page's autofill request is answered at once (too fast to see the page)
// and signs in again, so the account page is back, the passkey now "last
// used" — with no click.
func signOutAutofill(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	waitText(t, ctx, "never used", "#passkeys", "not used yet")
	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	waitText(t, ctx, "signed in through the autofill", "#passkeys", "last used")
	if loc := location(t, ctx); loc != e.URL+"/" {
		t.Fatalf("signed in through the autofill at %s", loc)
	}
}

// TestBrowserPasskey: the whole passkey life in Chromium. A password
// sign-in lands on the account page, which offers a passkey once; the
// card's button adds one (with the browser's own JSON methods: the
// @simplewebauthn/browser fallback is not loaded), and the card lists it;
// a second add on the same device is refused with a message. Signed out,
// the sign-in page's autofill request (conditional mediation) signs in
// with no click. Signed out again, in a browser without conditional
// mediation, "Sign in with a passkey" (usernameless) is refused with a
// message in the page's error area for a bogus signature, then signs in.
// Then rename, and remove after the confirmation.
func TestBrowserPasskey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-browser@example.com"
	acctUser(t, e, email)
	ctx := newTab(t)
	va := virtualAuthenticator(t, ctx)

	step(t, ctx, "sign in with the password",
		chromedp.Navigate(e.URL+"/login/password"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login/password"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#passkeys")),
	)
	// The offer shows (the script found the browser can make passkeys)
	// and is recorded, so the next visit has none.
	step(t, ctx, "the passkey offer",
		chromedp.WaitVisible(chromedp.CSS("#passkey-offer")),
		chromedp.WaitReady(chromedp.CSS("#passkey-offer[data-passkey-offer-recorded]")),
	)
	screenshot(t, ctx, "passkey-offer")
	step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#passkeys")))
	if n := value(t, ctx, "offers", chromedp.Evaluate[int](`document.querySelectorAll("#passkey-offer").length`)); n != 0 {
		t.Fatal("the passkey offer shows again after a reload")
	}

	step(t, ctx, "add a passkey", chromedp.Click(chromedp.CSS("#passkey-add")))
	waitLocation(t, ctx, "after adding", func(l string) bool { return strings.Contains(l, "done=passkey_added") })
	waitText(t, ctx, "the passkeys card", "#passkeys", "Your passkey was added.")
	waitText(t, ctx, "the passkeys card", "#passkeys", "This device only")
	screenshot(t, ctx, "passkeys-card")
	creds := authenticatorCredentials(t, ctx, va)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials, want 1 discoverable", len(creds))
	}
	if value(t, ctx, "fallback", chromedp.Evaluate[bool](`typeof SimpleWebAuthnBrowser !== "undefined"`)) {
		t.Error("the @simplewebauthn/browser fallback was loaded in a browser with PublicKeyCredential's JSON methods")
	}

	// The autofill: the sign-in page starts a conditional request as it
	// opens, and the virtual authenticator answers it with the passkey,
	// as choosing it in the autofill list would: signed in, no click.
	signOutAutofill(t, ctx, e)

	// The button, where no autofill request runs.
	noConditionalMediation(t, ctx)
	signOut(t, ctx, e)
	if state := value(t, ctx, "autofill", chromedp.Evaluate[string](`document.documentElement.getAttribute("data-passkey-autofill-state") || ""`)); state != "" {
		t.Fatalf("an autofill request ran (%s) where the browser has none", state)
	}
	bogusSignatures(t, ctx, va, true)
	step(t, ctx, "sign in with a bad signature", chromedp.WaitVisible(chromedp.CSS("#passkey-signin")), chromedp.Click(chromedp.CSS("#passkey-signin")))
	waitText(t, ctx, "the sign-in page's error area", "[data-passkey-error]", "The passkey sign-in failed or has expired; try again.")
	screenshot(t, ctx, "passkey-signin-error")
	bogusSignatures(t, ctx, va, false)
	step(t, ctx, "sign in with the passkey button", chromedp.Click(chromedp.CSS("#passkey-signin")))
	waitLocation(t, ctx, "signed in by the button", func(l string) bool { return l == e.URL+"/" })
	step(t, ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("#passkeys")))
	// The same device again, from this passkey session (the passkey is
	// a second factor now, so the password session of before could not
	// add another): the options exclude its passkey.
	step(t, ctx, "add it again", chromedp.Click(chromedp.CSS("#passkey-add")))
	waitText(t, ctx, "the error area", "#passkeys [data-passkey-error]", "This device already has a passkey for your account.")

	id := value(t, ctx, "the passkey's id", chromedp.Evaluate[string](`document.querySelector("#passkeys li").id.slice("passkey-".length)`))
	value(t, ctx, "clear the name", chromedp.Evaluate[bool](`(document.querySelector("#passkey-name-`+id+`").value = "", true)`))
	step(t, ctx, "rename",
		chromedp.SendKeys(chromedp.CSS("#passkey-name-"+id), "Work laptop"),
		chromedp.Click(chromedp.CSS(`form[action="/account/passkeys/`+id+`/rename"] button`)),
	)
	waitText(t, ctx, "renamed", "#passkeys", "The passkey was renamed.")
	waitText(t, ctx, "renamed", "#passkeys .passkey-name", "Work laptop")
	step(t, ctx, "remove", chromedp.Click(chromedp.CSS(`form[action="/account/passkeys/`+id+`/remove"] button`)))
	waitText(t, ctx, "the confirmation", "#passkeys", "Remove “Work laptop”?")
	screenshot(t, ctx, "passkey-remove-confirm")
	step(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`form.confirm button[type=submit]`)))
	waitText(t, ctx, "removed", "#passkeys", "The passkey was removed.")
	waitText(t, ctx, "removed", "#passkeys", "You have no passkeys yet.")
}

// TestBrowserPasskeyLastWayIn: an account with no password and no proven
// email or phone adds a passkey; removing it, confirmed, is refused (409)
// and the passkeys card says why, in words, the passkey still listed.
func TestBrowserPasskeyLastWayIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-lone-browser@example.com"
	e.SignUp(t, email, "")
	cookie, _ := e.Session(t, email, auth.Client{UserAgent: "setup"}, auth.MethodWebAuthn)
	ctx, _ := passkeyAddedTab(t, e, "", cookie)
	step(t, ctx, "remove", chromedp.Click(chromedp.CSS(`#passkeys form[action$="/remove"] button`)))
	step(t, ctx, "confirm", chromedp.WaitVisible(chromedp.CSS(`form.confirm button[type=submit]`)), chromedp.Click(chromedp.CSS(`form.confirm button[type=submit]`)))
	waitText(t, ctx, "refused", "#passkeys", "This passkey is the only way to sign in to this account; add a password or another passkey first.")
	screenshot(t, ctx, "passkey-last-way-in")
	if n := value(t, ctx, "passkeys", chromedp.Evaluate[int](`document.querySelectorAll("#passkeys li").length`)); n != 1 {
		t.Fatalf("%d passkeys listed after the refusal, want 1", n)
	}
}

// TestBrowserPasskeyFallback: in a browser without PublicKeyCredential's
// JSON methods (removed here before the page's scripts run), passkey.js
// loads the vendored @simplewebauthn/browser and does the same with it:
// add a passkey, and sign in through the autofill.
func TestBrowserPasskeyFallback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-fallback@example.com"
	u := acctUser(t, e, email)
	cookie, _ := e.session(t, u, chromeMac)
	ctx := newTab(t)
	virtualAuthenticator(t, ctx)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(sctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete PublicKeyCredential.parseCreationOptionsFromJSON; delete PublicKeyCredential.parseRequestOptionsFromJSON;`,
	}); err != nil {
		t.Fatal(err)
	}
	setSessionCookie(t, ctx, e, cookie)
	step(t, ctx, "the account page", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#passkey-add")))
	if value(t, ctx, "native", chromedp.Evaluate[bool](`typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" || typeof SimpleWebAuthnBrowser !== "undefined"`)) {
		t.Fatal("the JSON methods are still there, or the fallback was loaded before it was needed")
	}
	step(t, ctx, "add a passkey", chromedp.Click(chromedp.CSS("#passkey-add")))
	waitText(t, ctx, "added", "#passkeys", "Your passkey was added.")
	signOutAutofill(t, ctx, e)
}

// TestBrowserPasskeyNoScript: with JavaScript off, the sign-in page and the
// account page show no passkey control (they need the script), and the
// sign-in forms work as before.
func TestBrowserPasskeyNoScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "pk-noscript@example.com"
	acctUser(t, e, email)
	ctx := newTab(t)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(sctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "sign in with the password",
		chromedp.Navigate(e.URL+"/login/password"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.WaitNotVisible(chromedp.CSS("#passkey-signin")),
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login/password"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#passkeys")),
		chromedp.WaitNotVisible(chromedp.CSS("#passkey-add")),
		chromedp.WaitNotVisible(chromedp.CSS("#passkey-offer")),
	)
	screenshot(t, ctx, "passkeys-noscript")
}
