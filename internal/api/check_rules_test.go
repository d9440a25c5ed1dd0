package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// rulesFile writes an access rules file for a test and returns its name.
func rulesFile(t testing.TB, src string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, name, src)
	return name
}

func writeRules(t testing.TB, name, src string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func withRules(name string) option {
	return withConfig(func(c *gatehouse.Config) { c.AccessRulesFile = name })
}

// checkRules has a rule of each kind. Rule 5 comes before rule 6 and 7:
// /public/secret on app.example.test is open to anyone (the first match
// decides), and rule 7 is never reached.
const checkRules = `
- host: status.example.test
  allow: anyone
- host: admin.example.test
  require: {roles: [admin]}
- host: secure.example.test
  require: {aal: aal2}
- host: "*.example.test"
  paths: [/billing]
  require: {email_verified: true}
- host: "*.example.test"
  paths: [/public]
  allow: anyone
- host: app.example.test
  paths: [/admin, /public/secret]
  deny: true
- host: "*.example.test"
  paths: [/public]
  deny: true
- host: staff.example.test
  require: {roles: [staff, admin]}
- paths: [/nohost]
  deny: true
`

// jsonClient is an API client's Accept.
func jsonClient() reqOpt { return header("Accept", "application/json") }

// TestCheckAccessRules: each kind of rule at /v1/check, through the real
// server on both databases, for browsers and API clients, behind Traefik
// or Caddy (X-Forwarded-*) and nginx (X-Original-URL).
func TestCheckAccessRules(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		// plain: a password sign-up, email not proven, aal1.
		e.signUp(t, "plain@example.com", testPassword)
		plain := e.browserSession(t, "plain@example.com")
		plainToken := e.signIn(t, "plain@example.com", testPassword)
		// admin: the admin role, aal1.
		adm := e.signUp(t, "admin@example.com", testPassword)
		e.do(t, "PATCH", "/v1/admin/users/"+adm.ID, map[string]any{"admin": true}, adminKey()).Want(http.StatusOK)
		admin := e.browserSession(t, "admin@example.com")
		// verified: a proven address.
		e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "verified@example.com", "email_verified": true}, adminKey()).Want(http.StatusCreated)
		verified := e.browserSession(t, "verified@example.com")
		// strong: plain's account, signed in with two factors (aal2).
		strong, _ := e.Session(t, "plain@example.com", auth.Client{IP: "127.0.0.1", UserAgent: "test-browser"}, auth.MethodPassword, auth.MethodTOTP)

		const login = testIssuer + "/login?redirect_to="
		const (
			pass      = "pass"      // 200 with the user's headers
			anonymous = "anonymous" // 200 without them
			signIn    = "sign-in"   // 302 to the sign-in page
			unauth    = "401"       // 401 unauthorized problem
			stepUp    = "step-up"   // 401 aal2_required problem
			forbidden = "403"       // 403 forbidden problem
			forbidPg  = "403-page"  // 403 page
		)
		for _, tc := range []struct {
			name string
			opts []reqOpt
			want string
			says string // in the problem's detail or the page
		}{
			// allow: anyone passes without a session, with no user headers;
			// with one, the app still learns who it is.
			{"anyone, no session", opts(browser(), traefik("https", "status.example.test", "/")), anonymous, ""},
			{"anyone, no session, API", opts(jsonClient(), traefik("https", "status.example.test", "/x")), anonymous, ""},
			{"anyone, no session, nginx", opts(browser(), nginx("https://status.example.test/a?b")), anonymous, ""},
			{"anyone, host case and port", opts(browser(), traefik("https", "STATUS.Example.test:8443", "/")), anonymous, ""},
			{"anyone, garbage cookie", opts(browser(), e.cookie("garbage"), traefik("https", "status.example.test", "/")), anonymous, ""},
			{"anyone, signed in", opts(browser(), e.cookie(plain), traefik("https", "status.example.test", "/")), pass, ""},

			// deny: no one, signed in or not.
			{"deny, admin", opts(jsonClient(), e.cookie(admin), traefik("https", "app.example.test", "/admin/users")), forbidden, "No one may open this page"},
			{"deny, anonymous browser", opts(browser(), traefik("https", "app.example.test", "/admin")), forbidPg, "No one may open this page"},
			{"deny, nginx", opts(browser(), e.cookie(strong), nginx("https://app.example.test/admin")), forbidPg, "No one may open this page"},

			// roles: the admin passes; others are refused, told which role.
			{"role, admin", opts(browser(), e.cookie(admin), traefik("https", "admin.example.test", "/")), pass, ""},
			{"role, not admin", opts(jsonClient(), e.cookie(plain), traefik("https", "admin.example.test", "/")), forbidden, "with the role admin"},
			{"role, not admin, browser", opts(browser(), e.cookie(strong), traefik("https", "admin.example.test", "/")), forbidPg, "with the role admin"},
			{"role, bearer", opts(bearer(plainToken.AccessToken), traefik("https", "admin.example.test", "/")), forbidden, "with the role admin"},
			{"roles any of", opts(jsonClient(), e.cookie(admin), traefik("https", "staff.example.test", "/")), pass, ""},
			{"roles any of, none", opts(jsonClient(), e.cookie(verified), traefik("https", "staff.example.test", "/")), forbidden, "one of the roles staff, admin"},
			{"role, anonymous: sign in first", opts(browser(), traefik("https", "admin.example.test", "/")), signIn, login + "https%3A%2F%2Fadmin.example.test%2F"},
			{"role, anonymous API", opts(jsonClient(), traefik("https", "admin.example.test", "/")), unauth, ""},

			// email_verified, under a wildcard host at any depth.
			{"email, verified", opts(jsonClient(), e.cookie(verified), traefik("https", "a.b.example.test", "/billing/invoices")), pass, ""},
			{"email, not verified", opts(jsonClient(), e.cookie(plain), traefik("https", "shop.example.test", "/billing")), forbidden, "proven email address"},
			{"email, not verified, browser", opts(browser(), e.cookie(admin), traefik("https", "shop.example.test", "/billing")), forbidPg, "proven email address"},
			{"wildcard, not the domain itself", opts(jsonClient(), e.cookie(plain), traefik("https", "example.test", "/billing")), pass, ""},
			{"whole segments", opts(jsonClient(), e.cookie(plain), traefik("https", "shop.example.test", "/billingx")), pass, ""},

			// aal2: a session at aal1 must step up (401), not a 403.
			{"aal2, strong", opts(browser(), e.cookie(strong), traefik("https", "secure.example.test", "/")), pass, ""},
			{"aal2, aal1 API", opts(jsonClient(), e.cookie(plain), traefik("https", "secure.example.test", "/")), stepUp, "second factor"},
			{"aal2, aal1 bearer", opts(bearer(plainToken.AccessToken), traefik("https", "secure.example.test", "/")), stepUp, "second factor"},
			// A browser goes to the step-up page: TestCheckStepUpRedirect.
			{"aal2, anonymous: sign in first", opts(browser(), traefik("https", "secure.example.test", "/x")), signIn, login + "https%3A%2F%2Fsecure.example.test%2Fx"},

			// The first match decides.
			{"first match: allow before deny", opts(jsonClient(), traefik("https", "app.example.test", "/public/secret")), anonymous, ""},
			{"first match: the later deny unreached", opts(jsonClient(), traefik("https", "other.example.test", "/public/a.css")), anonymous, ""},
			{"no rule: signed in is enough", opts(jsonClient(), e.cookie(plain), traefik("https", "app.example.test", "/inbox")), pass, ""},
			{"no rule: not signed in", opts(browser(), traefik("https", "app.example.test", "/inbox")), signIn, login + "https%3A%2F%2Fapp.example.test%2Finbox"},

			// Paths are judged as the app reads them.
			{"dot segments", opts(jsonClient(), traefik("https", "app.example.test", "/public/../admin")), forbidden, "No one may open this page"},
			{"escaped dot segments", opts(jsonClient(), traefik("https", "app.example.test", "/public/%2e%2e/admin")), forbidden, "No one may open this page"},
			{"escaped letter", opts(jsonClient(), traefik("https", "app.example.test", "/%61dmin")), forbidden, "No one may open this page"},
			{"doubled slash", opts(jsonClient(), traefik("https", "app.example.test", "//admin")), forbidden, "No one may open this page"},
			{"nginx dot segments", opts(browser(), nginx("https://app.example.test/public/../admin?x")), forbidPg, "No one may open this page"},
			{"bad escape", opts(jsonClient(), e.cookie(admin), traefik("https", "app.example.test", "/public/%zz")), forbidden, "cannot be read safely"},
			{"backslash", opts(jsonClient(), e.cookie(admin), traefik("https", "app.example.test", `/public\..\admin`)), forbidden, "cannot be read safely"},
			{"not a path", opts(jsonClient(), e.cookie(admin), traefik("https", "app.example.test", "admin")), forbidden, "cannot be read safely"},

			// A client adding the other proxy's header to be judged as
			// another page: the two disagree, and the check refuses.
			{"forged X-Original-URL through Traefik", opts(jsonClient(), e.cookie(plain), traefik("https", "admin.example.test", "/"), nginx("https://status.example.test/")), forbidden, "cannot be read safely"},
			{"forged X-Forwarded-Uri through nginx", opts(jsonClient(), nginx("https://app.example.test/admin"), header("X-Forwarded-Uri", "/public/")), forbidden, "cannot be read safely"},
			{"both, agreeing", opts(jsonClient(), nginx("https://status.example.test/x"), traefik("https", "status.example.test:443", "/x")), anonymous, ""},
			{"X-Original-URL without a scheme", opts(jsonClient(), e.cookie(admin), nginx("app.example.test/admin")), forbidden, "cannot be read safely"},

			// A direct call names no host: no rule applies.
			{"direct, signed in", opts(jsonClient(), e.cookie(plain)), pass, ""},
			{"direct, bearer", opts(bearer(plainToken.AccessToken)), pass, ""},
			{"any host", opts(jsonClient(), e.cookie(plain), traefik("https", "elsewhere.test", "/nohost")), forbidden, "No one may open this page"},
			{"direct, only a uri", opts(jsonClient(), e.cookie(plain), header("X-Forwarded-Uri", "/nohost")), pass, ""},
			{"direct, anonymous", opts(jsonClient()), unauth, ""},
		} {
			r := e.forwardCheck(t, tc.opts...)
			wantCheckBasics(t, tc.name, r)
			switch tc.want {
			case pass:
				if r.Status != http.StatusOK || r.Header.Get("X-Auth-User-Id") == "" || r.Header.Get("X-Auth-Session-Id") == "" {
					t.Errorf("%s: %d %v %s, want 200 with the user's headers", tc.name, r.Status, r.Header, r.Body)
				}
			case anonymous:
				if r.Status != http.StatusOK || len(r.Body) != 0 {
					t.Errorf("%s: %d %s, want an empty 200", tc.name, r.Status, r.Body)
				}
				// Each sent, empty: a proxy copying it replaces a forged one.
				for _, h := range []string{"X-Auth-User-Id", "X-Auth-Email", "X-Auth-Email-Verified", "X-Auth-Session-Id", "X-Auth-Roles", "X-Auth-AAL"} {
					if v := r.Header.Values(h); len(v) != 1 || v[0] != "" {
						t.Errorf("%s: %s %q without a session, want it sent empty", tc.name, h, v)
					}
				}
			case signIn:
				wantSignIn(t, tc.name, r, http.StatusFound, "", tc.says)
			case unauth:
				wantSignIn(t, tc.name, r, http.StatusUnauthorized, "unauthorized", "")
			case stepUp, forbidden:
				status, code := http.StatusUnauthorized, "aal2_required"
				if tc.want == forbidden {
					status, code = http.StatusForbidden, "forbidden"
				}
				if r.Status != status {
					t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, status, code)
					continue
				}
				if p := r.WantProblem(status, code); !strings.Contains(p.Detail, tc.says) {
					t.Errorf("%s: detail %q, want it to say %q", tc.name, p.Detail, tc.says)
				}
			case forbidPg:
				wantRefusalPage(t, tc.name, r, http.StatusForbidden, tc.says)
			}
			if tc.want == stepUp {
				wantStepUpChallenge(t, tc.name, r)
			}
		}
	}, withRules(rulesFile(t, checkRules)))
}

