package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// oauthEnv is a page server with the fake OpenID Connect provider "acme"
// signing in u, sending email when mail (an email is then a way in too).
func oauthEnv(t testing.TB, u oauthtest.User, edit func(*gatehouse.Config), mail bool, more ...gatehousetest.Option) (*env, *oauthtest.OIDC) {
	t.Helper()
	var fake *oauthtest.OIDC
	opts := []gatehousetest.Option{
		gatehousetest.OwnPublicURL(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) {
			c.AllowedRedirects = append(c.AllowedRedirects, appOrigin)
			c.MailFrom = "no-reply@example.test"
			c.Dev = true
		}),
		gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, u, &fake),
	}
	if edit != nil {
		opts = append(opts, gatehousetest.WithConfig(edit))
	}
	if mail {
		opts = append(opts, gatehousetest.WithMail())
	}
	opts = append(opts, more...)
	s := gatehousetest.Start(t, opts...)
	s.Logs.Secret(testPassword)
	return &env{Server: s, t: t}, fake
}

// ada is who the fake provider signs in: an email it vouches for.
var ada = oauthtest.User{Subject: "acme-ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}

// startProvider opens the start route and returns the provider's
// authorization URL it redirected to (the state cookie is in b's jar).
func (b *browser) startProvider(t testing.TB, query string) string {
	t.Helper()
	p := b.get(t, "/v1/oauth/acme/start"+query).want(http.StatusFound)
	loc := p.header.Get("Location")
	if loc == "" {
		t.Fatal("start: no Location")
	}
	return loc
}

// authorize follows the authorization request at the fake and returns
// what it sends back to the callback.
func authorize(t testing.TB, authURL string) url.Values {
	t.Helper()
	q, err := oauthtest.Follow(http.DefaultClient, authURL)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// callback brings the provider's answer q back to the server in b.
func (b *browser) callback(t testing.TB, q url.Values) *page {
	t.Helper()
	return b.get(t, "/v1/oauth/acme/callback?"+q.Encode(), gatehousetest.Header("Sec-Fetch-Site", "cross-site"))
}

// noSession fails the test if the answer set a session cookie or the
// browser holds one.
func (p *page) noSession(t testing.TB, b *browser) *page {
	t.Helper()
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, b.e.Config.SessionCookieName+"=") {
			t.Fatalf("%s set the session cookie: %s", p.req, c)
		}
	}
	if b.cookie() != "" {
		t.Fatalf("%s: the browser holds a session", p.req)
	}
	return p
}

// TestProviderSignIn: a new person signs in through the provider and gets
// an account (its email proven by the provider), comes back where they
// asked, and the same identity signs in to the same account again; a
// foreign redirect_to is not followed.
func TestProviderSignIn(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) { testProviderSignIn(t, db) })
}

func testProviderSignIn(t *testing.T, db gatehousetest.DB) {
	e, _ := oauthEnv(t, ada, nil, true, gatehousetest.WithDB(db))

	// The buttons: plain links, redirect_to carried.
	e.browser().get(t, "/login?redirect_to="+url.QueryEscape(appOrigin+"/back")).want(http.StatusOK).
		contains(`href="/v1/oauth/acme/start?redirect_to=`+url.QueryEscape(appOrigin+"/back")+`"`, "Continue with Acme")
	e.browser().get(t, "/signup").want(http.StatusOK).contains(`href="/v1/oauth/acme/start"`, "Continue with Acme")

	b := e.browser()
	q := authorize(t, b.startProvider(t, "?redirect_to="+url.QueryEscape(appOrigin+"/back")))
	p := b.callback(t, q).redirectsTo(appOrigin + "/back")
	if b.cookie() == "" {
		t.Fatal("no session after the provider sign-in")
	}
	if !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), "\n"), "gatehouse_oauth=;") {
		t.Errorf("the state cookie was not cleared: %q", p.header.Values("Set-Cookie"))
	}
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), ada.Email)
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified || u.Name != ada.Name {
		t.Errorf("new account %+v: want the provider's proven email and name", u)
	}
	b.get(t, "/").want(http.StatusOK).contains("Sign-in methods", "Acme", ada.Email)

	// Again, in another browser: the same account; a foreign target is
	// dropped.
	b2 := e.browser()
	q = authorize(t, b2.startProvider(t, "?redirect_to="+url.QueryEscape("https://evil.example/steal")))
	p = b2.callback(t, q).want(http.StatusSeeOther)
	if loc := p.header.Get("Location"); strings.Contains(loc, "evil") {
		t.Fatalf("redirected to %q", loc)
	}
	again, err := e.G.Auth().AdminUserByEmail(t.Context(), ada.Email)
	if err != nil || again.ID != u.ID {
		t.Fatalf("second sign-in: %v %v, want the same account", again, err)
	}
	// An unknown provider is no page.
	e.browser().get(t, "/v1/oauth/nope/start").want(http.StatusNotFound)
	e.browser().get(t, "/v1/oauth/nope/callback?code=x&state=y").want(http.StatusNotFound)
}

