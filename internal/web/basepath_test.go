package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// base is the path prefix the tests here mount Gatehouse under.
const base = "/auth"

// appPage is what the embedding app's own page answers.
const appPage = "the app's dashboard"

// embedded starts Gatehouse as an app embeds it under base: its public
// URL is the app's origin + base, and the app's mux hands it everything
// under base/ as is (no http.StripPrefix) and guards its own /dashboard
// with RequireAuth. more are options of the harness (a provider).
func embedded(t testing.TB, more ...gatehousetest.Option) *env {
	t.Helper()
	opts := []gatehousetest.Option{
		gatehousetest.OwnPublicURL(), gatehousetest.WithMail(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) {
			c.PublicURL += base
			c.MailFrom = "no-reply@example.test"
			c.Dev = true
		}),
		gatehousetest.WithMiddleware(func(h http.Handler) http.Handler {
			g := h.(*gatehouse.Gatehouse)
			mux := http.NewServeMux()
			mux.Handle(base+"/", g)
			mux.Handle("/dashboard", g.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, appPage)
			})))
			return mux
		}),
	}
	s := gatehousetest.Start(t, append(opts, more...)...)
	s.Logs.Secret(testPassword)
	return &env{Server: s, t: t}
}

// urlAttr finds every attribute of a page that holds a URL of this site
// (or a pair of them: the passkey controls' "BEGIN FINISH").
var urlAttr = regexp.MustCompile(`\s(href|src|action|formaction|hx-get|hx-post|hx-put|hx-patch|hx-delete|data-fallback|data-passkey-login|data-passkey-autofill|data-passkey-register|data-passkey-offer)="([^"]*)"`)

// underBase fails the test for every URL of the answer (its links, forms,
// htmx and passkey URLs, scripts and styles, Location and HX-Redirect)
// that leads to this server outside base. External URLs (another origin,
// data:, otpauth:, a fragment) pass, and so do the exact targets in
// outside (a redirect_to the test asked for on the app's own paths).
func underBase(t testing.TB, e *env, p *page, outside ...string) *page {
	t.Helper()
	own, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, raw string) {
		t.Helper()
		for _, o := range outside {
			if raw == o {
				return
			}
		}
		u, err := url.Parse(strings.ReplaceAll(raw, "&amp;", "&"))
		if err != nil {
			t.Errorf("%s: %s %q does not parse: %v", p.req, where, raw, err)
			return
		}
		switch {
		case u.Scheme == "data" || u.Scheme == "otpauth" || u.Scheme == "" && u.Host == "" && u.Path == "":
			return // an image, an authenticator's link, a fragment
		case u.Host != "" && u.Host != own.Host:
			return // another site (a provider, an allowed app)
		}
		if !strings.HasPrefix(u.Path, base+"/") || strings.HasPrefix(raw, "//") {
			t.Errorf("%s: %s %q is not under %s/", p.req, where, raw, base)
		}
	}
	for _, m := range urlAttr.FindAllStringSubmatch(p.body, -1) {
		for v := range strings.FieldsSeq(m[2]) {
			check(m[1], v)
		}
	}
	if m := regexp.MustCompile(`data-base="([^"]*)"`).FindStringSubmatch(p.body); m != nil && m[1] != base {
		t.Errorf("%s: data-base %q, want %q", p.req, m[1], base)
	}
	for _, h := range []string{"Location", "HX-Redirect"} {
		if v := p.header.Get(h); v != "" {
			check(h, v)
		}
	}
	if strings.Contains(p.body, `="/`) && !strings.Contains(p.body, `="`+base+`/`) {
		t.Errorf("%s: a root path in the page and none under %s", p.req, base)
	}
	return p
}