// TestCheckRulesReload: ReloadAccessRules puts a good file in force for
// the next check; a bad or missing one keeps the rules in force and logs
// an error line. Start-up and each reload log how many rules are in force.
func TestCheckRulesReload(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		file := rulesFile(t, "- host: app.example.test\n  deny: true\n")
		e := newEnv(t, db, withRules(file))
		e.signUp(t, "reload@example.com", testPassword)
		cookie := e.browserSession(t, "reload@example.com")
		status := func() int {
			return e.forwardCheck(t, jsonClient(), e.cookie(cookie), traefik("https", "app.example.test", "/")).Status
		}
		if got := status(); got != http.StatusForbidden {
			t.Fatalf("the first file's deny: %d", got)
		}
		if !strings.Contains(e.Logs.String(), `"msg":"access rules in force"`) || !strings.Contains(e.Logs.String(), `"rules":1`) {
			t.Errorf("start-up did not log the rules in force: %s", e.Logs)
		}

		writeRules(t, file, "- host: other.example.test\n  deny: true\n- host: app.example.test\n  allow: anyone\n")
		if err := e.G.ReloadAccessRules(); err != nil {
			t.Fatalf("a good reload: %v", err)
		}
		if got := status(); got != http.StatusOK {
			t.Fatalf("after a good reload: %d", got)
		}
		if !strings.Contains(e.Logs.String(), `"msg":"access rules reloaded"`) || !strings.Contains(e.Logs.String(), `"rules":2`) {
			t.Errorf("the reload was not logged with its count: %s", e.Logs)
		}

		for name, bad := range map[string]func(){
			"bad file":     func() { writeRules(t, file, "- host: app.example.test\n  deny: maybe\n") },
			"missing file": func() { _ = os.Remove(file) },
		} {
			bad()
			err := e.G.ReloadAccessRules()
			if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ACCESS_RULES_FILE: "+file+": ") || !strings.Contains(err.Error(), "kept") {
				t.Errorf("%s: reload answered %v", name, err)
			}
			if got := status(); got != http.StatusOK {
				t.Errorf("%s: the rules in force changed: %d", name, got)
			}
		}
		if logs := e.Logs.String(); !strings.Contains(logs, `"level":"ERROR","msg":"access rules not reloaded"`) || !strings.Contains(logs, "rule 1 (line 1)") {
			t.Errorf("a bad reload was not logged as an error naming the rule: %s", logs)
		}
	})
}

