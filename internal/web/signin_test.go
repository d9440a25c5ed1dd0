package web_test

// Tests of the sign-in page, /login (code, link, password), against a real
// server; the second-factor step, /signup, /recover and /logout have test
// files of their own, named after their pages.

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

const (
	signinPhone  = "+14155552671"
	signinPhone2 = "+14155552672"
	// signinNewPassword is what recovery sets.
	signinNewPassword = "a brand new passphrase 7"
)

// TestSignInPagesRoutes: every page answers, with the security headers,
// and the steps that only answer posts send a GET back to the start.
func TestSignInPagesRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	for _, tc := range []struct {
		path   string
		status int
		// location is where a redirect goes ("" for a page).
		location string
		contains []string
	}{
		{"/login", http.StatusOK, "", []string{"<h1", "Email or phone", `action="/login/code"`, `formaction="/login/link"`, `href="/login/password"`, `href="/signup"`}},
		{"/login?signed_out=1", http.StatusOK, "", []string{"You are signed out."}},
		{"/login/password", http.StatusOK, "", []string{`autocomplete="current-password"`, `type="password"`, `href="/recover"`}},
		{"/signup", http.StatusOK, "", []string{`autocomplete="new-password"`, "At least 8 characters", `autocomplete="name"`}},
		{"/recover", http.StatusOK, "", []string{`type="email"`, `autocomplete="email"`, `action="/recover"`}},
		{"/logout", http.StatusSeeOther, "/login", nil},
		{"/login/code", http.StatusSeeOther, "/login", nil},
		{"/login/mfa", http.StatusSeeOther, "/login", nil},
		{"/login/verify?redirect_to=%2Fsettings", http.StatusSeeOther, "/login?redirect_to=%2Fsettings", nil},
		{"/recover/verify", http.StatusSeeOther, "/recover", nil},
	} {
		p := b.get(t, tc.path).want(tc.status)
		if tc.location != "" {
			p.redirectsTo(tc.location)
			continue
		}
		p.contains(tc.contains...).contains("<html", "/static/style.css?v=")
		signinPageRules(t, p)
	}
}

// signinPageRules checks what every page must have: the security headers,
// nothing inline the Content-Security-Policy would block, a label for
// every visible field and the code fields' attributes.
func signinPageRules(t testing.TB, p *page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q", p.req, csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s: %s %q, want %q", p.req, h, got, want)
		}
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q", p.req, ct)
	}
	p.lacks(" style=", "<style", "<script>", "javascript:")
	for _, in := range signinInputRE.FindAllString(p.body, -1) {
		if strings.Contains(in, `type="hidden"`) || strings.Contains(in, `type="radio"`) {
			continue
		}
		id := signinAttrRE("id").FindStringSubmatch(in)
		if id == nil || !strings.Contains(p.body, `<label for="`+id[1]+`"`) {
			t.Errorf("%s: input without a label: %s", p.req, in)
		}
		if strings.Contains(in, `name="code"`) && (!strings.Contains(in, `autocomplete="one-time-code"`) || !strings.Contains(in, `class="code"`)) {
			t.Errorf("%s: code field %s", p.req, in)
		}
	}
}

var signinInputRE = regexp.MustCompile(`(?s)<input\b[^>]*>`)

func signinAttrRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`\b` + name + `="([^"]*)"`)
}

// signinHidden answers the value of the form field name in the page.
func signinHidden(t testing.TB, p *page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no %s field in:\n%s", p.req, name, p.body)
	}
	return html.UnescapeString(m[1])
}

// signinHTML is s as html/template writes it into a page (it escapes +
// too).
func signinHTML(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "+", "&#43;")
}

// signinCodeField checks the code step's field: numeric one-time code.
func signinCodeField(t testing.TB, p *page) {
	t.Helper()
	in := regexp.MustCompile(`(?s)<input id="code"[^>]*>`).FindString(p.body)
	for _, want := range []string{`name="code"`, `autocomplete="one-time-code"`, `inputmode="numeric"`, `pattern="[0-9]*"`, `class="code"`, "autofocus"} {
		if !strings.Contains(in, want) {
			t.Fatalf("%s: code field %q lacks %s", p.req, in, want)
		}
	}
}

// signinCheck answers the status of GET /v1/check with a session cookie
// or a Bearer token.
func signinCheck(t testing.TB, e *env, cookie, bearer string) (int, string) {
	t.Helper()
	var opts []reqOpt
	if cookie != "" {
		opts = append(opts, e.Cookie(cookie))
	}
	if bearer != "" {
		opts = append(opts, gatehousetest.Bearer(bearer))
	}
	r := e.Do(t, http.MethodGet, "/v1/check", nil, opts...)
	var body struct {
		Session struct {
			AAL string `json:"aal"`
		} `json:"session"`
	}
	_ = json.Unmarshal(r.Body, &body) // a refusal is a problem document, with no session
	return r.Status, body.Session.AAL
}

