package web_test

// Tests of the page of a link that proves an email (verify_email.go):
// the holder's own browser confirms, anyone else gives the password or
// says "This was not me", which claims an account set up by someone else.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// linkToken returns the token of an emailed link's path.
func linkToken(t *testing.T, e *env, link string) (path, token string) {
	t.Helper()
	path = linkPath(t, e, link)
	return path, strings.TrimPrefix(path, "/v1/verify?token=")
}

// webSignUp signs up address with password through the sign-up page and
// answers the browser, which the sign-up signed in.
func webSignUp(t *testing.T, e *env, address, password string) *browser {
	t.Helper()
	e.Logs.Secret(password)
	b := e.browser()
	b.post(t, "/signup", url.Values{"address": {address}, "password": {password}}).redirectsTo("/")
	if b.cookie() == "" {
		t.Fatal("the sign-up set no cookie")
	}
	return b
}

// emailVerified answers whether address's account has its email proven.
func emailVerified(t *testing.T, e *env, address string) bool {
	t.Helper()
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), address)
	if err != nil {
		t.Fatalf("find %s: %v", address, err)
	}
	return u.EmailVerified
}

// TestEmailLinkNotMe: someone signs up with another person's address and a
// password of their own and stays signed in. The address's owner opens
// the link without a session and presses "This was not me": the account
// is theirs, signed in, and what the other person set up is gone — their
// session and their password.
func TestEmailLinkNotMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const victim = "victim@example.com"
	const attackerPassword = "attacker's own passphrase 7"
	attacker := webSignUp(t, e, victim, attackerPassword)
	attacker.get(t, "/").want(http.StatusOK).contains("Your email address is not confirmed yet")
	_, link := e.confirmMail(t, victim, 1)
	path, token := linkToken(t, e, link)

	b := e.browser()
	// Opening the link (twice, as a mail scanner and then the person)
	// uses nothing and sets no cookie.
	for range 2 {
		p := b.get(t, path).want(http.StatusOK)
		p.contains("<title>Confirm your email · Gatehouse</title>", victim, `action="/v1/verify"`,
			`name="token" value="`+token+`"`, `name="password" type="password"`, `autocomplete="current-password"`,
			`name="not_me" value="1"`, "This was not me").
			lacks(`class="who"`, attackerPassword)
		if n := strings.Count(p.body, "<button"); n != 2 {
			t.Errorf("the link's page has %d buttons, want 2", n)
		}
	}
	if b.cookie() != "" {
		t.Fatal("opening the link set a cookie")
	}

	b.post(t, "/v1/verify", url.Values{"token": {token}, "not_me": {"1"}}).redirectsTo("/?done=claimed#profile")
	if b.cookie() == "" {
		t.Fatal("no session cookie after \"This was not me\"")
	}
	b.get(t, "/?done=claimed").want(http.StatusOK).
		contains("this account is now yours", "the password, second factors and sessions someone else set up were removed",
			victim, `<span class="badge ok">Verified</span>`, "Your account has no password").
		lacks("Your email address is not confirmed yet", `autocomplete="current-password"`)
	if !emailVerified(t, e, victim) {
		t.Error("the email is not proven after the claim")
	}

	// The other person's session ended, and their password is gone.
	attacker.get(t, "/").redirectsTo("/login?redirect_to=%2F")
	e.browser().post(t, "/login/password", url.Values{"address": {victim}, "password": {attackerPassword}}).want(http.StatusUnauthorized)
	// The link is used.
	e.browser().get(t, path).want(http.StatusNotFound).contains("This link does not work")
	e.browser().post(t, "/v1/verify", url.Values{"token": {token}, "not_me": {"1"}}).want(http.StatusBadRequest).contains("This link does not work")
}

// TestEmailLinkHolder: the link opened in a browser signed in to its
// account asks nothing but a press of its button, and confirms the email
// keeping the session and the password.
func TestEmailLinkHolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "holder@example.com"
	b := webSignUp(t, e, addr, testPassword)
	cookie := b.cookie()
	_, link := e.confirmMail(t, addr, 1)
	path, token := linkToken(t, e, link)

	p := b.get(t, path).want(http.StatusOK)
	p.contains("<title>Confirm your email · Gatehouse</title>", "Confirm <strong>"+addr+"</strong>", `name="token" value="`+token+`"`,
		"Confirm my email", `<span class="who">`+addr+`</span>`).
		lacks(`name="password"`, "not_me")
	// One button, besides the header's sign-out.
	if n := strings.Count(p.body, "<button"); n != 2 {
		t.Errorf("the link's page has %d buttons, want 2", n)
	}
	if emailVerified(t, e, addr) {
		t.Fatal("opening the link proved the email")
	}
	// A browser signed in to another account is not the holder's: it is
	// asked for the password.
	other := acctUser(t, e, "other@example.com")
	ob, _ := acctBrowser(t, e, other)
	ob.get(t, path).want(http.StatusOK).contains(`name="password"`, "This was not me").lacks("Confirm my email")

	b.post(t, "/v1/verify", url.Values{"token": {token}}).redirectsTo("/?done=email#profile")
	if b.cookie() != cookie {
		t.Error("confirming changed the session cookie")
	}
	b.get(t, "/?done=email").want(http.StatusOK).
		contains("Your email is confirmed.", `<span class="badge ok">Verified</span>`, "Change password").
		lacks("Your email address is not confirmed yet")
	if st := e.checkStatus(t, cookie); st != http.StatusOK {
		t.Fatalf("the session after confirming: %d", st)
	}
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")

	b.get(t, path).want(http.StatusNotFound)
}

