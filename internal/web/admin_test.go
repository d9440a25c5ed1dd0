package web_test

// Tests of the admin page (/admin): who may use it, the user list and one
// user's page, the actions on a user, and recent deliveries. Browsers get
// session cookies the harness writes (gatehousetest.Server.Session), so a
// test chooses each session's assurance level; admins are made through
// auth.Service.AdminUpdateUser, as the CLI and the admin API make them.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// admLinuxFirefox is the user agent of the admin tests' sessions.
const admLinuxFirefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// Texts the tests look for.
const (
	admNotAdminText = "This page is for administrators, and your account is not one."
	admNeedAAL2Text = "Your account has a second factor, so the admin pages need it: confirm it’s you with your second factor."
	admSelfText     = "You cannot do this to your own account: ask another admin."
	admHeaderLink   = `<a href="/admin">Admin</a>`
)

// admUser creates a passwordless account with email and answers it.
func admUser(t *testing.T, e *env, email string) *auth.User {
	t.Helper()
	u, err := e.G.Auth().SignUp(context.Background(), auth.SignUpInput{Email: email, EmailVerified: true})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return u
}

// admSetRole grants (or takes away) the admin role of u.
func admSetRole(t *testing.T, e *env, u *auth.User, admin bool) {
	t.Helper()
	got, err := e.G.Auth().AdminUpdateUser(context.Background(), u.ID, auth.AdminUpdate{Admin: &admin})
	if err != nil || got.Admin != admin {
		t.Fatalf("set admin %v of %s: %v, %+v", admin, u.Email, err, got)
	}
	u.Admin = admin
}

// admAdmin creates an account with the admin role.
func admAdmin(t *testing.T, e *env, email string) *auth.User {
	t.Helper()
	u := admUser(t, e, email)
	admSetRole(t, e, u, true)
	return u
}

// admCookie starts a browser session of u signed in with the methods amr
// (two make it aal2) and answers its cookie value.
func admCookie(t *testing.T, e *env, u *auth.User, amr ...string) string {
	t.Helper()
	cookie, _ := e.session(t, u, admLinuxFirefox, amr...)
	return cookie
}

// admBrowser answers a browser signed in as u (see admCookie) and its
// cookie.
func admBrowser(t *testing.T, e *env, u *auth.User, amr ...string) (*browser, string) {
	t.Helper()
	cookie := admCookie(t, e, u, amr...)
	return e.browserWith(cookie), cookie
}

// admStored answers u as stored now.
func admStored(t *testing.T, e *env, u *auth.User) *auth.User {
	t.Helper()
	got, err := e.G.Auth().AdminUser(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("find %s: %v", u.Email, err)
	}
	return got
}

// admEmailFactor turns the email second factor on for u.
func admEmailFactor(t *testing.T, e *env, u *auth.User) {
	t.Helper()
	ctx := context.Background()
	p, err := e.G.Auth().CookiePrincipal(ctx, admCookie(t, e, u))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.G.Auth().EnableEmailFactor(ctx, p, auth.Client{}); err != nil {
		t.Fatalf("email factor of %s: %v", u.Email, err)
	}
}

// admHTML answers s as html/template writes it in text.
func admHTML(s string) string {
	return strings.NewReplacer("+", "&#43;", "'", "&#39;", `"`, "&#34;").Replace(s)
}