// signinJSON calls the JSON API and decodes its answer into out (when not
// nil); it returns the status.
func signinJSON(t testing.TB, e *env, method, path, bearer string, in, out any) int {
	t.Helper()
	var opts []reqOpt
	if bearer != "" {
		opts = append(opts, gatehousetest.Bearer(bearer))
	}
	r := e.Do(t, method, path, in, opts...)
	if out != nil {
		r.Decode(out)
	}
	return r.Status
}

// signinToken signs in through the JSON API and returns the access token.
func signinToken(t testing.TB, e *env, email, password string) string {
	t.Helper()
	var g struct {
		AccessToken string `json:"access_token"`
	}
	if st := signinJSON(t, e, "POST", "/v1/token", "", map[string]string{"grant_type": "password", "email": email, "password": password}, &g); st != http.StatusOK || g.AccessToken == "" {
		t.Fatalf("password grant for %s: %d", email, st)
	}
	e.Logs.Secret(password, g.AccessToken)
	return g.AccessToken
}

// signinEnrolTOTP turns an authenticator on for the token's account and
// answers its secret and backup codes.
func signinEnrolTOTP(t testing.TB, e *env, token string) (string, []string) {
	t.Helper()
	var en struct {
		Secret string `json:"secret"`
	}
	if st := signinJSON(t, e, "POST", "/v1/mfa/totp", token, map[string]string{}, &en); st != http.StatusOK || en.Secret == "" {
		t.Fatalf("start enrolment: %d", st)
	}
	var b struct {
		BackupCodes []string `json:"backup_codes"`
	}
	if st := signinJSON(t, e, "POST", "/v1/mfa/totp/verify", token, map[string]string{"code": signinTOTP(t, e, en.Secret)}, &b); st != http.StatusOK || len(b.BackupCodes) == 0 {
		t.Fatalf("confirm enrolment: %d", st)
	}
	e.Clock.Advance(30 * time.Second) // the confirming code's step is used
	return en.Secret, b.BackupCodes
}

func signinTOTP(t testing.TB, e *env, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherCode answers a code of the same length that is not code.
func otherCode(code string) string {
	d := (code[0]-'0'+1)%10 + '0'
	return string(d) + code[1:]
}

// TestCodeSignIn: a code by email or SMS, with JavaScript (htmx
// fragments) and without (whole pages), ends in a cookie session at the
// requested place.
func TestCodeSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		address string
		htmx    bool
	}{
		{"email", "ada@example.com", false},
		{"email htmx", "ada@example.com", true},
		{"phone", signinPhone, false},
		{"phone htmx", signinPhone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			b := e.browser()
			var opts []reqOpt
			if tc.htmx {
				opts = append(opts, htmx())
			}
			phone := strings.HasPrefix(tc.address, "+")
			p := b.post(t, "/login/code", url.Values{"address": {tc.address}, "redirect_to": {"/settings"}}, opts...).want(http.StatusOK)
			p.contains("Enter your code", signinHTML(tc.address), "It expires in 5 minutes", "Send again", `name="redirect_to" value="/settings"`)
			if phone {
				p.contains("We texted a 6-digit code")
			} else {
				p.contains("We emailed a 6-digit code")
			}
			signinCodeField(t, p)
			signinPageRules(t, p)
			if tc.htmx {
				p.lacks("<html", "<head")
			} else {
				p.contains("<html")
			}
			if got := signinHidden(t, p, "address"); got != tc.address {
				t.Fatalf("hidden address %q", got)
			}

			var code string
			if phone {
				code = e.smsCode(t, tc.address, 1)
			} else {
				code, _ = e.mailCode(t, tc.address, 1)
			}
			wrong := otherCode(code)
			p = b.post(t, "/login/verify", url.Values{"address": {tc.address}, "code": {wrong}, "redirect_to": {"/settings"}}, opts...).
				want(http.StatusUnauthorized).contains("That code is not correct", `aria-invalid="true"`, `aria-describedby="code-hint code-error"`, `id="code-error"`).
				lacks(wrong)
			signinCodeField(t, p)
			if b.cookie() != "" {
				t.Fatal("a wrong code set a cookie")
			}

			b.post(t, "/login/verify", url.Values{"address": {tc.address}, "code": {code}, "redirect_to": {"/settings"}}, opts...).redirectsTo("/settings")
			cookie := b.cookie()
			if cookie == "" {
				t.Fatal("no session cookie after the right code")
			}
			if st, aal := signinCheck(t, e, cookie, ""); st != http.StatusOK || aal != "aal1" {
				t.Fatalf("check with the new cookie: %d %s", st, aal)
			}
			// Signed in, /login sends the browser on.
			b.get(t, "/login").redirectsTo("/")
			b.get(t, "/login?redirect_to="+url.QueryEscape(appOrigin+"/home")).redirectsTo(appOrigin + "/home")
			b.get(t, "/login?redirect_to="+url.QueryEscape("https://evil.example/x")).redirectsTo("/")
			b.get(t, "/login?redirect_to="+url.QueryEscape("//evil.example/x")).redirectsTo("/")
			b.get(t, "/login?redirect_to="+url.QueryEscape("/\\evil.example")).redirectsTo("/")
			b.get(t, "/login?redirect_to="+url.QueryEscape("/login")).redirectsTo("/")
		})
	}
}