// TestPagesUnderBasePath walks the pages of Gatehouse mounted under
// /auth in an app's mux: every link, form, asset and redirect on the way
// carries the prefix; a sign-in from the app's guarded page comes back to
// it; nothing is served outside the prefix but the probes.
func TestPagesUnderBasePath(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	b := e.browser()
	get := func(path string, status int, opts ...reqOpt) *page {
		t.Helper()
		return underBase(t, e, b.get(t, path, opts...).want(status))
	}
	post := func(path string, form url.Values, status int, opts ...reqOpt) *page {
		t.Helper()
		return underBase(t, e, b.post(t, path, form, opts...).want(status))
	}

	// Signed out: every page a visitor can open.
	underBase(t, e, b.get(t, base)).redirectsToAny(base + "/") // the app's mux, for its "/auth/"
	get(base+"/", http.StatusSeeOther).redirectsToAny(base + "/login?redirect_to=" + url.QueryEscape(base+"/"))
	for _, path := range []string{"/login", "/login/password", "/signup", "/recover", "/docs"} {
		get(base+path, http.StatusOK).contains(`href="`+base+`/static/style.css?v=`, `data-base="`+base+`"`)
	}
	get(base+"/login", http.StatusOK).contains(`data-passkey-login="`+base+`/login/passkey/begin `+base+`/login/passkey/finish"`, `action="`+base+`/login/code"`)
	get(base+"/docs", http.StatusOK).contains(`href="` + base + `/openapi.json"`)
	get(base+"/no-such-page", http.StatusNotFound)
	get(base+"/login/code", http.StatusSeeOther).redirectsToAny(base + "/login")
	b.get(t, base+"/static/passkey.js").want(http.StatusOK).contains(`base + "/login/mfa/step"`)
	e.Do(t, http.MethodGet, base+"/.well-known/jwks.json", nil).Want(http.StatusOK)
	e.Do(t, http.MethodGet, base+"/healthz", nil).Want(http.StatusOK)
	for _, path := range []string{"/login", "/v1/check", "/.well-known/jwks.json", "/static/style.css", base + "x/login"} {
		if st := e.Do(t, http.MethodGet, path, nil).Status; st != http.StatusNotFound {
			t.Errorf("GET %s outside the prefix: %d, want 404", path, st)
		}
	}

	// The app's guarded page sends a browser to sign in and back.
	dash := b.get(t, "/dashboard").want(http.StatusSeeOther)
	login := e.URL + base + "/login?redirect_to=" + url.QueryEscape("/dashboard")
	if got := dash.header.Get("Location"); got != login {
		t.Fatalf("the app's guard sent the browser to %q, want %q", got, login)
	}

	// Sign-up with a password, then out, then in again with a code from
	// the app's page, landing back on it.
	const addr = "ada@example.com"
	p := post(base+"/signup", url.Values{"address": {addr}, "name": {"Ada"}, "password": {testPassword}}, http.StatusSeeOther)
	p.redirectsToAny(base + "/")
	e.confirmMail(t, addr, 1)
	get(base+"/", http.StatusOK).contains("Ada", `action="`+base+`/logout"`)
	post(base+"/logout", url.Values{}, http.StatusSeeOther).redirectsToAny(base + "/login?signed_out=1")
	p = post(base+"/login/code", url.Values{"address": {addr}, "redirect_to": {"/dashboard"}}, http.StatusOK, htmx())
	p.contains(`hx-post="`+base+`/login/verify"`, `name="redirect_to" value="/dashboard"`)
	code, _ := e.mailCode(t, addr, 2)
	p = b.post(t, base+"/login/verify", url.Values{"address": {addr}, "code": {code}, "redirect_to": {"/dashboard"}}, htmx()).want(http.StatusOK)
	underBase(t, e, p, "/dashboard").redirectsToAny("/dashboard")
	b.get(t, "/dashboard").want(http.StatusOK).contains(appPage)

	// The account page and its htmx parts.
	acct := get(base+"/", http.StatusOK)
	acct.contains(`hx-post="` + base + `/account/name"`)
	post(base+"/account/name", url.Values{"name": {"Ada L."}}, http.StatusOK, htmx()).contains("Ada L.")
	post(base+"/account/name", url.Values{"name": {"Ada Lovelace"}}, http.StatusSeeOther).redirectsToAny(base + "/?done=name#profile")
	post(base+"/account/totp", url.Values{}, http.StatusOK, htmx()).contains(`action="`+base+`/account/totp/confirm"`, `href="`+base+`/#mfa"`)

	// The second-factor step and the password-reset steps.
	totpUser(t, e, "lovelace@example.com")
	m := e.browser()
	mfa := underBase(t, e, m.post(t, base+"/login/password", url.Values{"address": {"lovelace@example.com"}, "password": {testPassword}}).want(http.StatusOK))
	mfa.contains(`action="` + base + `/login/mfa"`)
	underBase(t, e, m.post(t, base+"/recover", url.Values{"email": {"lovelace@example.com"}}).want(http.StatusOK)).contains(`action="` + base + `/recover/verify"`)

	// The admin page, for an admin.
	u := admStored(t, e, admUser(t, e, "grace@example.com"))
	admSetRole(t, e, u, true)
	a, _ := admBrowser(t, e, u)
	admin := underBase(t, e, a.get(t, base+"/admin").want(http.StatusOK))
	admin.contains(`href="` + base + `/admin/users/`)
	underBase(t, e, a.get(t, base+"/admin/users/"+url.PathEscape(u.ID)).want(http.StatusOK)).contains(`action="` + base + `/admin/users/`)
	underBase(t, e, a.post(t, base+"/admin/users/"+url.PathEscape(u.ID)+"/sessions/revoke", url.Values{}).want(http.StatusSeeOther)).redirectsToAny(base + "/login")
}