// TestAdminAccess: only a signed-in admin, with a second-factor session
// when the account has a second factor on, may use the admin page; every
// one of its addresses, GET or POST, checks it.
func TestAdminAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	target := admUser(t, e, "target@example.com")
	plain := admUser(t, e, "plain@example.com")
	bare := admAdmin(t, e, "bare@example.com") // no second factor
	strong := admAdmin(t, e, "strong@example.com")
	admEmailFactor(t, e, strong)
	targetCookie := admCookie(t, e, target)
	pages := []string{"/admin", "/admin/users/" + target.ID}
	actions := []string{"disable", "enable", "sessions/revoke", "admin/grant", "admin/remove", "factors/reset"}

	for _, tc := range []struct {
		name    string
		browser func() *browser
		// status is what every page and action answers; 0 means a
		// redirect to /login, 303 a page's redirect to the step-up page
		// (and 403 with text for an action, a post).
		status int
		text   string
	}{
		{"signed out", e.browser, 0, ""},
		{"not an admin", func() *browser { b, _ := admBrowser(t, e, plain); return b }, http.StatusForbidden, admNotAdminText},
		{"admin with a factor, aal1", func() *browser { b, _ := admBrowser(t, e, strong); return b }, http.StatusSeeOther, admNeedAAL2Text},
		{"admin with a factor, aal1 by code", func() *browser { b, _ := admBrowser(t, e, strong, auth.MethodOTP); return b }, http.StatusSeeOther, admNeedAAL2Text},
		{"admin with a factor, aal2", func() *browser {
			b, _ := admBrowser(t, e, strong, auth.MethodPassword, auth.MethodEmailCode)
			return b
		}, http.StatusOK, "Users"},
		{"admin without a factor, aal1", func() *browser { b, _ := admBrowser(t, e, bare); return b }, http.StatusOK, "Users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.browser()
			for _, path := range pages {
				p := b.get(t, path)
				switch tc.status {
				case 0:
					p.redirectsTo("/login?redirect_to=" + url.QueryEscape(path))
				case http.StatusSeeOther:
					p.redirectsTo("/step-up?redirect_to=" + url.QueryEscape(path))
				case http.StatusOK:
					p.want(http.StatusOK).contains(admHeaderLink, "target@example.com")
				default:
					p.want(tc.status).contains(tc.text).lacks("target@example.com", "Disable account")
				}
			}
			if tc.status == http.StatusOK {
				return // the actions of admins are TestAdminActions'
			}
			if tc.status == http.StatusSeeOther {
				tc.status = http.StatusForbidden // an action is a post: no step-up redirect
			}
			for _, a := range actions {
				p := b.post(t, "/admin/users/"+target.ID+"/"+a, url.Values{})
				if tc.status == 0 {
					p.redirectsTo("/login?redirect_to=%2F")
				} else {
					p.want(tc.status).contains(tc.text)
				}
				p = b.post(t, "/admin/users/"+target.ID+"/"+a, url.Values{}, htmx())
				if tc.status == 0 {
					p.redirectsTo("/login?redirect_to=%2F")
				} else {
					p.want(tc.status).contains(tc.text)
				}
			}
			if got := admStored(t, e, target); got.Disabled() || got.Admin {
				t.Fatalf("a refused action changed the user: %+v", got)
			}
			if e.checkStatus(t, targetCookie) != http.StatusOK {
				t.Fatal("a refused revocation ended the user's sessions")
			}
		})
	}

	// The header shows the Admin link to admins only.
	b, _ := admBrowser(t, e, plain)
	b.get(t, "/admin").want(http.StatusForbidden).lacks(admHeaderLink).contains("plain@example.com")
}

// TestAdminRoleTakesEffectAtOnce: granting or taking away the role counts
// from the next request, though the session was seen (and cached) before.
func TestAdminRoleTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := admUser(t, e, "rising@example.com")
	b, _ := admBrowser(t, e, u)
	b.get(t, "/admin").want(http.StatusForbidden).lacks(admHeaderLink)
	admSetRole(t, e, u, true)
	b.get(t, "/admin").want(http.StatusOK).contains(admHeaderLink)
	admSetRole(t, e, u, false)
	b.get(t, "/admin").want(http.StatusForbidden).contains(admNotAdminText).lacks(admHeaderLink)
}