// TestCodeSignInAnswersAlike: the answer to "send a code" does not tell a
// known address from an unknown one.
func TestCodeSignInAnswersAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.signUp(t, "known@example.com")
	known := e.browser().post(t, "/login/code", url.Values{"address": {"known@example.com"}}).want(http.StatusOK)
	unknown := e.browser().post(t, "/login/code", url.Values{"address": {"unknown@example.com"}}).want(http.StatusOK)
	if a, b := strings.ReplaceAll(known.body, "known@", "X@"), strings.ReplaceAll(unknown.body, "unknown@", "X@"); a != b {
		t.Errorf("the answers differ:\n%s\n---\n%s", a, b)
	}
	e.Clock.Advance(time.Minute) // one message a minute per address
	knownLink := e.browser().post(t, "/recover", url.Values{"email": {"known@example.com"}}).want(http.StatusOK)
	unknownLink := e.browser().post(t, "/recover", url.Values{"email": {"unknown@example.com"}}).want(http.StatusOK)
	if a, b := strings.ReplaceAll(knownLink.body, "known@", "X@"), strings.ReplaceAll(unknownLink.body, "unknown@", "X@"); a != b {
		t.Errorf("the recovery answers differ:\n%s\n---\n%s", a, b)
	}
}

// TestCodeSignInErrors: bad addresses, wrong, expired and exhausted
// codes, the send limit, and links.
func TestCodeSignInErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()

	t.Run("addresses", func(t *testing.T) {
		for _, tc := range []struct{ address, message string }{
			{"", "Enter your email or phone number."},
			{"not-an-email", "Email must be a valid email address"},
			{"4155552671", "starting with &#43; and the country code"},
			{"+1 555", "Phone must be a valid phone number"},
		} {
			p := b.post(t, "/login/code", url.Values{"address": {tc.address}}).want(http.StatusBadRequest)
			p.contains(tc.message, `aria-invalid="true"`, `aria-describedby="address-hint address-error"`, `id="address-error"`, `action="/login/code"`)
			signinPageRules(t, p)
		}
		b.post(t, "/login/link", url.Values{"address": {signinPhone}}).want(http.StatusBadRequest).contains("links go by email only")
	})

	t.Run("wrong, expired and too many", func(t *testing.T) {
		const addr = "grace@example.com"
		b.post(t, "/login/code", url.Values{"address": {addr}}).want(http.StatusOK)
		code, _ := e.mailCode(t, addr, 1)
		// Asking again at once: the send limit, with the wait, and the
		// field for the code already sent.
		p := b.post(t, "/login/code", url.Values{"address": {addr}}).want(http.StatusTooManyRequests)
		p.contains("Try again in", `id="code"`)
		signinPageRules(t, p)

		e.Clock.Advance(6 * time.Minute)
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {code}}).want(http.StatusUnauthorized).
			contains("That code has expired", "Send again").lacks(code)

		b.post(t, "/login/code", url.Values{"address": {addr}}).want(http.StatusOK)
		code, _ = e.mailCode(t, addr, 2)
		wrong := otherCode(code)
		for i := 1; i < e.Config.OTPMaxAttempts; i++ {
			b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {wrong}}).want(http.StatusUnauthorized).contains("not correct")
		}
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {wrong}}).want(http.StatusTooManyRequests).
			contains("Too many wrong codes").lacks(wrong)
		// The code is dead now, even the right one.
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {code}}).want(http.StatusTooManyRequests)
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {"12"}}).want(http.StatusBadRequest).contains("Code must be 6 digits")
		if b.cookie() != "" {
			t.Fatal("a failed sign-in set a cookie")
		}
	})

	t.Run("link", func(t *testing.T) {
		const addr = "katherine@example.com"
		p := b.post(t, "/login/link", url.Values{"address": {addr}, "redirect_to": {appOrigin + "/x"}}, htmx()).want(http.StatusOK)
		p.contains("Check your email", "sign-in link", addr, `id="code"`).lacks("<html")
		code, link := e.mailCode(t, addr, 1)
		if code == "" || link == "" {
			t.Fatalf("the link email: code %q link %q", code, link)
		}
		// The email's code works on the page too.
		b.post(t, "/login/verify", url.Values{"address": {addr}, "code": {code}, "redirect_to": {appOrigin + "/x"}}).redirectsTo(appOrigin + "/x")
	})
}

