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

// The passkey endpoints of the pages, over HTTP, with the software
// authenticator of passkeytest as the browser's: the account page's
// passkeys card and its forms, the JSON endpoints static/passkey.js calls,
// and the attacks on them. The browser tests (browser_passkey_test.go)
// drive the same pages in Chromium.

// pkCeremony is a begin endpoint's answer.
type pkCeremony struct {
	ChallengeID string          `json:"challenge_id"`
	PublicKey   json.RawMessage `json:"publicKey"`
}

// pkAnswer is the other answers of the JSON endpoints.
type pkAnswer struct {
	Redirect string            `json:"redirect"`
	Error    string            `json:"error"`
	Code     string            `json:"code"`
	Fields   map[string]string `json:"fields"`
	MFAToken string            `json:"mfa_token"`
}

// postJSON posts body as JSON, as passkey.js does.
func (b *browser) postJSON(t testing.TB, path string, body any, opts ...reqOpt) *page {
	t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]reqOpt{gatehousetest.SameOrigin(), gatehousetest.Header("Accept", "application/json"), gatehousetest.Header("Content-Type", "application/json")}, opts...)
	r := b.e.DoWith(t, b.client, http.MethodPost, path, j, opts...)
	return &page{t: t, req: "POST " + path, status: r.Status, header: r.Header, body: string(r.Body)}
}

// answer decodes a JSON answer, which must be JSON whatever its status.
func (p *page) answer(v any) {
	p.t.Helper()
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		p.t.Fatalf("%s: Content-Type %q, want application/json; body:\n%s", p.req, ct, p.body)
	}
	if err := json.Unmarshal([]byte(p.body), v); err != nil {
		p.t.Fatalf("%s: %v: %s", p.req, err, p.body)
	}
}

// refused checks a JSON refusal: status, kind, and a message for people.
func (p *page) refused(status int, code string) pkAnswer {
	p.t.Helper()
	p.want(status)
	var a pkAnswer
	p.answer(&a)
	if a.Code != code || a.Error == "" {
		p.t.Fatalf("%s: answer %+v, want code %q and a message", p.req, a, code)
	}
	return a
}

// begin posts a begin endpoint and answers the ceremony.
func (b *browser) begin(t testing.TB, path string, body any) pkCeremony {
	t.Helper()
	var c pkCeremony
	p := b.postJSON(t, path, body).want(http.StatusOK)
	p.answer(&c)
	if c.ChallengeID == "" || len(c.PublicKey) == 0 {
		t.Fatalf("%s: %s", path, p.body)
	}
	return c
}

// addPasskey adds a new passkey of a to b's account through the account
// page's endpoints.
func (b *browser) addPasskey(t testing.TB, a *passkeytest.Authenticator, o passkeytest.Options) {
	t.Helper()
	c := b.begin(t, "/account/passkeys/begin", map[string]any{})
	cred, _, err := a.Register(c.PublicKey, 0, o)
	if err != nil {
		t.Fatal(err)
	}
	var ans pkAnswer
	b.postJSON(t, "/account/passkeys/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).
		want(http.StatusCreated).answer(&ans)
	if ans.Redirect != "/?done=passkey_added#passkeys" {
		t.Fatalf("after adding a passkey: %+v", ans)
	}
}

// passkeySignIn signs b in with a passkey of a (usernameless), posting
// redirectTo, and answers the finish's answer.
func (b *browser) passkeySignIn(t testing.TB, a *passkeytest.Authenticator, redirectTo string) *page {
	t.Helper()
	c := b.begin(t, "/login/passkey/begin", map[string]any{})
	cred, err := a.Login(c.PublicKey, passkeytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred), "redirect_to": redirectTo})
}

// passkeyIDs answers the IDs of the passkeys the account page lists.
func (p *page) passkeyIDs() []string {
	var ids []string
	for _, part := range strings.Split(p.body, `<li id="passkey-`)[1:] {
		ids = append(ids, part[:strings.IndexByte(part, '"')])
	}
	return ids
}