// TestAdminUserList: the list shows every user with badges, searches
// email, phone and name, and pages with a Next page link.
func TestAdminUserList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	ctx := context.Background()
	// 55 users whose email holds "page" and three to find.
	for i := range 55 {
		if _, err := e.G.Auth().SignUp(ctx, auth.SignUpInput{Email: fmt.Sprintf("page%02d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ann, err := e.G.Auth().SignUp(ctx, auth.SignUpInput{Email: "ann@example.org", Name: "Ann Quill", Phone: "+14155552671", EmailVerified: true, PhoneVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	gone := admUser(t, e, "gone@example.net")
	if _, err := e.G.Auth().AdminUpdateUser(ctx, gone.ID, auth.AdminUpdate{Disabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	b, _ := admBrowser(t, e, admin)

	// rows answers the user links of a list page, in order.
	linkRE := regexp.MustCompile(`<a href="/admin/users/([0-9a-f-]{36})">([^<]*)</a>`)
	rows := func(p *page) []string {
		var out []string
		for _, m := range linkRE.FindAllStringSubmatch(p.body, -1) {
			out = append(out, m[2])
		}
		return out
	}
	nextRE := regexp.MustCompile(`<a href="(/admin\?[^"]*)" rel="next">Next page</a>`)

	for _, tc := range []struct {
		query string
		want  []string // every user listed, when the list fits one page
		n     int      // or how many the first page lists
	}{
		{"", nil, 50},
		{"page", nil, 50},
		{"ANN@", []string{"ann@example.org"}, 1},
		{"quill", []string{"ann@example.org"}, 1},
		{"5552671", []string{"ann@example.org"}, 1},
		{"example.net", []string{"gone@example.net"}, 1},
		{"nobody-here", nil, 0},
	} {
		t.Run("query "+tc.query, func(t *testing.T) {
			p := b.get(t, "/admin?query="+url.QueryEscape(tc.query)).want(http.StatusOK)
			got := rows(p)
			if len(got) != tc.n || (tc.want != nil && strings.Join(got, ",") != strings.Join(tc.want, ",")) {
				t.Fatalf("listed %d users %v, want %d %v", len(got), got, tc.n, tc.want)
			}
			if tc.n == 0 {
				p.contains("No user matches this search.")
			}
			if tc.n == 50 {
				p.contains("Next page")
			} else {
				p.lacks("Next page")
			}
		})
	}

	// Paging through the "page" users sees each once, then ends.
	seen := map[string]bool{}
	path := "/admin?query=page"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		p := b.get(t, path).want(http.StatusOK)
		for _, email := range rows(p) {
			if seen[email] || !strings.HasPrefix(email, "page") {
				t.Fatalf("page %d lists %s (seen before: %v)", pages, email, seen[email])
			}
			seen[email] = true
		}
		path = ""
		if m := nextRE.FindStringSubmatch(p.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.Contains(path, "query=page") {
				t.Fatalf("the next page forgets the search: %s", path)
			}
		}
		if pages > 0 {
			p.contains("First page")
		}
	}
	if len(seen) != 55 {
		t.Fatalf("paged through %d users, want 55", len(seen))
	}

	// Badges: Ann's verified email and phone, the disabled user, the admin.
	b.get(t, "/admin?query=ann").want(http.StatusOK).
		contains("Email verified", "Phone verified", admHTML(ann.Phone)).lacks("Disabled")
	b.get(t, "/admin?query=gone").want(http.StatusOK).contains(`<span class="badge warn">Disabled</span>`, "Email verified")
	b.get(t, "/admin?query=boss").want(http.StatusOK).contains(`<span class="badge ok">Admin</span>`)
	b.get(t, "/admin?query=page00").want(http.StatusOK).contains("Email not verified").lacks(`badge ok">Admin`)

	// htmx searches get the content only.
	p := b.get(t, "/admin?query=quill", htmx()).want(http.StatusOK).contains("ann@example.org")
	if strings.Contains(p.body, "<html") {
		t.Fatal("an htmx search answered a whole page")
	}

	// Bad input is explained, never a 500.
	b.get(t, "/admin?query="+strings.Repeat("q", 201)).want(http.StatusBadRequest).contains(`aria-invalid="true"`, "at most 200")
	b.get(t, "/admin?cursor=not-a-cursor").want(http.StatusBadRequest).contains("Start again from the first page")
}

// TestAdminUserPage: one user's facts, live sessions (metadata, never a
// credential) and second factors.
func TestAdminUserPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	u, err := e.G.Auth().SignUp(context.Background(), auth.SignUpInput{Email: "cleo@example.com", Name: "Cleo Page", Phone: "+16135550123", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	admEmailFactor(t, e, u)
	c1 := admCookie(t, e, u, auth.MethodPassword, auth.MethodEmailCode)
	c2 := admCookie(t, e, u)
	b, own := admBrowser(t, e, admin)

	p := b.get(t, "/admin/users/"+u.ID).want(http.StatusOK).contains(
		"<h1 id=\"user-heading\">cleo@example.com</h1>", u.ID, "Cleo Page", admHTML(u.Phone), "Not verified",
		"Second factors", "<li>Email code</li>", "Unused backup codes: 10",
		"Firefox on Linux", "192.0.2.7", "Second factor</span>",
		"Disable account", "Revoke all sessions", "Make admin",
	).lacks("Enable account", "Remove admin role", "<li>Authenticator app</li>")
	// Three live sessions: the one admEmailFactor used and c1, c2.
	if n := strings.Count(p.body, "Firefox on Linux"); n != 3 {
		t.Errorf("%d sessions listed, want 3", n)
	}
	p.lacks(c1, c2, own)
	// The audit log: the factor turned on, with where from.
	p.contains("Audit log", "<td>Second factor added</td>").lacks("No events yet.")

	// One's own page offers nothing that would lock one out.
	b.get(t, "/admin/users/"+admin.ID).want(http.StatusOK).
		contains("This is your own account", "<span class=\"badge ok\">Admin</span>", "None: the account signs in with one factor.", "<td>Roles changed</td>").
		lacks("Disable account", "Remove admin role", "Make admin")

	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-an-id"} {
		b.get(t, "/admin/users/"+id).want(http.StatusNotFound).contains("No such user.")
	}
}

// TestAdminActions: disable and enable, revoke every session, grant and
// take away the role; an admin cannot remove their own role or disable
// themselves. Each works as a plain form post (303 with a notice) and
// with htmx (the page itself).
func TestAdminActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	u := admUser(t, e, "dan@example.com")
	b, _ := admBrowser(t, e, admin)
	userPage := "/admin/users/" + u.ID

	// act posts action as a plain form, follows the redirect and answers
	// the page, or with htmx answers the page directly.
	act := func(t *testing.T, action string, withHTMX bool) *page {
		t.Helper()
		if withHTMX {
			p := b.post(t, userPage+"/"+action, url.Values{}, htmx()).want(http.StatusOK)
			if p.header.Get("HX-Push-Url") != userPage || strings.Contains(p.body, "<html") {
				t.Fatalf("htmx %s: HX-Push-Url %q, whole page %v", action, p.header.Get("HX-Push-Url"), strings.Contains(p.body, "<html"))
			}
			return p
		}
		b.post(t, userPage+"/"+action, url.Values{}).redirectsTo(userPage + "?done=" + url.QueryEscape(action))
		return b.get(t, userPage+"?done="+url.QueryEscape(action)).want(http.StatusOK)
	}

	for _, withHTMX := range []bool{false, true} {
		t.Run(fmt.Sprintf("htmx %v", withHTMX), func(t *testing.T) {
			cookie := admCookie(t, e, u)
			if e.checkStatus(t, cookie) != http.StatusOK {
				t.Fatal("a new session fails /v1/check")
			}

			act(t, "disable", withHTMX).contains("The account is disabled", `<span class="badge warn">Disabled</span>`, "Enable account").
				lacks("Disable account", "Firefox on Linux")
			if e.checkStatus(t, cookie) != http.StatusUnauthorized {
				t.Fatal("a disabled user's cookie still passes /v1/check")
			}
			if !admStored(t, e, u).Disabled() {
				t.Fatal("not disabled")
			}
			// Nor can a new sign-in start: a disabled account is sent no
			// code (the answer is the same as for anyone, so as not to
			// tell; the second round is over the address's send limit).
			if r := e.Do(t, "POST", "/v1/otp", map[string]any{"email": u.Email}); r.Status != http.StatusAccepted && r.Status != http.StatusTooManyRequests {
				t.Fatalf("a code for a disabled user: %d %s", r.Status, r.Body)
			}
			var outbox struct {
				Messages []struct {
					To string `json:"to"`
				} `json:"messages"`
			}
			e.Do(t, "GET", "/v1/admin/messages?limit=199", nil, gatehousetest.Admin()).Want(http.StatusOK).Decode(&outbox)
			for _, m := range outbox.Messages {
				if m.To == u.Email {
					t.Fatalf("a disabled user was sent a code: %+v", outbox.Messages)
				}
			}

			act(t, "enable", withHTMX).contains("The account is enabled", "Disable account", "No live sessions.").lacks("Enable account")
			if admStored(t, e, u).Disabled() {
				t.Fatal("still disabled")
			}
			if e.checkStatus(t, cookie) != http.StatusUnauthorized {
				t.Fatal("enabling brought an old session back")
			}

			c1, c2 := admCookie(t, e, u), admCookie(t, e, u)
			act(t, "sessions/revoke", withHTMX).contains("Every session of the account has ended.", "No live sessions.")
			for _, c := range []string{c1, c2} {
				if e.checkStatus(t, c) != http.StatusUnauthorized {
					t.Fatal("a revoked session still passes /v1/check")
				}
			}

			admEmailFactor(t, e, u)
			c3 := admCookie(t, e, u)
			b.get(t, userPage).want(http.StatusOK).contains("Turn off second factors").lacks("None: the account signs in with one factor.")
			act(t, "factors/reset", withHTMX).contains("Every second factor of the account is off", "None: the account signs in with one factor.",
				"Unused backup codes: 0", "No live sessions.").lacks("Turn off second factors")
			if kinds, left, err := e.G.Auth().AdminFactors(context.Background(), u.ID); err != nil || len(kinds) != 0 || left != 0 {
				t.Fatalf("after the reset: factors %v, %d backup codes, %v", kinds, left, err)
			}
			if e.checkStatus(t, c3) != http.StatusUnauthorized {
				t.Fatal("a session survived the reset of the second factors")
			}

			act(t, "admin/grant", withHTMX).contains("The account has the admin role now.", "Remove admin role").lacks("Make admin")
			if !admStored(t, e, u).Admin {
				t.Fatal("no admin role after Make admin")
			}
			act(t, "admin/remove", withHTMX).contains("The account no longer has the admin role.", "Make admin").lacks("Remove admin role")
			if admStored(t, e, u).Admin {
				t.Fatal("still an admin after Remove admin")
			}
		})
	}

	// One's own role and account are refused, with the reason.
	admEmailFactor(t, e, admin)
	b, own := admBrowser(t, e, admin, auth.MethodPassword, auth.MethodEmailCode)
	for _, action := range []string{"admin/remove", "disable", "factors/reset"} {
		for _, opt := range [][]reqOpt{nil, {htmx()}} {
			b.post(t, "/admin/users/"+admin.ID+"/"+action, url.Values{}, opt...).want(http.StatusForbidden).contains(admSelfText)
		}
	}
	if got := admStored(t, e, admin); !got.Admin || got.Disabled() {
		t.Fatalf("the admin changed their own account: %+v", got)
	}
	if kinds, _, err := e.G.Auth().AdminFactors(context.Background(), admin.ID); err != nil || len(kinds) != 1 {
		t.Fatalf("the admin turned off their own second factor: %v, %v", kinds, err)
	}
	b.get(t, "/admin").want(http.StatusOK)

	// An unknown notice key shows nothing; an unknown user is 404.
	b.get(t, userPage+"?done=%3Cscript%3E").want(http.StatusOK).lacks("<script>", `class="alert notice"`)
	b.post(t, "/admin/users/00000000-0000-4000-8000-000000000000/disable", url.Values{}).want(http.StatusNotFound)

	// Revoking one's own sessions signs one out.
	b.post(t, "/admin/users/"+admin.ID+"/sessions/revoke", url.Values{}).redirectsTo("/login")
	if e.checkStatus(t, own) != http.StatusUnauthorized {
		t.Fatal("the admin's own session survived revoking all of them")
	}
	b.get(t, "/admin").redirectsTo("/login?redirect_to=%2Fadmin")
}

// TestAdminCrossSite: an action posted from another site is refused before
// it runs.
func TestAdminCrossSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	u := admUser(t, e, "eve@example.com")
	cookie := admCookie(t, e, u)
	b, _ := admBrowser(t, e, admin)
	for _, action := range []string{"disable", "sessions/revoke", "admin/grant", "factors/reset"} {
		b.post(t, "/admin/users/"+u.ID+"/"+action, url.Values{}, crossSite()).want(http.StatusForbidden).contains("sent from another site")
	}
	if got := admStored(t, e, u); got.Disabled() || got.Admin {
		t.Fatalf("a cross-site post changed the user: %+v", got)
	}
	if e.checkStatus(t, cookie) != http.StatusOK {
		t.Fatal("a cross-site post ended the user's session")
	}
	// The same post from the page itself works: the refusal was the origin.
	b.post(t, "/admin/users/"+u.ID+"/admin/grant", url.Values{}).want(http.StatusSeeOther)
}

// TestAdminDeliveries: recent emails and SMS are listed with masked
// recipients, never their content.
func TestAdminDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	b, _ := admBrowser(t, e, admin)
	b.get(t, "/admin").want(http.StatusOK).contains("Nothing has been sent yet.")

	const email, phone = "dora@example.com", "+14155552672"
	for _, body := range []map[string]string{{"email": email}, {"phone": phone}} {
		e.Do(t, "POST", "/v1/otp", body).Accepted()
	}
	mailCode, _ := e.mailCode(t, email, 1)
	smsCode := e.smsCode(t, phone, 1)
	if mailCode == "" || smsCode == "" {
		t.Fatalf("codes %q, %q", mailCode, smsCode)
	}

	p := b.get(t, "/admin").want(http.StatusOK)
	// The outbox marks a message sent just after handing it over; the
	// page is read again until both show as sent.
	for deadline := time.Now().Add(wait); strings.Count(p.body, `<span class="badge ok">Sent</span>`) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		p = b.get(t, "/admin").want(http.StatusOK)
	}
	p.contains("Recent deliveries", "d***@example.com", "********2672", "Sign-in code", "Code by SMS", "SMS", `<span class="badge ok">Sent</span>`).
		lacks(email, phone, admHTML(phone), "5552672", mailCode, smsCode, "Nothing has been sent yet.")
	if n := strings.Count(p.body, `<span class="badge ok">Sent</span>`); n != 2 {
		t.Fatalf("%d deliveries shown sent, want 2", n)
	}
	// Each was sent at its first try: one attempt, as the worker logs it.
	if n := strings.Count(p.body, "<td>1</td>"); n != 2 || strings.Contains(p.body, "<td>0</td>") {
		t.Errorf("attempts: %d rows show 1, want 2 (and none 0)", n)
	}

	// The status filter: a plain GET form, the choice kept selected.
	for _, tc := range []struct {
		status   string
		sent     int
		contains []string
	}{
		{"", 2, []string{`<option value="" selected>Any status</option>`}},
		{"sent", 2, []string{`<option value="sent" selected>Sent</option>`}},
		{"failed", 0, []string{`<option value="failed" selected>Failed</option>`, "No delivery has this status."}},
		{"pending", 0, []string{"No delivery has this status."}},
	} {
		p := b.get(t, "/admin?status="+tc.status).want(http.StatusOK).contains(tc.contains...).
			contains(`<form method="get" action="/admin" class="filter"`, `<select id="status" name="status">`)
		if n := strings.Count(p.body, `<span class="badge ok">Sent</span>`); n != tc.sent {
			t.Errorf("status %q: %d sent rows, want %d", tc.status, n, tc.sent)
		}
	}
	// A hand-made status is explained, never a 500; the users still show.
	for _, bad := range []string{"bogus", "SENT", "sent%00"} {
		b.get(t, "/admin?status="+bad).want(http.StatusBadRequest).
			contains("That delivery status is not one of the list", "boss@example.com").lacks(`<span class="badge ok">Sent</span>`)
	}
	// The user search keeps the filter, and the filter the search.
	b.get(t, "/admin?status=sent&query=boss").want(http.StatusOK).
		contains(`<input type="hidden" name="status" value="sent">`, `<input type="hidden" name="query" value="boss">`)
}