// redirectsToAny fails the test unless the answer sends the browser to
// target, by a Location (any 3xx) or an HX-Redirect.
func (p *page) redirectsToAny(target string) *page {
	p.t.Helper()
	got := p.header.Get("Location")
	if got == "" {
		got = p.header.Get("HX-Redirect")
	}
	if got != target {
		p.t.Fatalf("%s: sent to %q, want %q", p.req, got, target)
	}
	return p
}

// TestMagicLinkUnderBasePath: the emailed link carries the prefix, opens
// the page under it, and signs in to the start page under it.
func TestMagicLinkUnderBasePath(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	const addr = "ada@example.com"
	admUser(t, e, addr)
	e.Do(t, http.MethodPost, base+"/v1/otp", map[string]string{"email": addr, "type": "link"}).Accepted()
	_, link := e.mailCode(t, addr, 1)
	if !strings.HasPrefix(link, e.URL+base+"/v1/verify?token=") {
		t.Fatalf("emailed link %q is not under %s", link, e.URL+base)
	}
	b := e.browser()
	path := strings.TrimPrefix(link, e.URL)
	p := underBase(t, e, b.get(t, path).want(http.StatusOK))
	p.contains(`action="` + base + `/v1/verify"`)
	token := strings.TrimPrefix(path, base+"/v1/verify?token=")
	tok, err := url.QueryUnescape(token)
	if err != nil {
		t.Fatal(err)
	}
	underBase(t, e, b.post(t, base+"/v1/verify", url.Values{"token": {tok}}).want(http.StatusSeeOther)).redirectsToAny(base + "/")
	if b.cookie() == "" {
		t.Fatal("no session after the link")
	}
}

// TestProviderAndPasskeysUnderBasePath: the provider sign-in's redirect_uri
// and state cookie are under the prefix (so the browser brings the cookie
// back to the callback), and the passkey ceremonies answer at their
// prefixed URLs for the host, not the path.
func TestProviderAndPasskeysUnderBasePath(t *testing.T) {
	t.Parallel()
	var fake *oauthtest.OIDC
	e := embedded(t, gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, ada, &fake))
	b := e.browser()
	login := underBase(t, e, b.get(t, base+"/login").want(http.StatusOK))
	login.contains(`href="` + base + `/v1/oauth/acme/start"`)
	start := underBase(t, e, b.get(t, base+"/v1/oauth/acme/start").want(http.StatusFound))
	auth, err := url.Parse(start.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := auth.Query().Get("redirect_uri"), e.URL+base+"/v1/oauth/acme/callback"; got != want {
		t.Errorf("redirect_uri %q, want %q", got, want)
	}
	var statePath string
	for _, c := range start.header.Values("Set-Cookie") {
		if strings.Contains(c, "Path=") {
			statePath = c[strings.Index(c, "Path="):]
		}
	}
	if !strings.HasPrefix(statePath, "Path="+base+"/v1/oauth/acme/") {
		t.Errorf("state cookie %s, want its path under %s", statePath, base)
	}
	q := authorize(t, start.header.Get("Location"))
	cb := b.get(t, base+"/v1/oauth/acme/callback?"+q.Encode(), gatehousetest.Header("Sec-Fetch-Site", "cross-site"))
	underBase(t, e, cb.want(http.StatusSeeOther)).redirectsToAny(base + "/")
	if b.cookie() == "" {
		t.Fatal("no session after the provider")
	}

	for _, path := range []string{"/login/passkey/begin", "/account/passkeys/begin"} {
		r := e.DoWith(t, b.client, http.MethodPost, base+path, map[string]any{}, gatehousetest.SameOrigin(), gatehousetest.Header("Accept", "application/json"))
		if r.Status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", base+path, r.Status, r.Body)
		}
		var opts struct {
			PublicKey struct {
				RPID string `json:"rpId"`
				RP   struct {
					ID string `json:"id"`
				} `json:"rp"`
			} `json:"publicKey"`
			RPID string `json:"rpId"`
			RP   struct {
				ID string `json:"id"`
			} `json:"rp"`
		}
		if err := json.Unmarshal(r.Body, &opts); err != nil {
			t.Fatalf("POST %s: %v", base+path, err)
		}
		if got := fmt.Sprint(opts.PublicKey.RPID, opts.PublicKey.RP.ID, opts.RPID, opts.RP.ID); got != "localhost" {
			t.Errorf("POST %s: relying party %q, want localhost", base+path, got)
		}
	}
}