// TestPasskeyPages: a passkey added from the account page is listed there
// (name from its provider, provider, synced or not, never used), signs in
// usernameless through the sign-in page's endpoints (cookie set, the
// redirect_to checked like the forms check it), and is then listed as
// used; it can be renamed and, after a confirmation, removed, with and
// without htmx.
func TestPasskeyPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "pk-pages@example.com")
	// A passkey session (aal2): once the account has a passkey, a second
	// factor, adding another needs one.
	b, _ := acctBrowser(t, e, u, auth.MethodWebAuthn)

	page := b.get(t, "/").want(http.StatusOK)
	page.contains(`id="passkeys"`, "You have no passkeys yet.", `data-passkey-register="/account/passkeys/begin /account/passkeys/finish"`)

	// The AAGUID of Apple Passwords (iCloud Keychain), from the list
	// internal/aaguid ships.
	a := passkeytest.New(e.URL)
	a.AAGUID = []byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd}
	b.addPasskey(t, a, passkeytest.Options{BE: true, BS: true})
	page = b.get(t, "/?done=passkey_added").want(http.StatusOK)
	page.contains("Your passkey was added.", "Apple Passwords", "Synced", "not used yet").lacks("This device only", "You have no passkeys yet.")
	ids := page.passkeyIDs()
	if len(ids) != 1 {
		t.Fatalf("passkeys listed: %v", ids)
	}
	id := ids[0]

	// A second, device-bound one of an unknown provider: "Passkey".
	b.addPasskey(t, passkeytest.New(e.URL), passkeytest.Options{})
	page = b.get(t, "/").want(http.StatusOK)
	page.contains("This device only", ">Passkey</span>")

	// Sign in, from a browser with no cookie, usernameless.
	for _, tc := range []struct{ redirectTo, want string }{
		{"", "/"},
		{appOrigin + "/after", appOrigin + "/after"},
		{"https://evil.example/steal", "/"},
		{"/login/password", "/"},
	} {
		nb := e.browser()
		var ans pkAnswer
		nb.passkeySignIn(t, a, tc.redirectTo).want(http.StatusOK).answer(&ans)
		if ans.Redirect != tc.want {
			t.Errorf("redirect_to %q: redirect %q, want %q", tc.redirectTo, ans.Redirect, tc.want)
		}
		if nb.cookie() == "" {
			t.Fatal("a passkey sign-in set no session cookie")
		}
		nb.get(t, "/").want(http.StatusOK).contains("pk-pages@example.com", "last used")
	}

	// Rename: plain form, then htmx.
	b.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"My laptop"}}).redirectsTo("/?done=passkey_renamed#passkeys")
	b.get(t, "/").contains(">My laptop</span>")
	b.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"Work phone"}}, htmx()).want(http.StatusOK).
		fragment("passkeys").contains(">Work phone</span>", "The passkey was renamed.")
	b.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"  "}}).want(http.StatusBadRequest).
		contains(`id="passkey-name-error-`+id+`"`, "Name is required", `aria-invalid="true"`)

	// Remove: the first post asks, the confirmation removes.
	b.post(t, "/account/passkeys/"+id+"/remove", nil, htmx()).want(http.StatusOK).fragment("passkeys").
		contains("Remove “Work phone”?", `name="confirm" value="yes"`)
	if got := b.get(t, "/").passkeyIDs(); len(got) != 2 {
		t.Fatalf("asking removed a passkey: %v", got)
	}
	b.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).redirectsTo("/?done=passkey_removed#passkeys")
	page = b.get(t, "/?done=passkey_removed").contains("The passkey was removed.")
	if got := page.passkeyIDs(); len(got) != 1 || got[0] == id {
		t.Fatalf("after removing %s: %v", id, got)
	}
	// The removed passkey signs nobody in.
	c := e.browser().begin(t, "/login/passkey/begin", map[string]any{})
	cred, err := a.Login(c.PublicKey, passkeytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.browser().postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).
		refused(http.StatusUnauthorized, "invalid_credentials")
}

