package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// TestBrowserProviderSecondFactor: an account made by a provider sign-in,
// with an authenticator since, goes from "Continue with" through the
// provider to the second-factor step, and with the code to the account
// page.
func TestBrowserProviderSecondFactor(t *testing.T) {
	t.Parallel()
	grace := oauthtest.User{Subject: "acme-grace-browser", Email: "grace-browser@example.com", EmailVerified: true, Name: "Grace"}
	e, _ := oauthEnv(t, grace, nil, true)
	secret := providerTOTPUser(t, e, grace)
	ctx := newTab(t)
	step(t, ctx, "through the provider to the second step",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	screenshot(t, ctx, "provider-second-factor")
	step(t, ctx, "the authenticator's code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, e.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/login/mfa"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#identities")),
	)
	if text := value(t, ctx, "sign-in methods", chromedp.Text(chromedp.CSS("#identities"))); !strings.Contains(text, "Acme") {
		t.Errorf("the account page does not list the provider:\n%s", text)
	}
}

// providerTOTPUser makes u's account by a provider sign-in, turns an
// authenticator on for it, and returns the authenticator's secret.
func providerTOTPUser(t *testing.T, e *env, u oauthtest.User) string {
	t.Helper()
	proof, err := e.G.Auth().SignInProvider(context.Background(), auth.ProviderIdentity{Provider: "acme", Subject: u.Subject, Email: u.Email, EmailVerified: true})
	return turnOnTOTP(t, e, setupSession(t, e, proof, err))
}

// TestBrowserProviderLink: signed in with a password, link the provider
// from the account page (to the provider and back), then unlink it; the
// password keeps the account reachable, so unlinking is allowed.
func TestBrowserProviderLink(t *testing.T) {
	t.Parallel()
	e, _ := oauthEnv(t, oauthtest.User{Subject: "acme-link-browser", Email: "elsewhere-browser@example.com", EmailVerified: true}, nil, true)
	const email = "linker-browser@example.com"
	e.SignUp(t, email, testPassword)
	ctx := newTab(t)
	passwordSignIn(t, ctx, e.URL, email, "#identities")
	step(t, ctx, "link the provider",
		chromedp.Click(chromedp.CSS(`#identities a[href^="/v1/oauth/acme/start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#identities button[aria-label="Unlink Acme"]`)),
	)
	screenshot(t, ctx, "provider-linked")
	if text := value(t, ctx, "sign-in methods", chromedp.Text(chromedp.CSS("#identities"))); !strings.Contains(text, "elsewhere-browser@example.com") {
		t.Errorf("the linked provider's email is not shown:\n%s", text)
	}
	// The "Link Acme" button shows whether linked or not: wait for the
	// swapped card's words instead, or the check races the swap.
	step(t, ctx, "unlink it", chromedp.Click(chromedp.CSS(`#identities button[aria-label="Unlink Acme"]`)))
	waitText(t, ctx, "after unlinking", "#identities", "No other sign-in method is linked")
	step(t, ctx, "the link button", chromedp.WaitVisible(chromedp.CSS(`#identities a[href^="/v1/oauth/acme/start"]`)))
}

// TestBrowserProviderDenied: consent refused at the provider is a page in
// words with the way back to the sign-in page, which works.
func TestBrowserProviderDenied(t *testing.T) {
	t.Parallel()
	e, fake := oauthEnv(t, ada, nil, true)
	fake.Deny(true)
	ctx := newTab(t)
	step(t, ctx, "through the provider, refused",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/login"]`)),
	)
	screenshot(t, ctx, "provider-denied")
	if text := value(t, ctx, "the page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, "You did not allow the sign-in at Acme") {
		t.Errorf("the failure page says:\n%s", text)
	}
	step(t, ctx, "back to the sign-in page",
		chromedp.Click(chromedp.CSS(`main a[href="/login"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/v1/oauth/acme/start"]`)),
	)
}
