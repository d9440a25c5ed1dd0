package web_test

// Tests of the account page (/) and its name form, through a real server;
// each other card has a test file named after it (account_phone_test.go,
// account_sessions_test.go, account_factors_test.go,
// account_password_test.go). A
// signed-in browser gets a session cookie the harness writes to the
// database (gatehousetest.Server.Session), so each test can choose the
// session's assurance level and device.

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/auth"
)

const (
	chromeMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	firefoxWin  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	safariPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	// needAAL2Text is how the page explains a change refused to a session
	// without a second factor.
	needAAL2Text = "Confirm it’s you with your second factor to change this."
)

// acctUser signs up email (with testPassword) and answers the account.
func acctUser(t *testing.T, e *env, email string) *auth.User {
	t.Helper()
	e.signUp(t, email)
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	return u
}

// acctBrowser answers a browser signed in as u (see acctSession) and the
// id of its session.
func acctBrowser(t *testing.T, e *env, u *auth.User, amr ...string) (*browser, string) {
	t.Helper()
	cookie, id := e.session(t, u, chromeMac, amr...)
	return e.browserWith(cookie), id
}

// acctToken returns the status of a password grant at POST /v1/token.
func acctToken(t *testing.T, e *env, email, password string) int {
	t.Helper()
	r := e.PasswordGrant(t, email, password)
	if r.Status == http.StatusOK {
		e.Tokens(r) // its tokens become secrets of the log
	}
	return r.Status
}

// acctHTML answers s as html/template writes it in text and attributes.
func acctHTML(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

// fragment fails the test unless p is an htmx fragment: a card, no page.
func (p *page) fragment(card string) *page {
	p.t.Helper()
	p.lacks("<html", "<head", `<main`)
	return p.contains(`<section class="card" id="` + card + `"`)
}

var (
	secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	backupRE = regexp.MustCompile(`<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2})</li>`)
)

// totpSecret answers the key the set-up shows, without its spaces.
func (p *page) totpSecret() string {
	p.t.Helper()
	m := secretRE.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s: no authenticator key shown:\n%s", p.req, p.body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// backupCodes answers the backup codes shown, which must be ten, in the
// list the Copy and Download buttons read.
func (p *page) backupCodes() []string {
	p.t.Helper()
	p.contains(`<ol class="codes" id="backup-codes">`, `data-copy="backup-codes"`, `data-download="backup-codes"`,
		`data-filename="gatehouse-backup-codes.txt"`, "will not be shown again")
	var codes []string
	for _, m := range backupRE.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		p.t.Fatalf("%s: %d backup codes shown, want 10:\n%s", p.req, len(codes), p.body)
	}
	return codes
}

// acctWrongTOTP answers a well-formed code that the key does not make
// now (nor a step either side).
func acctWrongTOTP(t *testing.T, e *env, secret string) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := totp.GenerateCode(secret, e.Clock.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("unreachable: four codes cannot all be valid")
}

func TestAccountSignedOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	b.get(t, "/").redirectsTo("/login?redirect_to=%2F")
	b.get(t, "/?done=name").redirectsTo("/login?redirect_to=%2F%3Fdone%3Dname")
	b.post(t, "/account/name", url.Values{"name": {"Mallory"}}).redirectsTo("/login?redirect_to=%2F")
	b.post(t, "/account/password", url.Values{"new_password": {"a brand new passphrase"}}, htmx()).redirectsTo("/login?redirect_to=%2F")

	// A cookie whose session ended is no session.
	u := acctUser(t, e, "ended@example.test")
	b, _ = acctBrowser(t, e, u)
	b.get(t, "/").want(http.StatusOK)
	if err := e.G.Auth().AdminRevokeSessions(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	b.get(t, "/").redirectsTo("/login?redirect_to=%2F")
}

func TestAccountPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "page@example.test")
	b, _ := acctBrowser(t, e, u)
	p := b.get(t, "/").want(http.StatusOK)
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	p.contains("<title>Your account · Gatehouse</title>", "<h1>Your account</h1>",
		// every card
		`id="profile"`, `id="phone"`, `id="mfa"`, `id="password"`, `id="sessions"`,
		// profile
		"page@example.test", `<span class="badge warn">Not verified</span>`, "Member since", u.CreatedAt.UTC().Format("2 January 2006"),
		`action="/account/name"`, `hx-post="/account/name" hx-target="#profile" hx-swap="outerHTML"`,
		// phone
		`action="/account/phone"`, `type="tel"`, `autocomplete="tel"`,
		// two-step verification: nothing on yet
		"Set up an authenticator app", `action="/account/totp"`, "Turn on email codes", `action="/account/mfa/email/on"`,
		// password: one is set, so the current one is asked for
		`autocomplete="current-password"`, `autocomplete="new-password"`, "Change password", "signs you out on all your other devices",
		// sessions
		"Chrome on macOS", "This device", "IP 192.0.2.7", "This is the only device signed in.",
		// sign out
		`<form method="post" action="/logout">`,
	).lacks(`action="/account/backup-codes"`, `action="/account/sessions/others"`, `class="qr"`, "totp-secret", `style=`)

	// Only known notice keys say anything; nothing typed into the URL shows.
	b.get(t, "/?done=password").contains("Your password was changed")
	b.get(t, "/?done=%3Cb%3Ehacked%3C%2Fb%3E").want(http.StatusOK).lacks("hacked", `class="alert`)
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "name@example.test")
	b, _ := acctBrowser(t, e, u)

	b.post(t, "/account/name", url.Values{"name": {"Ada Lovelace"}}).redirectsTo("/?done=name#profile")
	b.get(t, "/?done=name").contains("Your name was saved.", "<dd>Ada Lovelace</dd>", `value="Ada Lovelace"`)

	// An error re-renders the page with the message at the field and what
	// was typed kept.
	bad := strings.Repeat("x", 201)
	b.post(t, "/account/name", url.Values{"name": {bad}}).want(http.StatusBadRequest).
		contains("<html", `id="name-error"`, "Name must be at most 200 characters", `aria-invalid="true"`,
			`aria-describedby="name-hint name-error"`, `value="`+bad+`"`)

	// htmx gets the card alone, both for success and for errors.
	b.post(t, "/account/name", url.Values{"name": {"Ada King"}}, htmx()).want(http.StatusOK).
		fragment("profile").contains("Your name was saved.", "<dd>Ada King</dd>").lacks(`id="sessions"`)
	b.post(t, "/account/name", url.Values{"name": {"a\x01b"}}, htmx()).want(http.StatusBadRequest).
		fragment("profile").contains("must not contain control characters")

	// A post from another site is refused before it changes anything.
	b.post(t, "/account/name", url.Values{"name": {"Mallory"}}, crossSite()).want(http.StatusForbidden).lacks("Mallory")
	b.get(t, "/").contains("<dd>Ada King</dd>").lacks("Mallory")
}