// TestPasskeyPagesRefuse: the attacks on the passkey endpoints and forms.
// Each is refused with a status and a message, never a 5xx.
func TestPasskeyPagesRefuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	owner := acctUser(t, e, "pk-owner@example.com")
	ob, _ := acctBrowser(t, e, owner, auth.MethodWebAuthn) // aal2: it adds a second passkey below
	a := passkeytest.New(e.URL)
	ob.addPasskey(t, a, passkeytest.Options{})
	id := ob.get(t, "/").passkeyIDs()[0]
	other := acctUser(t, e, "pk-other@example.com")
	xb, _ := acctBrowser(t, e, other)

	t.Run("cross-origin posts", func(t *testing.T) {
		// The pages' cross-origin protection: a post from another site
		// is refused before any handler runs.
		for _, path := range []string{"/login/passkey/begin", "/login/passkey/finish", "/account/passkeys/begin", "/account/passkeys/finish", "/account/passkeys/offered"} {
			ob.postJSON(t, path, map[string]any{}, crossSite()).want(http.StatusForbidden)
		}
		ob.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"pwned"}}, crossSite()).want(http.StatusForbidden)
		ob.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}, crossSite()).want(http.StatusForbidden)
		ob.get(t, "/").contains("<li id=\"passkey-" + id + "\"").lacks("pwned")
	})
	t.Run("not JSON", func(t *testing.T) {
		// A form (which another site could send without a preflight) is
		// not taken by the JSON endpoints.
		for _, path := range []string{"/login/passkey/begin", "/login/passkey/finish", "/account/passkeys/begin"} {
			p := ob.post(t, path, url.Values{"email": {"x@example.com"}}).want(http.StatusUnsupportedMediaType)
			var ans pkAnswer
			p.answer(&ans)
		}
		ob.postJSON(t, "/login/passkey/begin", "{not json", gatehousetest.Header("Content-Type", "application/json")).refused(http.StatusBadRequest, "invalid_request")
	})
	t.Run("not signed in", func(t *testing.T) {
		nb := e.browser()
		nb.postJSON(t, "/account/passkeys/begin", map[string]any{}).refused(http.StatusUnauthorized, "unauthorized")
		nb.postJSON(t, "/account/passkeys/finish", map[string]any{"challenge_id": "x", "credential": map[string]any{}}).refused(http.StatusUnauthorized, "unauthorized")
		nb.postJSON(t, "/account/passkeys/offered", map[string]any{}).refused(http.StatusUnauthorized, "unauthorized")
		nb.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"pwned"}}).redirectsTo("/login?redirect_to=%2F")
		nb.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).redirectsTo("/login?redirect_to=%2F")
	})
	t.Run("another user's passkey", func(t *testing.T) {
		xb.post(t, "/account/passkeys/"+id+"/rename", url.Values{"name": {"pwned"}}).want(http.StatusNotFound).contains("No such passkey.")
		xb.post(t, "/account/passkeys/"+id+"/remove", nil).want(http.StatusNotFound).contains("No such passkey.")
		xb.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).want(http.StatusNotFound).contains("No such passkey.")
		xb.post(t, "/account/passkeys/not*base64/remove", url.Values{"confirm": {"yes"}}).want(http.StatusNotFound)
		ob.get(t, "/").contains("<li id=\"passkey-" + id + "\"").lacks("pwned")
	})
	t.Run("bad credentials", func(t *testing.T) {
		nb := e.browser()
		c := nb.begin(t, "/login/passkey/begin", map[string]any{})
		for _, cred := range []any{map[string]any{"id": "AAAA", "type": "public-key"}, "garbage", 42} {
			c := nb.begin(t, "/login/passkey/begin", map[string]any{})
			nb.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": cred}).refused(http.StatusUnauthorized, "invalid_credentials")
		}
		nb.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID}).refused(http.StatusBadRequest, "invalid_request")
		nb.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": "garbage"}).refused(http.StatusUnauthorized, "invalid_credentials")
		// A good assertion, for a challenge a failure used up.
		cred, err := a.Login(c.PublicKey, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		nb.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).refused(http.StatusUnauthorized, "invalid_credentials")
		// Another site's origin in the assertion.
		c = nb.begin(t, "/login/passkey/begin", map[string]any{})
		cred, err = a.Login(c.PublicKey, passkeytest.Options{Origin: "https://evil.example"})
		if err != nil {
			t.Fatal(err)
		}
		nb.postJSON(t, "/login/passkey/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).refused(http.StatusUnauthorized, "invalid_credentials")
		if nb.cookie() != "" {
			t.Fatal("a refused passkey sign-in set a cookie")
		}
		// A registration that does not verify.
		rc := xb.begin(t, "/account/passkeys/begin", map[string]any{})
		xb.postJSON(t, "/account/passkeys/finish", map[string]any{"challenge_id": rc.ChallengeID, "credential": "garbage"}).refused(http.StatusBadRequest, "invalid_credential")
		// Another user's registration challenge.
		rc = ob.begin(t, "/account/passkeys/begin", map[string]any{})
		reg, _, err := passkeytest.New(e.URL).Register(rc.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		xb.postJSON(t, "/account/passkeys/finish", map[string]any{"challenge_id": rc.ChallengeID, "credential": json.RawMessage(reg)}).refused(http.StatusBadRequest, "invalid_credential")
		if ids := xb.get(t, "/").passkeyIDs(); len(ids) != 0 {
			t.Fatalf("another user's challenge added %v", ids)
		}
	})
}