// TestBrowserUnderBasePath: Chromium signs in with an emailed code on the
// pages under /auth (htmx swaps in the code step from its prefixed URL),
// lands on the account page under the prefix, and the session cookie
// reaches the app's own guarded page outside it.
func TestBrowserUnderBasePath(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	ctx := newTab(t)
	const email = "ada@example.com"
	step(t, ctx, "open the app's page",
		chromedp.Navigate(e.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#address")))
	if loc := location(t, ctx); loc != e.URL+base+"/login?redirect_to=%2Fdashboard" {
		t.Fatalf("the app's page sent the browser to %s", loc)
	}
	step(t, ctx, "open "+base+"/login", chromedp.Navigate(e.URL+base+"/login"), chromedp.WaitVisible(chromedp.CSS("#address")))
	if ok := value(t, ctx, "assets", chromedp.Evaluate[bool](`typeof htmx === "object" && document.documentElement.classList.contains("js")`)); !ok {
		t.Fatal("htmx or app.js did not load under the prefix")
	}
	step(t, ctx, "ask for a code",
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.Click(chromedp.CSS(`form[action="`+base+`/login/code"] button:not(.secondary)`)),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	code, _ := e.mailCode(t, email, 1)
	step(t, ctx, "enter the code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action="`+base+`/login/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#profile")))
	if loc := location(t, ctx); loc != e.URL+base+"/" {
		t.Fatalf("signed in at %s, want %s/", loc, e.URL+base)
	}
	step(t, ctx, "the app's page", chromedp.Navigate(e.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("body")))
	if text := pageText(ctx); !strings.Contains(text, appPage) {
		t.Fatalf("the app's page after signing in: %q", text)
	}
}

// TestBrowserPasskeyUnderBasePath: in Chromium under /auth, the account
// page adds a passkey through passkey.js (its begin and finish URLs and
// the offer's under the prefix), the passkey is the second step of a
// password sign-in, and then signs in alone with the button; each lands
// on the account page under the prefix.
func TestBrowserPasskeyUnderBasePath(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	const email = "pk-base@example.com"
	u, err := e.G.Auth().SignUp(context.Background(), auth.SignUpInput{Email: email, Password: testPassword, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.session(t, u, chromeMac, auth.MethodPassword)
	ctx, _ := passkeyAddedTab(t, e, base, cookie)
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.URL+base+"/") {
		t.Fatalf("after adding a passkey the page is %s", loc)
	}

	noConditionalMediation(t, ctx)
	signOutUnder := func() {
		t.Helper()
		step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form[action="`+base+`/logout"] button`)))
		waitLocation(t, ctx, "signed out", func(l string) bool { return strings.HasPrefix(l, e.URL+base+"/login") })
	}
	signOutUnder()
	passwordSignIn(t, ctx, e.URL+base, email, "#passkey-mfa")
	step(t, ctx, "the passkey as the second step", chromedp.Click(chromedp.CSS("#passkey-mfa")))
	waitLocation(t, ctx, "signed in with two steps", func(l string) bool { return l == e.URL+base+"/" })
	step(t, ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("#passkeys")))

	signOutUnder()
	step(t, ctx, "sign in with the passkey button", chromedp.WaitVisible(chromedp.CSS("#passkey-signin")), chromedp.Click(chromedp.CSS("#passkey-signin")))
	waitLocation(t, ctx, "signed in with the passkey", func(l string) bool { return l == e.URL+base+"/" })
	step(t, ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("#passkeys")))
}
