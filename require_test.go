package gatehouse_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// embeddedApp is an application that mounts Gatehouse at the root of its
// server and guards its own pages: /app/ (RequireAuth), /secure/
// (RequireAAL2), /staff/ (RequireRole admin), /vault/ (RequireAAL2 around
// RequireRole). Each guarded page says who it served and with which roles.
func embeddedApp(t *testing.T, opts ...gatehousetest.Option) *gatehousetest.Server {
	t.Helper()
	wrap := gatehousetest.WithMiddleware(func(h http.Handler) http.Handler {
		g := h.(*gatehouse.Gatehouse)
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := gatehouse.UserFrom(r.Context())
			if !ok {
				t.Error("UserFrom found no user behind a guard")
			}
			fmt.Fprintf(w, "hello %s %s roles=%s", u.Email, u.AAL, strings.Join(u.Roles, ","))
		})
		mux := http.NewServeMux()
		mux.Handle("/", g.Handler())
		mux.Handle("/app/", g.RequireAuth(hello))
		mux.Handle("/secure/", g.RequireAAL2(hello))
		mux.Handle("/staff/", g.RequireRole(gatehouse.RoleAdmin, hello))
		mux.Handle("/vault/", g.RequireAAL2(g.RequireRole("admin", hello)))
		mux.Handle("/billing/", g.RequireRole("billing", hello))
		return mux
	})
	return gatehousetest.Start(t, append([]gatehousetest.Option{wrap, gatehousetest.WithMail()}, opts...)...)
}

const htmlAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestGuards: the guards through a real embedded app over HTTP. A browser
// without a session is sent to the sign-in page and back; an API client
// gets the 401 problem. Signed in, aal1 is refused where aal2 is needed
// (a page for a browser saying what to do, a 403 problem otherwise), as is
// an account without the role; aal2 and the role pass.
func TestGuards(t *testing.T) {
	t.Parallel()
	gatehousetest.EachDB(t, func(t *testing.T, db gatehousetest.DB) { testGuards(t, db) })
}