// TestEmailLinkPassword: without a session, the account's password
// confirms the email and signs in; a wrong one is said at its field and
// leaves the link for another try; many wrong ones wait.
func TestEmailLinkPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "pat@example.com"
	e.signUp(t, addr)
	_, link := e.confirmMail(t, addr, 1)
	path, token := linkToken(t, e, link)
	b := e.browser()
	b.get(t, path).want(http.StatusOK)

	const wrongPassword = "not the password at all"
	e.Logs.Secret(wrongPassword)
	p := b.post(t, "/v1/verify", url.Values{"token": {token}, "password": {wrongPassword}}).want(http.StatusUnauthorized)
	p.contains("Confirm your email", `id="password-error"`, "That password is not correct.", `aria-invalid="true"`,
		`aria-describedby="password-error"`, `name="token" value="`+token+`"`, "This was not me").lacks(wrongPassword)
	if b.cookie() != "" {
		t.Fatal("a wrong password set a cookie")
	}
	// The link still works, and still asks.
	b.get(t, path).want(http.StatusOK).contains(`name="password"`)
	b.post(t, "/v1/verify", url.Values{"token": {token}}).want(http.StatusBadRequest).
		contains(`id="password-error"`, "Password is required")
	// htmx is not used on this page, but an htmx post gets the content.
	b.post(t, "/v1/verify", url.Values{"token": {token}, "password": {wrongPassword}}, htmx()).want(http.StatusUnauthorized).
		contains("That password is not correct.").lacks("<html")

	b.post(t, "/v1/verify", url.Values{"token": {token}, "password": {testPassword}}).redirectsTo("/?done=email#profile")
	if b.cookie() == "" {
		t.Fatal("no session cookie after the password")
	}
	b.get(t, "/?done=email").contains("Your email is confirmed.", `<span class="badge ok">Verified</span>`, "Change password")
	if !emailVerified(t, e, addr) {
		t.Error("the email is not proven")
	}
	// The password was kept.
	e.browser().post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")
	e.browser().get(t, path).want(http.StatusNotFound)

	t.Run("throttled", func(t *testing.T) {
		const addr = "guessed@example.com"
		e.signUp(t, addr)
		_, link := e.confirmMail(t, addr, 1)
		_, token := linkToken(t, e, link)
		b := e.browser()
		var p *page
		for range 10 {
			p = b.post(t, "/v1/verify", url.Values{"token": {token}, "password": {wrongPassword}})
			if p.status != http.StatusUnauthorized {
				break
			}
		}
		p.want(http.StatusTooManyRequests).contains("Try again in", `name="password"`)
		if p.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}

// TestEmailLinkChangeNotMe: "This was not me" on a link that would change
// an account's address to this one changes nothing.
func TestEmailLinkChangeNotMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const owner, other = "owner@example.com", "bystander@example.com"
	e.signUp(t, owner)
	e.confirmMail(t, owner, 1)
	token := signinToken(t, e, owner, testPassword)
	e.Do(t, http.MethodPost, "/v1/user/email", map[string]string{"email": other}, gatehousetest.Bearer(token)).Accepted()
	_, link := e.confirmMail(t, other, 1)
	path, tok := linkToken(t, e, link)

	b := e.browser()
	b.get(t, path).want(http.StatusOK).contains(other, "This was not me")
	b.post(t, "/v1/verify", url.Values{"token": {tok}, "not_me": {"1"}}).want(http.StatusOK).
		contains("<title>Nothing was changed · Gatehouse</title>", "Nothing was changed: the address was not added to any account.").
		lacks(`name="token"`)
	if b.cookie() != "" {
		t.Fatal("\"This was not me\" on a change of address set a cookie")
	}
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), owner)
	if err != nil {
		t.Fatalf("the account lost its address: %v", err)
	}
	if u.EmailVerified {
		t.Error("the account's own email was proven by someone else's refusal")
	}
	e.browser().get(t, path).want(http.StatusNotFound)
	// The account keeps its password and its session.
	e.browser().post(t, "/login/password", url.Values{"address": {owner}, "password": {testPassword}}).redirectsTo("/")
	if st, _ := signinCheck(t, e, "", token); st != http.StatusOK {
		t.Errorf("the account's token after the refusal: %d", st)
	}
}