// TestPasskeyRemoveRefusals: the account page says why a passkey cannot
// be removed, in the card: the last way in to an account (409), and a
// session without the second factor the account has (403).
func TestPasskeyRemoveRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// No password, an email not proven yet: the passkey is the only way in.
	const lone = "pk-lone@example.com"
	e.SignUp(t, lone, "")
	lu, err := e.G.Auth().AdminUserByEmail(context.Background(), lone)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := acctBrowser(t, e, lu, auth.MethodWebAuthn)
	lb.addPasskey(t, passkeytest.New(e.URL), passkeytest.Options{})
	id := lb.get(t, "/").passkeyIDs()[0]
	lb.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).want(http.StatusConflict).
		contains(`id="passkeys"`, "This passkey is the only way to sign in to this account")
	lb.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}, htmx()).want(http.StatusConflict).
		fragment("passkeys").contains("only way to sign in")

	// A second factor on (the passkey is one itself): removing needs a
	// session that passed it.
	u := acctUser(t, e, "pk-aal@example.com")
	b, _ := acctBrowser(t, e, u)
	b.addPasskey(t, passkeytest.New(e.URL), passkeytest.Options{})
	id = b.get(t, "/").passkeyIDs()[0]
	b.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).want(http.StatusForbidden).
		contains(`id="passkeys"`, needAAL2Text)
	b.postJSON(t, "/account/passkeys/begin", map[string]any{}).refused(http.StatusForbidden, "forbidden")
	aal2, _ := acctBrowser(t, e, u, auth.MethodPassword, auth.MethodOTP)
	aal2.post(t, "/account/passkeys/"+id+"/remove", url.Values{"confirm": {"yes"}}).redirectsTo("/?done=passkey_removed#passkeys")
}

// TestPasskeyOffer: after a password sign-in, an account without a
// passkey is offered one, once: the page carries the offer (hidden until
// the script finds the browser can make passkeys), and once the script
// records it was shown, not again. A sign-in by code, an account with a
// passkey, and a server without passkeys get no offer.
func TestPasskeyOffer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const offer = `data-passkey-offer="/account/passkeys/offered"`
	u := acctUser(t, e, "pk-offer@example.com")
	b, _ := acctBrowser(t, e, u, auth.MethodPassword)
	b.get(t, "/").want(http.StatusOK).contains(offer)
	b.postJSON(t, "/account/passkeys/offered", map[string]any{}).want(http.StatusNoContent)
	b.get(t, "/").want(http.StatusOK).lacks(offer)
	// Another account in the same browser is offered its own once.
	u2 := acctUser(t, e, "pk-offer2@example.com")
	c2, _ := e.session(t, u2, chromeMac, auth.MethodPassword)
	su, _ := url.Parse(e.URL)
	b.client.Jar.SetCookies(su, []*http.Cookie{{Name: e.Config.SessionCookieName, Value: c2, Path: "/"}})
	b.get(t, "/").want(http.StatusOK).contains(offer)

	cb, _ := acctBrowser(t, e, u, auth.MethodOTP)
	cb.get(t, "/").want(http.StatusOK).lacks(offer)
	pb, _ := acctBrowser(t, e, u2, auth.MethodPassword)
	pb.addPasskey(t, passkeytest.New(e.URL), passkeytest.Options{})
	pb.get(t, "/").want(http.StatusOK).lacks(offer)
}

// TestPasskeysOffPages: on a server whose public URL cannot serve
// passkeys, the pages show no passkey control and the endpoints answer
// 503 with a message.
func TestPasskeysOffPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *gatehouse.Config) { c.PublicURL = "http://127.0.0.1:1" })
	e.browser().get(t, "/login").want(http.StatusOK).contains(`autocomplete="username"`).lacks("username webauthn", "data-passkey-login", "data-passkey-autofill", "Sign in with a passkey")
	u := acctUser(t, e, "pk-off@example.com")
	b, _ := acctBrowser(t, e, u, auth.MethodPassword)
	b.get(t, "/").want(http.StatusOK).lacks(`id="passkeys"`, "data-passkey-offer", "data-passkey-register")
	b.postJSON(t, "/login/passkey/begin", map[string]any{}).refused(http.StatusServiceUnavailable, "unavailable")
	b.postJSON(t, "/account/passkeys/begin", map[string]any{}).refused(http.StatusServiceUnavailable, "unavailable")
}

// TestPasskeyLoginPage: with passkeys on, the sign-in page's address field
// offers passkeys in the browser's autofill and the page has the passkey
// button, hidden until the script shows it (so that with JavaScript off
// the page is as before).
func TestPasskeyLoginPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, path := range []string{"/login", "/login/password"} {
		e.browser().get(t, path).want(http.StatusOK).contains(
			`autocomplete="username webauthn"`,
			`data-passkey-autofill="/login/passkey/begin /login/passkey/finish"`,
			`<div class="passkey-signin" data-passkey-only hidden>`,
			`data-passkey-login="/login/passkey/begin /login/passkey/finish"`,
		)
	}
}