func testGuards(t *testing.T, db gatehousetest.DB) {
	s := embeddedApp(t, gatehousetest.OwnPublicURL(), gatehousetest.WithDB(db))
	ctx := t.Context()
	c := auth.Client{IP: "192.0.2.1", UserAgent: "test"}

	// plain: no factor, no role. factor: an email second factor.
	// boss: the admin role.
	plainTok := s.Account(t, "plain@example.com").AccessToken
	plain1, _ := s.Session(t, "plain@example.com", c)
	plain2, _ := s.Session(t, "plain@example.com", c, auth.MethodPassword, auth.MethodTOTP)
	factorTok := s.Account(t, "factor@example.com").AccessToken
	s.Do(t, "POST", "/v1/mfa/email", map[string]any{}, gatehousetest.Bearer(factorTok)).Want(http.StatusOK)
	factor1, _ := s.Session(t, "factor@example.com", c)
	boss := s.SignUp(t, "boss@example.com", gatehousetest.Password)
	if _, err := s.G.Auth().AdminUpdateUser(ctx, boss.ID, auth.AdminUpdate{Admin: new(true)}); err != nil {
		t.Fatal(err)
	}
	boss1, _ := s.Session(t, "boss@example.com", c)
	boss2, _ := s.Session(t, "boss@example.com", c, auth.MethodPassword, auth.MethodTOTP)
	bossTok := s.SignIn(t, "boss@example.com", gatehousetest.Password).AccessToken
	// clerk: roles other than admin, given after the session started.
	clerk := s.SignUp(t, "clerk@example.com", gatehousetest.Password)
	clerkTok := s.SignIn(t, "clerk@example.com", gatehousetest.Password).AccessToken
	clerk1, _ := s.Session(t, "clerk@example.com", c)
	if _, err := s.G.Auth().AdminSetRoles(ctx, clerk.ID, []string{"ops", "billing"}, c); err != nil {
		t.Fatal(err)
	}

	browser := gatehousetest.Header("Accept", htmlAccept)
	apiJSON := gatehousetest.Header("Accept", "application/json")
	cookie := s.Cookie
	bearer := gatehousetest.Bearer
	type want struct {
		status int
		// location for a redirect; code for a problem; body's words for a
		// page or the app's answer.
		location, code, words string
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		opts   []gatehousetest.RequestOption
		want   want
	}{
		// Not signed in.
		{"browser without a session goes to sign in and back", "GET", "/app/page?x=1", []gatehousetest.RequestOption{browser},
			want{status: 303, location: s.Config.PublicURL + "/login?redirect_to=" + url.QueryEscape("/app/page?x=1")}},
		{"HEAD too", "HEAD", "/app/page", []gatehousetest.RequestOption{browser},
			want{status: 303, location: s.Config.PublicURL + "/login?redirect_to=" + url.QueryEscape("/app/page")}},
		{"every guard redirects", "GET", "/vault/", []gatehousetest.RequestOption{browser},
			want{status: 303, location: s.Config.PublicURL + "/login?redirect_to=" + url.QueryEscape("/vault/")}},
		{"ended session redirects", "GET", "/app/", []gatehousetest.RequestOption{browser, cookie("not-a-session")},
			want{status: 303, location: s.Config.PublicURL + "/login?redirect_to=" + url.QueryEscape("/app/")}},
		{"API client gets the problem", "GET", "/app/page", []gatehousetest.RequestOption{apiJSON},
			want{status: 401, code: "unauthorized"}},
		{"no Accept gets the problem", "GET", "/app/page", nil, want{status: 401, code: "unauthorized"}},
		{"*/* is not a browser", "GET", "/app/page", []gatehousetest.RequestOption{gatehousetest.Header("Accept", "*/*")},
			want{status: 401, code: "unauthorized"}},
		{"text/html;q=0 is not a browser", "GET", "/app/page", []gatehousetest.RequestOption{gatehousetest.Header("Accept", "text/html;q=0, application/json")},
			want{status: 401, code: "unauthorized"}},
		{"a POST is not redirected", "POST", "/app/page", []gatehousetest.RequestOption{browser},
			want{status: 401, code: "unauthorized"}},
		{"a bad Bearer token is an API client's", "GET", "/app/page", []gatehousetest.RequestOption{browser, bearer("garbage")},
			want{status: 401, code: "unauthorized"}},

		// Signed in: RequireAuth.
		{"cookie passes", "GET", "/app/", []gatehousetest.RequestOption{browser, cookie(plain1)},
			want{status: 200, words: "hello plain@example.com aal1 roles="}},
		{"bearer passes", "GET", "/app/", []gatehousetest.RequestOption{bearer(plainTok)},
			want{status: 200, words: "hello plain@example.com aal1 roles="}},

		// RequireAAL2.
		{"aal2 passes", "GET", "/secure/", []gatehousetest.RequestOption{browser, cookie(plain2)},
			want{status: 200, words: "hello plain@example.com aal2"}},
		{"aal1 browser with a factor goes to step up and back", "GET", "/secure/page?x=1", []gatehousetest.RequestOption{browser, cookie(factor1)},
			want{status: 303, location: s.Config.PublicURL + "/step-up?redirect_to=" + url.QueryEscape("/secure/page?x=1")}},
		{"aal1 browser's post with a factor is told to step up", "POST", "/secure/", []gatehousetest.RequestOption{browser, cookie(factor1)},
			want{status: 403, words: "step up"}},
		{"aal1 browser without a factor is told to add one", "GET", "/secure/", []gatehousetest.RequestOption{browser, cookie(plain1)},
			want{status: 403, words: "your account has none"}},
		{"aal1 API client with a factor", "GET", "/secure/", []gatehousetest.RequestOption{bearer(factorTok)},
			want{status: 403, code: "forbidden", words: "POST /v1/mfa/step-up"}},
		{"aal1 cookie without html", "GET", "/secure/", []gatehousetest.RequestOption{apiJSON, cookie(plain1)},
			want{status: 403, code: "forbidden", words: "second factor"}},

		// RequireRole.
		{"role passes", "GET", "/staff/", []gatehousetest.RequestOption{bearer(bossTok)},
			want{status: 200, words: "hello boss@example.com aal1 roles=admin"}},
		{"no role: browser page", "GET", "/staff/", []gatehousetest.RequestOption{browser, cookie(plain2)},
			want{status: 403, words: "the admin role"}},
		{"no role: API problem", "GET", "/staff/", []gatehousetest.RequestOption{bearer(plainTok)},
			want{status: 403, code: "forbidden", words: "the admin role"}},

		// Any role, as it is now (given after the session started).
		{"another role passes", "GET", "/billing/", []gatehousetest.RequestOption{bearer(clerkTok)},
			want{status: 200, words: "hello clerk@example.com aal1 roles=billing,ops"}},
		{"another role passes a browser", "GET", "/billing/", []gatehousetest.RequestOption{browser, cookie(clerk1)},
			want{status: 200, words: "hello clerk@example.com aal1 roles=billing,ops"}},
		{"another role is not admin", "GET", "/staff/", []gatehousetest.RequestOption{bearer(clerkTok)},
			want{status: 403, code: "forbidden", words: "the admin role"}},
		{"admin is not another role", "GET", "/billing/", []gatehousetest.RequestOption{bearer(bossTok)},
			want{status: 403, code: "forbidden", words: "the billing role"}},

		// Both.
		{"role at aal2 passes both", "GET", "/vault/", []gatehousetest.RequestOption{browser, cookie(boss2)},
			want{status: 200, words: "hello boss@example.com aal2 roles=admin"}},
		{"role at aal1 is refused by aal2", "GET", "/vault/", []gatehousetest.RequestOption{browser, cookie(boss1)},
			want{status: 403, words: "A second factor is needed"}},
		{"aal2 without the role is refused by the role", "GET", "/vault/", []gatehousetest.RequestOption{apiJSON, cookie(plain2)},
			want{status: 403, code: "forbidden", words: "the admin role"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.Do(t, tc.method, tc.path, nil, tc.opts...)
			if r.Status != tc.want.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want.status, r.Body)
			}
			if got := r.Header.Get("Location"); got != tc.want.location {
				t.Errorf("Location %q, want %q", got, tc.want.location)
			}
			body := string(r.Body)
			switch {
			case tc.want.code != "":
				p := r.WantProblem(tc.want.status, tc.want.code)
				if !strings.Contains(p.Detail, tc.want.words) {
					t.Errorf("detail %q, want %q in it", p.Detail, tc.want.words)
				}
			case tc.want.status == 403:
				r.WantHTML(403)
				if !strings.Contains(body, tc.want.words) || !strings.Contains(body, `href="/"`) {
					t.Errorf("page without %q or the way to the account:\n%s", tc.want.words, body)
				}
			case tc.want.words != "" && !strings.Contains(body, tc.want.words):
				t.Errorf("body %q, want %q in it", body, tc.want.words)
			}
		})
	}
}

