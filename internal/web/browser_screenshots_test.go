package web_test

// Screenshots of every page state at a desktop's and a phone's width, for
// a person to look at after changing a page (see screenshot for where they
// go). The test also checks what a screenshot would show wrong without a
// person: no page scrolls sideways on a phone, and no button in a table
// wraps onto a second line.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/auth"
)

// shotWidths are the viewports every state is saved at: a laptop's and a
// phone's (an iPhone 14's CSS pixels).
var shotWidths = []struct {
	name          string
	width, height int64
}{
	{"desktop", 1280, 900},
	{"phone", 390, 844},
}

// shoot saves the tab's page as name-desktop.png and name-phone.png, and
// checks at each width that it does not scroll sideways and that no table
// button wraps.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range shotWidths {
		step(t, ctx, name+" at "+w.name+" width", chromedp.EmulateViewport(w.width, w.height))
		// One frame for the layout to follow the new width.
		time.Sleep(100 * time.Millisecond)
		if fits := value(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
			t.Errorf("%s scrolls sideways at %s width", name, w.name)
		}
		// A button of one line is no taller than its line height plus its
		// padding and border; the table scrolls rather than wrap it.
		wrapped := value(t, ctx, "table buttons", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td button")).filter(b => {
			const s = getComputedStyle(b);
			const oneLine = parseFloat(s.lineHeight) + parseFloat(s.paddingTop) + parseFloat(s.paddingBottom) + parseFloat(s.borderTopWidth) + parseFloat(s.borderBottomWidth);
			return b.getBoundingClientRect().height > oneLine + 1;
		}).map(b => b.textContent.trim())`))
		if len(wrapped) > 0 {
			t.Errorf("%s at %s width: table buttons wrap: %q", name, w.name, wrapped)
		}
		screenshot(t, ctx, name+"-"+w.name)
	}
}

// TestBrowserScreenshots visits each page state (signed out, the link's
// page, the second-factor step, the account with factors, new backup
// codes with JavaScript off, the admin list and a user's admin page) and
// saves it at both widths.
func TestBrowserScreenshots(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "grace@example.com"
	secret := totpUser(t, e, email)
	ctx := newTab(t)

	// Signed out.
	for _, page := range []struct{ path, name, wait string }{
		{"/login", "login", "#address"},
		{"/login/password", "login-password", "#password"},
		{"/signup", "signup", "#address"},
		{"/recover", "recover", "form"},
	} {
		step(t, ctx, "open "+page.path, chromedp.Navigate(e.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait)))
		shoot(t, ctx, page.name)
	}
	// The focus ring, on the first field.
	step(t, ctx, "focus", chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#address")), chromedp.Focus(chromedp.CSS("#address")))
	shoot(t, ctx, "login-focus")

	// The sign-in link's page (opening it consumes nothing).
	requestLink(t, e, email, false)
	_, link := e.mailCode(t, email, 2)
	step(t, ctx, "open the link", chromedp.Navigate(e.URL+linkPath(t, e, link)), chromedp.WaitVisible(chromedp.CSS("#verify-title")))
	if title := value(t, ctx, "title", chromedp.Text(chromedp.CSS("#verify-title"))); title != "Sign in to Gatehouse as g***@example.com" {
		t.Errorf("the link's page says %q", title)
	}
	shoot(t, ctx, "verify-link")

	// The second-factor step, after the password.
	passwordSignIn(t, ctx, e.URL, email, "#code")
	shoot(t, ctx, "mfa")
	step(t, ctx, "another way", chromedp.Click(chromedp.CSS("details.other-ways summary")), chromedp.WaitVisible(chromedp.CSS("details.other-ways ul")))
	shoot(t, ctx, "mfa-other-ways")

	// The account with its factor on, and another device signed in.
	e.Session(t, email, auth.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}, auth.MethodOTP)
	step(t, ctx, "the code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/login/mfa"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	shoot(t, ctx, "account")

	// New backup codes with JavaScript off: a whole page, codes first.
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_, err := chromedp.Call(sctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "new backup codes",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/backup-codes"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/account/backup-codes"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#backup-codes")),
	)
	step(t, ctx, "desktop width", chromedp.EmulateViewport(1280, 900))
	if top := value(t, ctx, "where the codes are", chromedp.Evaluate[float64](`document.getElementById("backup-codes").getBoundingClientRect().bottom`)); top > 900 {
		t.Errorf("the backup codes end %.0fpx down, below the first screen (900px)", top)
	}
	shoot(t, ctx, "backup-codes-noscript")
	sctx, cancel = context.WithTimeout(ctx, 20*time.Second)
	_, err = chromedp.Call(sctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	// The admin pages: grace is an admin now, her session has two steps.
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.G.Auth().AdminUpdateUser(t.Context(), u.ID, auth.AdminUpdate{Admin: new(true)}); err != nil {
		t.Fatal(err)
	}
	other := admUser(t, e, "ada@example.com")
	admEmailFactor(t, e, other)
	e.Do(t, "POST", "/v1/otp", map[string]string{"phone": "+14155552672"}).Accepted()
	e.smsCode(t, "+14155552672", 1)
	for deadline := time.Now().Add(wait); ; {
		if p := e.browserWith(admCookie(t, e, u, auth.MethodPassword, auth.MethodTOTP)).get(t, "/admin"); p.status == http.StatusOK && !strings.Contains(p.body, `<span class="badge">Pending</span>`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	step(t, ctx, "admin list", chromedp.Navigate(e.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS("#deliveries-heading")))
	shoot(t, ctx, "admin")
	step(t, ctx, "admin user", chromedp.Navigate(e.URL+"/admin/users/"+other.ID), chromedp.WaitVisible(chromedp.CSS("#audit-heading")))
	shoot(t, ctx, "admin-user")
}
