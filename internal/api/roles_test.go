package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// rolesOf returns the user's roles as GET /v1/admin/users/{id} shows them,
// after checking that the admin flag agrees with them.
func rolesOf(t *testing.T, e *env, id string) []string {
	t.Helper()
	var u adminUserJSON
	e.do(t, "GET", "/v1/admin/users/"+id, nil, adminKey()).Want(http.StatusOK).Strict(&u)
	if u.Roles == nil {
		t.Fatalf("GET /v1/admin/users/%s has no roles list", id)
	}
	if u.Admin != slices.Contains(u.Roles, "admin") {
		t.Errorf("admin %v beside roles %v", u.Admin, u.Roles)
	}
	return u.Roles
}

// setRoles replaces the user's roles and returns the answer's.
func setRoles(t *testing.T, e *env, id string, roles ...string) []string {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	var u adminUserJSON
	e.do(t, "PUT", "/v1/admin/users/"+id+"/roles", map[string]any{"roles": roles}, adminKey()).Want(http.StatusOK).Strict(&u)
	if u.ID != id || u.Admin != slices.Contains(u.Roles, "admin") {
		t.Errorf("PUT roles %v answered %+v", roles, u)
	}
	return u.Roles
}

func TestAdminSetRoles(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("r", 64)
	many := make([]string, 32)
	for i := range many {
		many[i] = fmt.Sprintf("role-%02d", i)
	}
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.passwordlessUser(t, "roles@example.com")
		bystander := e.passwordlessUser(t, "bystander@example.com")
		if got := rolesOf(t, e, u.ID); len(got) != 0 {
			t.Fatalf("a new user has roles %v", got)
		}
		for _, tc := range []struct {
			name        string
			roles, want []string
		}{
			{"sorted, without duplicates", []string{"ops", "billing", "admin", "billing"}, []string{"admin", "billing", "ops"}},
			{"every allowed character", []string{"a", "0-team", "x.y:z_w-1"}, []string{"0-team", "a", "x.y:z_w-1"}},
			{"64 bytes", []string{long}, []string{long}},
			{"32 roles", many, many},
			{"32 roles, once each", append(slices.Clone(many), many[0]), many},
			{"the same again", []string{"admin"}, []string{"admin"}},
			{"the same again, unchanged", []string{"admin"}, []string{"admin"}},
			{"none", []string{}, []string{}},
		} {
			if got := setRoles(t, e, u.ID, tc.roles...); !slices.Equal(got, tc.want) {
				t.Errorf("%s: PUT %v answered roles %v, want %v", tc.name, tc.roles, got, tc.want)
			}
			if got := rolesOf(t, e, u.ID); !slices.Equal(got, tc.want) {
				t.Errorf("%s: after PUT %v the user has roles %v, want %v", tc.name, tc.roles, got, tc.want)
			}
		}
		if got := rolesOf(t, e, bystander.ID); len(got) != 0 {
			t.Errorf("another user has roles %v", got)
		}

		setRoles(t, e, u.ID, "billing")
		for _, bad := range []struct{ name, body, field string }{
			{"upper case", `{"roles":["Billing"]}`, "roles"},
			{"a space", `{"roles":["bill ing"]}`, "roles"},
			{"a comma", `{"roles":["a,b"]}`, "roles"},
			{"empty", `{"roles":[""]}`, "roles"},
			{"starts with a dash", `{"roles":["-ops"]}`, "roles"},
			{"starts with an underscore", `{"roles":["_ops"]}`, "roles"},
			{"65 bytes", `{"roles":["` + long + `r"]}`, "roles"},
			{"not ASCII", `{"roles":["rôle"]}`, "roles"},
			{"a control character", `{"roles":["a\u0000"]}`, "roles"},
			{"33 roles", `{"roles":["` + strings.Join(append(slices.Clone(many), "one-more"), `","`) + `"]}`, "roles"},
			{"not a list", `{"roles":"admin"}`, "roles"},
			{"not strings", `{"roles":[1]}`, "roles[0]"},
			{"missing", `{}`, "roles"},
			{"another field", `{"roles":[],"admin":true}`, "admin"},
		} {
			e.do(t, "PUT", "/v1/admin/users/"+u.ID+"/roles", bad.body, adminKey()).WantFieldError("invalid_request", bad.field)
			if got := rolesOf(t, e, u.ID); !slices.Equal(got, []string{"billing"}) {
				t.Errorf("%s: a refused PUT left roles %v", bad.name, got)
			}
		}
		e.do(t, "PUT", "/v1/admin/users/0190a000-0000-7000-8000-000000000000/roles", map[string]any{"roles": []string{"admin"}}, adminKey()).
			WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "PUT", "/v1/admin/users/not-an-id/roles", map[string]any{"roles": []string{"admin"}}, adminKey()).
			WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "PUT", "/v1/admin/users/"+u.ID+"/roles", map[string]any{"roles": []string{"admin"}}).
			WantProblem(http.StatusUnauthorized, "unauthorized")
		if got := rolesOf(t, e, u.ID); !slices.Equal(got, []string{"billing"}) {
			t.Errorf("refused PUTs left roles %v", got)
		}

		// The admin flag of PATCH adds and removes the admin role, leaving
		// the others.
		for _, tc := range []struct {
			admin bool
			want  []string
		}{{true, []string{"admin", "billing"}}, {true, []string{"admin", "billing"}}, {false, []string{"billing"}}} {
			var got adminUserJSON
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, map[string]any{"admin": tc.admin}, adminKey()).Want(http.StatusOK).Strict(&got)
			if got.Admin != tc.admin || !slices.Equal(got.Roles, tc.want) {
				t.Errorf("PATCH admin %v answered admin %v roles %v, want roles %v", tc.admin, got.Admin, got.Roles, tc.want)
			}
		}

		// Every change is in the audit log, with the new list.
		var audit struct {
			Events []struct {
				Kind   string `json:"kind"`
				Detail string `json:"detail"`
			} `json:"events"`
		}
		e.do(t, "GET", "/v1/admin/audit?user_id="+u.ID, nil, adminKey()).Want(http.StatusOK).Decode(&audit)
		var changes []string
		for _, ev := range audit.Events {
			if ev.Kind == "roles_changed" {
				changes = append(changes, ev.Detail)
			}
		}
		slices.Reverse(changes) // the log lists the newest first
		want := []string{"admin billing ops", "0-team a x.y:z_w-1", long, strings.Join(many, " "), "admin", "", "billing", "admin billing", "billing"}
		if !slices.Equal(changes, want) {
			t.Errorf("roles_changed events %q\nwant %q", changes, want)
		}
	})
}