// TestAdminUserMethods: a user's page lists the provider identities linked
// to the account (the provider's label, the email it gave with its
// verified badge, when linked and last used) and the passkeys (name,
// created, last used, never the key), and names a passkey among the second
// factors.
func TestAdminUserMethods(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) {
		e, _ := oauthEnv(t, ada, nil, true, gatehousetest.WithDB(db))
		admin := admAdmin(t, e, "boss@example.com")
		b, _ := admBrowser(t, e, admin)

		// Ada signs up through the provider, and again a minute later.
		pb := e.browser()
		pb.callback(t, authorize(t, pb.startProvider(t, ""))).want(http.StatusSeeOther)
		linked := e.Clock.Now()
		e.Clock.Advance(time.Minute)
		pb = e.browser()
		pb.callback(t, authorize(t, pb.startProvider(t, ""))).want(http.StatusSeeOther)
		u, err := e.G.Auth().AdminUserByEmail(t.Context(), ada.Email)
		if err != nil {
			t.Fatal(err)
		}
		b.get(t, "/admin/users/"+u.ID).want(http.StatusOK).contains(
			"Linked sign-in providers", "<td>Acme</td>", "<td>"+ada.Email+` <span class="badge ok">Verified</span></td>`,
			adminText(linked), adminText(linked.Add(time.Minute)),
			"Passkeys", "<p class=\"muted\">None.</p>",
		).lacks(ada.Subject, "Not since linked", "Tokens kept")

		// A passkey account: its passkey listed, never used yet, and
		// counted as a second factor by name.
		const email = "pk-admin@example.com"
		e.browser().signupPasskey(t, passkeytest.New(e.URL), email, "").want(http.StatusOK)
		pu, err := e.G.Auth().AdminUserByEmail(t.Context(), email)
		if err != nil {
			t.Fatal(err)
		}
		pks, err := e.G.Auth().AdminPasskeys(t.Context(), pu.ID)
		if err != nil || len(pks) != 1 {
			t.Fatalf("passkeys %v, %v", pks, err)
		}
		b.get(t, "/admin/users/"+pu.ID).want(http.StatusOK).contains(
			"<td>"+template.HTMLEscapeString(pks[0].Name)+"</td>", adminText(pks[0].CreatedAt), "<span class=\"muted\">Never</span>",
			"<li>Passkey</li>", "None: no provider is linked to this account.",
		).lacks("<li>webauthn</li>")

		if _, err := e.G.Auth().AdminPasskeys(t.Context(), "00000000-0000-4000-8000-000000000000"); auth.KindOf(err) != auth.KindNotFound {
			t.Errorf("passkeys of an unknown user: %v, want not found", err)
		}
	})
}