// TestGuardsRedirectTarget: the return address a browser is sent to the
// sign-in page with passes the one redirect rule: a request to another
// host than Gatehouse's is returned to only when that origin is allowed,
// so a forged Host header leads only to the sign-in page.
func TestGuardsRedirectTarget(t *testing.T) {
	t.Parallel()
	s := embeddedApp(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.AllowedRedirects = append(c.AllowedRedirects, "https://app.example.test")
	}))
	signIn := s.Config.PublicURL + "/login"
	for _, tc := range []struct{ host, want string }{
		// The test server is not at the public URL's host: the return
		// address is absolute (https, as the public URL is), and only an
		// allowed origin is kept.
		{"app.example.test", signIn + "?redirect_to=" + url.QueryEscape("https://app.example.test/app/p?q=1")},
		{"evil.example", signIn},
		{"", signIn}, // the test server's own address
	} {
		t.Run("host="+tc.host, func(t *testing.T) {
			t.Parallel()
			r := s.Do(t, "GET", "/app/p?q=1", nil, gatehousetest.Header("Accept", htmlAccept), func(r *http.Request) {
				if tc.host != "" {
					r.Host = tc.host
				}
			})
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
				t.Errorf("%d to %q, want 303 to %q", r.Status, r.Header.Get("Location"), tc.want)
			}
		})
	}
}

// TestRequireRoleEmpty: an empty role name is a programming error, caught
// when the handler is built rather than by refusing every request.
func TestRequireRoleEmpty(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	defer func() {
		if recover() == nil {
			t.Error("RequireRole(\"\") did not panic")
		}
	}()
	s.G.RequireRole(" ", http.NotFoundHandler())
}