// TestPasswordSignIn: a password, its wrong and unknown answers (alike),
// the throttle, and where the browser goes afterwards.
func TestPasswordSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "barbara@example.com"
	e.signUp(t, addr)

	t.Run("targets", func(t *testing.T) {
		for _, tc := range []struct{ redirectTo, want string }{
			{"", "/"},
			{"/settings?tab=1", "/settings?tab=1"},
			{appOrigin + "/after", appOrigin + "/after"},
			{e.URL + "/mine", e.URL + "/mine"},
			{"https://evil.example/x", "/"},
			{"//evil.example/x", "/"},
			{"javascript:alert(1)", "/"},
		} {
			b := e.browser()
			page := b.get(t, "/login/password?redirect_to="+url.QueryEscape(tc.redirectTo)).want(http.StatusOK)
			if tc.want == "/" && tc.redirectTo != "" {
				page.lacks("evil.example", "javascript:")
			}
			b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}, "redirect_to": {tc.redirectTo}}).redirectsTo(tc.want)
			if b.cookie() == "" {
				t.Fatal("no cookie")
			}
		}
	})

	t.Run("wrong and unknown alike", func(t *testing.T) {
		b := e.browser()
		const wrongPassword = "not the password at all"
		wrong := b.post(t, "/login/password", url.Values{"address": {addr}, "password": {wrongPassword}}).want(http.StatusUnauthorized)
		wrong.contains("That email or password is not correct.", `autocomplete="current-password"`).lacks(wrongPassword)
		signinPageRules(t, wrong)
		unknown := b.post(t, "/login/password", url.Values{"address": {"nobody@example.com"}, "password": {wrongPassword}}).want(http.StatusUnauthorized)
		if a, b := strings.ReplaceAll(wrong.body, addr, "X"), strings.ReplaceAll(unknown.body, "nobody@example.com", "X"); a != b {
			t.Errorf("wrong password and unknown account answer differently:\n%s\n---\n%s", a, b)
		}
		b.post(t, "/login/password", url.Values{"address": {signinPhone}, "password": {wrongPassword}}).want(http.StatusUnauthorized).
			contains("That phone number or password is not correct.")
		b.post(t, "/login/password", url.Values{"address": {addr}}).want(http.StatusBadRequest).contains("Password is required", `id="password-error"`)
		b.post(t, "/login/password", url.Values{"password": {wrongPassword}}).want(http.StatusBadRequest).contains("Enter your email or phone number.").lacks(wrongPassword)
	})
}

// TestPasswordThrottle: failures lock the account for a while, and the
// page says how long.
func TestPasswordThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const addr = "radia@example.com"
	e.signUp(t, addr)
	b := e.browser()
	var p *page
	for i := 0; i < 10; i++ {
		p = b.post(t, "/login/password", url.Values{"address": {addr}, "password": {"wrong password number x"}})
		if p.status != http.StatusUnauthorized {
			break
		}
	}
	p.want(http.StatusTooManyRequests).contains("Too many failed sign-ins", "Try again in")
	// Locked out, the right password waits too.
	b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).want(http.StatusTooManyRequests)
	e.Clock.Advance(20 * time.Minute)
	b.post(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}}).redirectsTo("/")
}

// TestSignInCrossSite: another site cannot post the sign-in forms.
func TestSignInCrossSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser()
	for _, path := range []string{"/login/code", "/login/link", "/login/verify", "/login/password", "/login/mfa", "/signup", "/recover", "/recover/verify"} {
		p := b.post(t, path, url.Values{"address": {"victim@example.com"}, "email": {"victim@example.com"}}, crossSite()).want(http.StatusForbidden)
		p.contains("Request refused")
		signinPageRules(t, p)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(e.SMTP.Messages()); n != 0 {
		t.Fatalf("%d messages went out for refused posts", n)
	}
}