// wantCheckHeaders checks the check's X-Auth-Roles (present even when
// empty) and X-Auth-AAL.
func wantCheckHeaders(t *testing.T, r *response, what, roles, aal string) {
	t.Helper()
	if got, ok := r.Header["X-Auth-Roles"]; !ok || len(got) != 1 || got[0] != roles {
		t.Errorf("%s: X-Auth-Roles %q (present %v), want %q", what, got, ok, roles)
	}
	if got := r.Header.Get("X-Auth-AAL"); got != aal {
		t.Errorf("%s: X-Auth-AAL %q, want %q", what, got, aal)
	}
}

// TestCheckRoles: the check answers the user's roles and the session's
// assurance level, and a role change reaches a live session's check at
// once (by Bearer token or cookie), without a new sign-in; tokens signed
// after the change carry the new roles.
func TestCheckRoles(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok, cookie := e.bothWays(t, "check-roles@example.com")
		strong, _ := e.Session(t, "check-roles@example.com", auth.Client{IP: "127.0.0.1", UserAgent: "test-browser"}, auth.MethodPassword, auth.MethodTOTP)
		bystander := e.account(t, "other@example.com")
		creds := []struct {
			name string
			opt  reqOpt
			aal  string
		}{
			{"bearer", bearer(tok.AccessToken), "aal1"},
			{"cookie", e.cookie(cookie), "aal1"},
			{"aal2 cookie", e.cookie(strong), "aal2"},
		}
		checkAll := func(roles string) {
			t.Helper()
			for _, c := range creds {
				wantCheckHeaders(t, e.check(t, c.opt).Want(http.StatusOK), c.name, roles, c.aal)
			}
		}
		checkAll("")
		for _, tc := range []struct {
			roles []string
			want  string
		}{
			{[]string{"ops", "billing"}, "billing,ops"},
			{[]string{"admin", "ops", "billing"}, "admin,billing,ops"},
			{[]string{"ops"}, "ops"},
			{[]string{}, ""},
			{[]string{"x.y:z"}, "x.y:z"},
		} {
			setRoles(t, e, tok.User.ID, tc.roles...)
			checkAll(tc.want)
			wantCheckHeaders(t, e.check(t, bearer(bystander.AccessToken)).Want(http.StatusOK), "bystander", "", "aal1")
		}
		// The PATCH admin flag reaches the check at once too.
		e.do(t, "PATCH", "/v1/admin/users/"+tok.User.ID, map[string]any{"admin": true}, adminKey()).Want(http.StatusOK)
		checkAll("admin,x.y:z")

		// An access token signed after the change carries the roles; the
		// one signed before does not (the check is what is live).
		var refreshed tokensJSON
		e.refresh(t, tok.RefreshToken).Want(http.StatusOK).Decode(&refreshed)
		for _, c := range []struct {
			name, tok string
			want      any
		}{
			{"before", tok.AccessToken, nil},
			{"after a refresh", refreshed.AccessToken, []any{"admin", "x.y:z"}},
		} {
			claims := tokenPayload(t, c.tok)
			if got := claims["roles"]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("token %s the change: roles claim %#v, want %#v", c.name, got, c.want)
			}
		}
	})
}

// tokenPayload returns the decoded claims of a JWT.
func tokenPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheckRoleRuleFollowsRoles: a rule that requires a role other than
// admin passes a live session as soon as an admin gives the role, and
// refuses it as soon as the role is taken away, without a new sign-in, by
// cookie and by Bearer token.
func TestCheckRoleRuleFollowsRoles(t *testing.T) {
	t.Parallel()
	rules := rulesFile(t, "- host: billing.example.test\n  require: {roles: [billing, finance:read]}\n")
	eachEnv(t, func(t *testing.T, e *env) {
		tok, cookie := e.bothWays(t, "clerk@example.com")
		for _, tc := range []struct {
			roles []string
			want  int
		}{
			{[]string{}, http.StatusForbidden},
			{[]string{"ops"}, http.StatusForbidden},
			{[]string{"billing"}, http.StatusOK},
			{[]string{"admin"}, http.StatusForbidden},
			{[]string{"finance:read", "ops"}, http.StatusOK},
			{[]string{}, http.StatusForbidden},
		} {
			setRoles(t, e, tok.User.ID, tc.roles...)
			for _, cred := range []reqOpt{e.cookie(cookie), bearer(tok.AccessToken)} {
				r := e.check(t, jsonClient(), cred, traefik("https", "billing.example.test", "/")).Want(tc.want)
				if tc.want == http.StatusOK {
					wantCheckHeaders(t, r, fmt.Sprint(tc.roles), strings.Join(tc.roles, ","), "aal1")
				}
			}
		}
	}, withRules(rules))
}