// TestProviderSignInFailures: every way a provider sign-in fails is a page
// in plain words with the way back to /login, and no session. Each case
// breaks one defence: the state check (tampered), the cookie binding
// (missing cookie, another browser's state), the nonce (bad ID token). A
// person's denial and a bad state are the request's (4xx); the provider
// failing (down, its token endpoint or keys answering 5xx) is a bad
// gateway (502) in words that say to try again.
func TestProviderSignInFailures(t *testing.T) {
	t.Parallel()
	e, fake := oauthEnv(t, ada, nil, true)
	e.SignUp(t, "grace@example.com", testPassword)

	for _, tc := range []struct {
		name string
		// run signs in with b and returns the callback's page.
		run    func(t *testing.T, b *browser) *page
		status int
		want   string
	}{
		// First: no sign-in has fetched the provider's keys yet.
		{"keys down", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			fake.DownAt("/jwks", true)
			defer fake.DownAt("/jwks", false)
			return b.callback(t, q)
		}, http.StatusBadGateway, "Acme did not answer; try again in a moment."},
		{"denied", func(t *testing.T, b *browser) *page {
			fake.Deny(true)
			defer fake.Deny(false)
			return b.callback(t, authorize(t, b.startProvider(t, "")))
		}, http.StatusBadRequest, "You did not allow the sign-in at Acme"},
		{"tampered state", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			q.Set("state", q.Get("state")+"x")
			return b.callback(t, q)
		}, http.StatusBadRequest, "not started in this browser"},
		{"missing state", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			q.Del("state")
			return b.callback(t, q)
		}, http.StatusBadRequest, "not started in this browser"},
		{"no cookie", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			return e.browser().callback(t, q)
		}, http.StatusBadRequest, "not started in this browser"},
		{"state from another browser", func(t *testing.T, b *browser) *page {
			victim := e.browser()
			victim.startProvider(t, "")
			// The attacker's own answer, brought to the victim's browser.
			q := authorize(t, b.startProvider(t, ""))
			return victim.callback(t, q)
		}, http.StatusBadRequest, "not started in this browser"},
		{"expired state", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			e.Clock.Advance(11 * time.Minute)
			return b.callback(t, q)
		}, http.StatusBadRequest, "started too long ago"},
		{"wrong nonce", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			fake.NextBad(oauthtest.BadNonce)
			return b.callback(t, q)
		}, http.StatusBadRequest, "answer could not be trusted"},
		{"provider down", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			fake.Down(true)
			defer fake.Down(false)
			return b.callback(t, q)
		}, http.StatusBadGateway, "Acme did not answer; try again in a moment."},
		{"token endpoint down", func(t *testing.T, b *browser) *page {
			q := authorize(t, b.startProvider(t, ""))
			fake.DownAt("/token", true)
			defer fake.DownAt("/token", false)
			return b.callback(t, q)
		}, http.StatusBadGateway, "Acme did not answer; try again in a moment."},
		{"unverified email of an account", func(t *testing.T, b *browser) *page {
			fake.SetUser(oauthtest.User{Subject: "acme-grace", Email: "grace@example.com", EmailVerified: false})
			defer fake.SetUser(ada)
			return b.callback(t, authorize(t, b.startProvider(t, "")))
		}, http.StatusConflict, "sign in the usual way, then link it from your account page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			p := tc.run(t, b)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", p.status, tc.status, p.body)
			}
			p.contains(tc.want, `href="/login"`).noSession(t, b)
		})
	}
}