// adminText is t as the admin page writes it.
func adminText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// TestAdminRoles: the user's page lists the roles and saves a new
// comma-separated list (a plain form post and htmx alike); a bad name is
// refused with the rule and changes nothing; an admin may change their own
// roles but not drop their own admin role.
func TestAdminRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	admin := admAdmin(t, e, "boss@example.com")
	u := admUser(t, e, "clerk@example.com")
	b, _ := admBrowser(t, e, admin)
	page := "/admin/users/" + u.ID
	b.get(t, page).want(http.StatusOK).contains("<dt>Roles</dt><dd><span class=\"muted\">None</span>", `name="roles" value=""`)

	wantRoles := func(want ...string) {
		t.Helper()
		if got := admStored(t, e, u); !slices.Equal(got.Roles, want) || got.Admin != slices.Contains(want, auth.RoleAdmin) {
			t.Fatalf("stored roles %v (admin %v), want %v", got.Roles, got.Admin, want)
		}
	}
	b.post(t, page+"/roles", url.Values{"roles": {" ops, billing,,ops "}}).redirectsTo(page + "?done=roles")
	wantRoles("billing", "ops")
	b.get(t, page+"?done=roles").want(http.StatusOK).contains("The account&#39;s roles are saved.",
		`<span class="badge">billing</span> <span class="badge">ops</span>`, `name="roles" value="billing, ops"`)
	b.post(t, page+"/roles", url.Values{"roles": {"admin,billing"}}, htmx()).want(http.StatusOK).
		contains("The account&#39;s roles are saved.", `<span class="badge ok">Admin</span>`, `name="roles" value="admin, billing"`)
	wantRoles("admin", "billing")

	for _, bad := range []string{"Billing", "a b", "-ops", strings.Repeat("r", 65)} {
		for _, opt := range [][]reqOpt{nil, {htmx()}} {
			b.post(t, page+"/roles", url.Values{"roles": {bad}}, opt...).want(http.StatusBadRequest).contains("Roles not saved:", "is not a role name")
		}
		wantRoles("admin", "billing")
	}
	b.post(t, page+"/roles", url.Values{}).redirectsTo(page + "?done=roles")
	wantRoles()

	// One's own roles: others may change, the admin role stays.
	own := "/admin/users/" + admin.ID
	b.get(t, own).want(http.StatusOK).contains("You cannot remove your own admin role.")
	for _, roles := range []string{"", "billing", "Admin"} {
		b.post(t, own+"/roles", url.Values{"roles": {roles}}).want(http.StatusForbidden).contains(admSelfText)
	}
	if got := admStored(t, e, admin); !slices.Equal(got.Roles, []string{auth.RoleAdmin}) {
		t.Fatalf("the admin's own roles changed: %v", got.Roles)
	}
	b.post(t, own+"/roles", url.Values{"roles": {"admin, ops"}}).redirectsTo(own + "?done=roles")
	if got := admStored(t, e, admin); !slices.Equal(got.Roles, []string{auth.RoleAdmin, "ops"}) {
		t.Fatalf("the admin's own roles: %v, want [admin ops]", got.Roles)
	}
	b.post(t, page+"/roles", url.Values{"roles": {"ops"}}, crossSite()).want(http.StatusForbidden).contains("sent from another site")
	wantRoles()
}
