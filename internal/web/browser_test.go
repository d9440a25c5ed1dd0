package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/auth"
)

// TestBrowserAssetsLoad: under the strict Content-Security-Policy the
// stylesheet, htmx and app.js still load (an inline script or style would
// be refused silently, and the pages would lose their enhancements).
func TestBrowserAssetsLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := newTab(t)
	step(t, ctx, "open", chromedp.Navigate(e.URL+"/nothing"), chromedp.WaitVisible(chromedp.CSS("h1")))
	h := value(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1")))
	if h != "Page not found" {
		t.Fatalf("h1 %q", h)
	}
	screenshot(t, ctx, "not-found")
	ok := value(t, ctx, "assets", chromedp.Evaluate[bool](`typeof htmx === "object" && document.documentElement.classList.contains("js") &&
		getComputedStyle(document.querySelector(".card")).borderTopStyle === "solid"`))
	if !ok {
		t.Fatal("htmx, app.js or the stylesheet did not load")
	}
}

// browserSignIn signs the tab in with an emailed code, through the pages,
// and answers once the account page shows.
func browserSignIn(t *testing.T, ctx context.Context, e *env, email string, n int) {
	t.Helper()
	step(t, ctx, "open /login",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button:not(.secondary)`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	code, _ := e.mailCode(t, email, n)
	step(t, ctx, "enter the code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	if loc := location(t, ctx); loc != e.URL+"/" {
		t.Fatalf("signed in at %s, want %s/", loc, e.URL)
	}
}

// TestBrowserEmailCode: sign in by a code read from the SMTP server; the
// code step arrives by an htmx swap, with the focus on the code field.
func TestBrowserEmailCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := newTab(t)
	const email = "ada@example.com"
	step(t, ctx, "open /login", chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#address")))
	screenshot(t, ctx, "login")
	step(t, ctx, "ask for a code",
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button:not(.secondary)`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if loc := location(t, ctx); loc != e.URL+"/login" {
		t.Errorf("the code step loaded a new page (%s): it should swap in place", loc)
	}
	// app.js moves the focus once htmx has settled the swap, a moment after
	// the field shows: wait for it.
	if focused := waitFocus(t, ctx, "code"); focused != "code" {
		t.Errorf("focus on %q after the swap, want the code field", focused)
	}
	screenshot(t, ctx, "login-code")
	code, _ := e.mailCode(t, email, 1)
	step(t, ctx, "a wrong code first",
		chromedp.SendKeys(chromedp.CSS("#code"), wrongCode(code)),
		chromedp.Click(chromedp.CSS(`form[action="/login/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code-error")),
	)
	screenshot(t, ctx, "login-code-wrong")
	value(t, ctx, "clear the field", chromedp.Evaluate[bool](`(document.querySelector("#code").value = "", true)`))
	step(t, ctx, "the right code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	if loc := location(t, ctx); loc != e.URL+"/" {
		t.Fatalf("signed in at %s", loc)
	}
	screenshot(t, ctx, "account")
}

// wrongCode answers a code of the same length that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestBrowserMagicLink: the emailed link opens the confirm page; its
// button signs in and lands on the account page.
func TestBrowserMagicLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := newTab(t)
	const email = "grace@example.com"
	step(t, ctx, "ask for a link",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.Click(chromedp.CSS(`button[formaction="/login/link"]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	_, link := e.mailCode(t, email, 1)
	if link == "" {
		t.Fatal("the email has no link")
	}
	step(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form button[type=submit]")))
	screenshot(t, ctx, "magic-link")
	step(t, ctx, "press the button",
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	if loc := location(t, ctx); loc != e.URL+"/" {
		t.Fatalf("after the link: %s", loc)
	}
}

// TestBrowserEmailNotMe: someone signed up with another person's address
// and stays signed in; the address's owner opens the emailed link and
// presses "This was not me" (its form needs no password, though the
// page's other form asks for one): the owner lands signed in on the
// account page, which says the account is theirs now, and the other
// person's session has ended.
func TestBrowserEmailNotMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "owner@example.com"
	attacker := webSignUp(t, e, email, "someone else's passphrase")
	_, link := e.confirmMail(t, email, 1)
	ctx := newTab(t)
	step(t, ctx, "open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`input[name="not_me"] ~ .actions button`)),
	)
	if text := value(t, ctx, "page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, email) {
		t.Errorf("the link's page does not name the address:\n%s", text)
	}
	screenshot(t, ctx, "email-link")
	step(t, ctx, "this was not me",
		chromedp.Click(chromedp.CSS(`input[name="not_me"] ~ .actions button`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	screenshot(t, ctx, "email-claimed")
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.URL+"/?done=claimed") {
		t.Errorf("after the claim: %s", loc)
	}
	if text := value(t, ctx, "profile", chromedp.Text(chromedp.CSS("#profile"))); !strings.Contains(text, "this account is now yours") || !strings.Contains(text, "Verified") {
		t.Errorf("the account page after the claim:\n%s", text)
	}
	attacker.get(t, "/").redirectsTo("/login?redirect_to=%2F")
}

// totpUser makes an account with a password, its email proven (the
// sign-up's message is message 1 to email) and an authenticator app on,
// through the flows, and answers the app's secret. (An email never proven
// would be claimed, factors and all, by the first code or link sent to it.)
func totpUser(t *testing.T, e *env, email string) string {
	t.Helper()
	ctx := context.Background()
	a := e.G.Auth()
	u, err := a.SignUp(ctx, auth.SignUpInput{Email: email, Password: testPassword, SendCode: true})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := a.SignInPassword(ctx, auth.Identity{Email: u.Email}, testPassword, auth.Client{UserAgent: "setup"})
	p := setupSession(t, e, proof, err)
	code, _ := e.confirmMail(t, email, 1)
	if _, err := a.ProveEmail(ctx, p, auth.EmailProof{Code: code}); err != nil {
		t.Fatal(err)
	}
	return turnOnTOTP(t, e, p)
}

// setupSession finishes a sign-in that proof proved (err: its flow's
// error, which fails the test) in a cookie session made for a test's set-up
// and returns its principal.
func setupSession(t *testing.T, e *env, proof *auth.Proof, err error) *auth.Principal {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	a := e.G.Auth()
	signedIn, err := a.Finish(context.Background(), proof, auth.Client{UserAgent: "setup"}, auth.Cookie(""))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.CookiePrincipal(context.Background(), signedIn.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// turnOnTOTP turns an authenticator on for p's account and returns its
// secret.
func turnOnTOTP(t *testing.T, e *env, p *auth.Principal) string {
	t.Helper()
	a := e.G.Auth()
	en, err := a.EnrollTOTP(t.Context(), p, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ConfirmTOTP(t.Context(), p, totpCode(t, en.Secret, e.Clock.Now()), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second) // the confirming code's step is spent
	return en.Secret
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestBrowserPasswordAndTOTP: password first, then the authenticator app
// on the second-factor step, then the account page (aal2).
func TestBrowserPasswordAndTOTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "linus@example.com"
	secret := totpUser(t, e, email)
	ctx := newTab(t)
	step(t, ctx, "password",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.Click(chromedp.CSS(`a[href^="/login/password"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	screenshot(t, ctx, "login-password")
	step(t, ctx, "sign in with the password",
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login/password"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	screenshot(t, ctx, "second-factor")
	step(t, ctx, "the authenticator's code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/login/mfa"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	text := value(t, ctx, "factor status", chromedp.Text(chromedp.CSS("#mfa")))
	if !strings.Contains(text, "On") {
		t.Errorf("the account page does not show the authenticator on:\n%s", text)
	}
}

// TestBrowserTOTPSetup: set up an authenticator from the account page: the
// QR code and key show, a code confirms, and the backup codes show once.
func TestBrowserTOTPSetup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := newTab(t)
	browserSignIn(t, ctx, e, "mary@example.com", 1)
	step(t, ctx, "start the set-up",
		chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
	)
	screenshot(t, ctx, "totp-setup")
	secret := strings.ReplaceAll(value(t, ctx, "key", chromedp.Text(chromedp.CSS("#totp-secret"))), " ", "")
	step(t, ctx, "confirm with a code",
		chromedp.SendKeys(chromedp.CSS("#totp-code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#backup-codes")),
	)
	screenshot(t, ctx, "backup-codes")
	codes := strings.Fields(value(t, ctx, "backup codes", chromedp.Text(chromedp.CSS("#backup-codes"))))
	if len(codes) != 10 {
		t.Fatalf("backup codes %q, want 10", codes)
	}
	step(t, ctx, "reload", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#mfa")))
	if html := value(t, ctx, "page", chromedp.OuterHTML(chromedp.CSS("body"))); strings.Contains(html, codes[0]) || strings.Contains(html, secret) {
		t.Error("the account page shows a backup code or the key again")
	}
}

// TestBrowserRevokeSession: another device's session is revoked from the
// account page; its cookie stops working at /v1/check at once.
func TestBrowserRevokeSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "rosalind@example.com"
	ctx := newTab(t)
	browserSignIn(t, ctx, e, email, 1)
	other, _ := e.Session(t, email, auth.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"}, auth.MethodOTP)
	if got := e.checkStatus(t, other); got != http.StatusOK {
		t.Fatalf("/v1/check with the cookie: %d, want %d", got, http.StatusOK)
	}
	step(t, ctx, "reload", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/revoke"] button`)))
	screenshot(t, ctx, "sessions")
	step(t, ctx, "revoke the phone's session",
		chromedp.Click(chromedp.CSS(`form[action$="/revoke"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/revoke"]`)),
	)
	if got := e.checkStatus(t, other); got != http.StatusUnauthorized {
		t.Fatalf("/v1/check with the cookie: %d, want %d", got, http.StatusUnauthorized)
	}
}

// TestBrowserAdminDisables: an admin finds a user on /admin, opens them and
// disables the account; the user's session stops passing /v1/check.
func TestBrowserAdminDisables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	a := e.G.Auth()
	boss, err := a.SignUp(ctx, auth.SignUpInput{Email: "boss@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdminUpdateUser(ctx, boss.ID, auth.AdminUpdate{Admin: new(true)}); err != nil {
		t.Fatal(err)
	}
	victim, err := a.SignUp(ctx, auth.SignUpInput{Email: "mallory@example.com", Name: "Mallory"})
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.Session(t, victim.Email, auth.Client{UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0"}, auth.MethodOTP)
	if got := e.checkStatus(t, cookie); got != http.StatusOK {
		t.Fatalf("/v1/check with the cookie: %d, want %d", got, http.StatusOK)
	}

	tab := newTab(t)
	browserSignIn(t, tab, e, "boss@example.com", 1)
	step(t, tab, "the header links to /admin", chromedp.Click(chromedp.CSS(`header a[href="/admin"]`)), chromedp.WaitVisible(chromedp.CSS("#query")))
	screenshot(t, tab, "admin")
	step(t, tab, "search",
		chromedp.SendKeys(chromedp.CSS("#query"), "mallory"),
		chromedp.Submit(chromedp.CSS("#query")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/users/`+victim.ID+`"]`)),
	)
	step(t, tab, "open the user",
		chromedp.Click(chromedp.CSS(`a[href="/admin/users/`+victim.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/disable"] button`)),
	)
	screenshot(t, tab, "admin-user")
	// The button asks for confirmation (window.confirm through hx-confirm):
	// answer yes, and keep the question to check it was asked.
	value(t, tab, "answer confirmations", chromedp.Evaluate[bool](`(window.asked = [], window.confirm = m => (window.asked.push(m), true), true)`))
	step(t, tab, "disable",
		chromedp.Click(chromedp.CSS(`form[action$="/disable"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/enable"] button`)),
	)
	waitLocation(t, tab, "still on the user's page", func(l string) bool { return strings.Contains(l, "/admin/users/"+victim.ID) })
	if asked := value(t, tab, "confirmation", chromedp.Evaluate[[]string](`window.asked`)); len(asked) != 1 {
		t.Errorf("confirmations asked: %q, want one", asked)
	}
	screenshot(t, tab, "admin-user-disabled")
	if got := e.checkStatus(t, cookie); got != http.StatusUnauthorized {
		t.Fatalf("/v1/check with the cookie: %d, want %d", got, http.StatusUnauthorized)
	}
}

// TestBrowserOnAPhone: every page for signed-out visitors fits a phone's
// width without sideways scrolling, and each is saved as a screenshot.
func TestBrowserOnAPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tab := newTab(t)
	step(t, tab, "phone-sized viewport", chromedp.EmulateViewport(390, 844))
	for _, page := range []struct{ path, name, wait string }{
		{"/login", "phone-login", "#address"},
		{"/login/password", "phone-login-password", "#password"},
		{"/signup", "phone-signup", "form"},
		{"/recover", "phone-recover", "form"},
	} {
		step(t, tab, "open "+page.path, chromedp.Navigate(e.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait)))
		if fits := value(t, tab, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
			t.Errorf("%s scrolls sideways on a phone", page.path)
		}
		screenshot(t, tab, page.name)
	}
	browserSignIn(t, tab, e, "pat@example.com", 1)
	if fits := value(t, tab, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
		t.Error("the account page scrolls sideways on a phone")
	}
	screenshot(t, tab, "phone-account")
}

// TestBrowserProviderSignIn: the "Continue with" button on /login goes
// through the provider (its fake, which consents at once) and back to the
// account page, signed in, with the provider listed among the sign-in
// methods.
func TestBrowserProviderSignIn(t *testing.T) {
	t.Parallel()
	e, _ := oauthEnv(t, ada, nil, true)
	ctx := newTab(t)
	step(t, ctx, "the button",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
	)
	screenshot(t, ctx, "login-providers")
	step(t, ctx, "through the provider",
		chromedp.Click(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
		chromedp.WaitVisible(chromedp.CSS("#identities")),
	)
	text := value(t, ctx, "sign-in methods", chromedp.Text(chromedp.CSS("#identities")))
	if !strings.Contains(text, "Acme") || !strings.Contains(text, ada.Email) {
		t.Errorf("the Sign-in methods card does not list the provider:\n%s", text)
	}
}