// TestProviderSignInSignUpOff: without sign-up by code or provider, a new
// person is told so.
func TestProviderSignInSignUpOff(t *testing.T) {
	t.Parallel()
	e, _ := oauthEnv(t, ada, func(c *gatehouse.Config) { c.PasswordlessSignup = false }, true)
	b := e.browser()
	b.callback(t, authorize(t, b.startProvider(t, ""))).want(http.StatusForbidden).
		contains("does not create accounts this way", `href="/login"`).noSession(t, b)
}

// TestProviderSignInSecondFactor: an account with an authenticator stops at
// the second-factor step after the provider, as after a password.
func TestProviderSignInSecondFactor(t *testing.T) {
	t.Parallel()
	grace := oauthtest.User{Subject: "acme-grace", Email: "grace@example.com", EmailVerified: true}
	e, _ := oauthEnv(t, grace, nil, true)
	e.SignUp(t, grace.Email, testPassword)
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), grace.Email)
	if err != nil {
		t.Fatal(err)
	}
	// Linked first (a link needs aal2 once a second factor is on).
	cookie, _ := e.session(t, u, "test")
	b := e.browserWith(cookie)
	b.callback(t, authorize(t, b.startProvider(t, "?link=true"))).redirectsTo("/?done=identity_linked#identities")
	signinEnrolTOTP(t, e, signinToken(t, e, grace.Email, testPassword))

	b = e.browser()
	b.callback(t, authorize(t, b.startProvider(t, "?redirect_to="+url.QueryEscape(appOrigin+"/back")))).want(http.StatusOK).
		contains("One more step", `name="factor" value="totp"`).noSession(t, b)
}

var identityRE = regexp.MustCompile(`action="/account/identities/([^"/]+)/remove"`)

// TestProviderLink: a signed-in person links the provider from the account
// page (a fresh session only), and cannot unlink the last way in.
func TestProviderLink(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) { testProviderLink(t, db) })
}

func testProviderLink(t *testing.T, db gatehousetest.DB) {
	e, _ := oauthEnv(t, oauthtest.User{Subject: "acme-other", Email: "someone-else@example.com", EmailVerified: true}, nil, true, gatehousetest.WithDB(db))
	e.SignUp(t, "lin@example.com", testPassword)
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), "lin@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// Stale: the session is older than 10 minutes.
	cookie, _ := e.session(t, u, "test")
	e.Clock.Advance(11 * time.Minute)
	b := e.browserWith(cookie)
	b.get(t, "/").want(http.StatusOK).contains("Link Acme", `href="/v1/oauth/acme/start?link=true"`)
	b.callback(t, authorize(t, b.startProvider(t, "?link=true"))).want(http.StatusForbidden).
		contains("Sign in again", `href="/#identities"`)

	// Fresh: linked, whatever the provider's email.
	cookie, _ = e.session(t, u, "test")
	b = e.browserWith(cookie)
	b.callback(t, authorize(t, b.startProvider(t, "?link=true"))).redirectsTo("/?done=identity_linked#identities")
	b.get(t, "/?done=identity_linked").want(http.StatusOK).contains("The sign-in method was linked", "someone-else@example.com")
	// The identity now signs in to this account.
	b2 := e.browser()
	b2.callback(t, authorize(t, b2.startProvider(t, ""))).want(http.StatusSeeOther)
	if b2.cookie() == "" {
		t.Fatal("the linked identity did not sign in")
	}

	// Another account cannot link it.
	e.SignUp(t, "other@example.com", testPassword)
	o, err := e.G.Auth().AdminUserByEmail(t.Context(), "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := e.session(t, o, "test")
	ob := e.browserWith(oc)
	ob.callback(t, authorize(t, ob.startProvider(t, "?link=true"))).want(http.StatusConflict).contains("linked to another account")

	// Unlink: allowed while the password remains.
	m := identityRE.FindStringSubmatch(b.get(t, "/").body)
	if m == nil {
		t.Fatal("no Unlink form")
	}
	b.post(t, "/account/identities/"+m[1]+"/remove", url.Values{}).redirectsTo("/?done=identity_removed#identities")
}