// TestCheckRulesBadFileAtStart: a bad rules file stops start-up with one
// line naming the variable, the file, the rule and the problem, before
// the database is opened.
func TestCheckRulesBadFileAtStart(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		dir := t.TempDir()
		for _, tc := range []struct{ name, src, want string }{
			{"unknown key", "- host: a.example.test\n  allow: anyone\n- host: b.example.test\n  rol: [admin]\n",
				`: rule 2 (line 3): unknown key "rol"`},
			{"bad wildcard", "- host: \"*.test\"\n  deny: true\n", `: rule 1 (line 1): host "*.test": a wildcard needs a domain with a dot`},
			{"no decision", "- host: a.example.test\n", ": rule 1 (line 1): a rule needs exactly one of"},
			{"not a list", "host: a.example.test\n", ": line 1: the file must be a list of rules"},
			{"missing", "", ": cannot be read"},
		} {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if tc.src != "" {
				writeRules(t, file, tc.src)
			}
			c := gatehouse.DefaultConfig()
			c.DatabaseURL, c.PublicURL, c.Secret = db.URL(t), testIssuer, gatehousetest.Secret
			c.AccessRulesFile = file
			g, err := gatehouse.New(context.Background(), c)
			if err == nil {
				g.Close()
				t.Errorf("%s: started", tc.name)
				continue
			}
			want := "GATEHOUSE_ACCESS_RULES_FILE: " + file + tc.want
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("%s: %q, want one line starting %q", tc.name, msg, want)
			}
		}
	})
}