// TestProviderUnlinkLastWayIn: an account the provider made with an email
// it does not vouch for has no other way in, so its identity cannot be
// unlinked (409, said in the card).
func TestProviderUnlinkLastWayIn(t *testing.T) {
	t.Parallel()
	e, _ := oauthEnv(t, oauthtest.User{Subject: "acme-kit", Email: "kit@example.com", EmailVerified: false}, nil, false)
	b := e.browser()
	b.callback(t, authorize(t, b.startProvider(t, ""))).want(http.StatusSeeOther)
	m := identityRE.FindStringSubmatch(b.get(t, "/").want(http.StatusOK).body)
	if m == nil {
		t.Fatal("no Unlink form")
	}
	b.post(t, "/account/identities/"+m[1]+"/remove", url.Values{}).want(http.StatusConflict).
		contains("only way to sign in to this account")
}

// TestProviderSignInGitHub: GitHub through its fake: its primary address
// counts only when GitHub marks it verified, so an unverified primary that
// an account has is refused, and a verified one signs in (claiming that
// account, which never proved it).
func TestProviderSignInGitHub(t *testing.T) {
	t.Parallel()
	var fake *oauthtest.GitHub
	s := gatehousetest.Start(t, gatehousetest.OwnPublicURL(), gatehousetest.WithMail(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) { c.Dev = true; c.MailFrom = "no-reply@example.test" }),
		gatehousetest.WithGitHubFake(oauthtest.GitHubUser{ID: 42, Login: "octo", Name: "Octo Cat",
			Emails: []oauthtest.GitHubEmail{{Email: "octo@example.com", Primary: true, Verified: false}}}, &fake))
	s.Logs.Secret(testPassword)
	e := &env{Server: s, t: t}
	e.SignUp(t, "octo@example.com", testPassword)

	gh := func(b *browser) *page {
		t.Helper()
		p := b.get(t, "/v1/oauth/github/start").want(http.StatusFound)
		return b.get(t, "/v1/oauth/github/callback?"+authorize(t, p.header.Get("Location")).Encode())
	}
	b := e.browser()
	e.browser().get(t, "/login").want(http.StatusOK).contains("Continue with GitHub")
	gh(b).want(http.StatusConflict).contains("sign in the usual way", `href="/login"`).noSession(t, b)

	fake.SetUser(oauthtest.GitHubUser{ID: 42, Login: "octo", Name: "Octo Cat",
		Emails: []oauthtest.GitHubEmail{{Email: "octo@example.com", Primary: true, Verified: true}}})
	gh(b).redirectsTo("/")
	if b.cookie() == "" {
		t.Fatal("no session after the GitHub sign-in")
	}
	u, err := e.G.Auth().AdminUserByEmail(t.Context(), "octo@example.com")
	if err != nil || !u.EmailVerified {
		t.Fatalf("account %+v %v: want its email proven by GitHub", u, err)
	}
}

// TestProviderSignInFormPost: Apple posts its answer to the callback from
// its own site. That POST passes the pages' cross-origin refusal (it is a
// cross-site form post by design) and the state cookie is SameSite=None so
// that it comes along; another provider's callback takes no POST, and the
// POST still needs this browser's sealed state.
func TestProviderSignInFormPost(t *testing.T) {
	t.Parallel()
	var apple, acme *oauthtest.OIDC
	s := gatehousetest.Start(t, gatehousetest.OwnPublicURL(), gatehousetest.WithMail(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) { c.Dev = true; c.MailFrom = "no-reply@example.test" }),
		gatehousetest.WithAppleFake(oauthtest.User{Subject: "apple-1", Email: "mac@example.com", EmailVerified: "true"}, &apple),
		gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, ada, &acme))
	e := &env{Server: s, t: t}

	start := func(b *browser) url.Values {
		t.Helper()
		p := b.get(t, "/v1/oauth/apple/start").want(http.StatusFound)
		c := strings.Join(p.header.Values("Set-Cookie"), "\n")
		if !strings.Contains(c, "SameSite=None") || !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
			t.Fatalf("Apple's state cookie %q: want SameSite=None; Secure; HttpOnly", c)
		}
		return authorize(t, p.header.Get("Location"))
	}
	// Another browser's answer, posted cross-site: refused for its state.
	victim := e.browser()
	victim.get(t, "/v1/oauth/apple/start").want(http.StatusFound)
	victim.post(t, "/v1/oauth/apple/callback", start(e.browser()), crossSite()).want(http.StatusBadRequest).
		contains("not started in this browser").noSession(t, victim)

	// Apple's first post names the person (unsigned, beside the ID token).
	b := e.browser()
	answer := start(b)
	answer.Set("user", `{"name":{"firstName":"Mac","lastName":"Intosh"},"email":"mac@example.com"}`)
	b.post(t, "/v1/oauth/apple/callback", answer, crossSite()).redirectsTo("/")
	if b.cookie() == "" {
		t.Fatal("no session after Apple's form post")
	}
	if u, err := e.G.Auth().AdminUserByEmail(t.Context(), "mac@example.com"); err != nil || u.Name != "Mac Intosh" || !u.EmailVerified {
		t.Errorf("account %+v %v: want Apple's name and proven email", u, err)
	}
	// acme redirects with a GET: its callback takes no POST.
	b2 := e.browser()
	p := b2.get(t, "/v1/oauth/acme/start").want(http.StatusFound)
	b2.post(t, "/v1/oauth/acme/callback", authorize(t, p.header.Get("Location")), crossSite()).want(http.StatusNotFound).noSession(t, b2)
}

// TestProviderSignInGitHubOutage: GitHub failing at any step after the
// person approved (its token endpoint, or its API that says who they are)
// is a 502 page saying GitHub did not answer, with no session; once GitHub
// answers again the same person signs in.
func TestProviderSignInGitHubOutage(t *testing.T) {
	t.Parallel()
	var fake *oauthtest.GitHub
	s := gatehousetest.Start(t, gatehousetest.OwnPublicURL(),
		gatehousetest.WithConfig(func(c *gatehouse.Config) { c.Dev = true }),
		gatehousetest.WithGitHubFake(oauthtest.GitHubUser{ID: 7, Login: "octo", Name: "Octo Cat",
			Emails: []oauthtest.GitHubEmail{{Email: "octo@example.com", Primary: true, Verified: true}}}, &fake))
	e := &env{Server: s, t: t}
	gh := func(t *testing.T, b *browser) *page {
		t.Helper()
		p := b.get(t, "/v1/oauth/github/start").want(http.StatusFound)
		return b.get(t, "/v1/oauth/github/callback?"+authorize(t, p.header.Get("Location")).Encode())
	}
	for _, path := range []string{"/login/oauth/access_token", "/user", "/user/emails"} {
		t.Run(path, func(t *testing.T) {
			fake.DownAt(path, true)
			defer fake.DownAt(path, false)
			b := e.browser()
			gh(t, b).want(http.StatusBadGateway).contains("GitHub did not answer; try again in a moment.", `href="/login"`).noSession(t, b)
		})
	}
	b := e.browser()
	gh(t, b).redirectsTo("/")
	if b.cookie() == "" {
		t.Fatal("no session once GitHub answers again")
	}
}