// wantRefusalPage checks a refusal's HTML page: its status, what it says,
// and a Content-Security-Policy that lets it do nothing.
func wantRefusalPage(t *testing.T, name string, r *response, status int, says string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: %d %s, want a %d page", name, r.Status, r.Body, status)
		return
	}
	if page := r.WantHTML(status); !strings.Contains(page, says) {
		t.Errorf("%s: page %q, want it to say %q", name, page, says)
	}
	if csp := r.Header.Get("Content-Security-Policy"); csp != "default-src 'none'; frame-ancestors 'none'" {
		t.Errorf("%s: Content-Security-Policy %q", name, csp)
	}
}

// wantStepUpChallenge checks RFC 9470's error on a refusal for want of a
// second factor, and no Location: the sign-in page would send a
// signed-in browser straight back (a loop).
func wantStepUpChallenge(t *testing.T, name string, r *response) {
	t.Helper()
	if wa := r.Header.Get("WWW-Authenticate"); !strings.Contains(wa, `error="insufficient_user_authentication"`) {
		t.Errorf("%s: WWW-Authenticate %q", name, wa)
	}
	if loc := r.Header.Values("Location"); len(loc) > 0 {
		t.Errorf("%s: Location %q on a step-up", name, loc)
	}
}

// TestCheckStepUpRedirect: a browser at aal1 that a rule asks aal2 of is
// sent to the step-up page and back, as to sign in; an API client gets
// the 401 aal2_required. With GATEHOUSE_FORWARD_AUTH_REDIRECT off the
// browser gets a 401 page saying what to do instead.
func TestCheckStepUpRedirect(t *testing.T) {
	t.Parallel()
	rules := withRules(rulesFile(t, "- host: secure.example.test\n  require: {aal: aal2}\n"))
	e := newEnv(t, sqliteDB, rules)
	const stepUpPage = testIssuer + "/step-up"
	e.signUp(t, "step@example.com", testPassword)
	cookie := e.browserSession(t, "step@example.com")
	const back = "?redirect_to=https%3A%2F%2Fsecure.example.test%2Fa%3Fb%3D1"
	wantSignIn(t, "traefik", e.forwardCheck(t, browser(), e.cookie(cookie), traefik("https", "secure.example.test", "/a?b=1")),
		http.StatusFound, "", stepUpPage+back)
	// nginx takes a 401 and turns its Location into the redirect; the
	// body is the browser's page, which nginx does not pass on.
	r := e.forwardCheck(t, browser(), e.cookie(cookie), nginx("https://secure.example.test/a?b=1"))
	r.WantHTML(http.StatusUnauthorized)
	if loc := r.Header.Get("Location"); loc != stepUpPage+back {
		t.Errorf("nginx: Location %q, want %q", loc, stepUpPage+back)
	}
	wantSignIn(t, "API", e.forwardCheck(t, jsonClient(), e.cookie(cookie), traefik("https", "secure.example.test", "/a?b=1")),
		http.StatusUnauthorized, "aal2_required", "")

	off := newEnv(t, sqliteDB, rules, withConfig(func(c *gatehouse.Config) { c.ForwardAuthRedirect = false }))
	off.signUp(t, "step@example.com", testPassword)
	cookie = off.browserSession(t, "step@example.com")
	for name, o := range map[string]reqOpt{
		"traefik, no redirects": traefik("https", "secure.example.test", "/"),
		"nginx, no redirects":   nginx("https://secure.example.test/"),
	} {
		r := off.forwardCheck(t, browser(), off.cookie(cookie), o)
		wantRefusalPage(t, name, r, http.StatusUnauthorized, "second factor")
		wantStepUpChallenge(t, name, r)
	}
}
