package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.passwordlessUser(t, "someone@example.com")
		routes := []struct{ method, path string }{
			{"GET", "/v1/admin/users"},
			{"POST", "/v1/admin/users"},
			{"GET", "/v1/admin/users/" + u.ID},
			{"PATCH", "/v1/admin/users/" + u.ID},
			{"DELETE", "/v1/admin/users/" + u.ID},
			{"GET", "/v1/admin/sessions?user_id=" + u.ID},
			{"DELETE", "/v1/admin/users/" + u.ID + "/sessions"},
			{"DELETE", "/v1/admin/users/" + u.ID + "/factors"},
		}
		last := testAdminKey[len(testAdminKey)-1]
		for name, opt := range map[string]reqOpt{
			"no key":              func(*http.Request) {},
			"empty bearer":        header("Authorization", "Bearer "),
			"wrong key":           bearer("not-the-admin-key-at-all"),
			"last character":      bearer(testAdminKey[:len(testAdminKey)-1] + string(last+1)),
			"prefix":              bearer(testAdminKey[:len(testAdminKey)-1]),
			"longer":              bearer(testAdminKey + "x"),
			"other scheme":        header("Authorization", "Basic "+testAdminKey),
			"bare key":            header("Authorization", testAdminKey),
			"as X-Api-Key header": header("X-Api-Key", testAdminKey),
		} {
			for _, rt := range routes {
				var body any
				if rt.method == "POST" || rt.method == "PATCH" {
					body = map[string]any{"email": "new@example.com", "disabled": true}
				}
				r := e.do(t, rt.method, rt.path, body, opt)
				r.WantProblem(http.StatusUnauthorized, "unauthorized")
				if !strings.HasPrefix(r.Header.Get("Www-Authenticate"), "Bearer") {
					t.Errorf("%s %s %s: WWW-Authenticate %q", name, rt.method, rt.path, r.Header.Get("Www-Authenticate"))
				}
			}
		}
		// Nothing happened.
		var got adminUserJSON
		e.do(t, "GET", "/v1/admin/users/"+u.ID, nil, adminKey()).Want(http.StatusOK).Strict(&got)
		if got.Disabled {
			t.Error("a request without the key disabled the user")
		}
		e.do(t, "GET", "/v1/admin/users?query=new%40example.com", nil, adminKey()).Want(http.StatusOK)
		// The scheme is case-insensitive.
		e.do(t, "GET", "/v1/admin/users", nil, header("Authorization", "bearer "+testAdminKey)).Want(http.StatusOK)
		// A user's access token is no admin key.
		tok := e.account(t, "user@example.com")
		e.do(t, "GET", "/v1/admin/users", nil, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "unauthorized")
	})
}

func TestAdminOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, withoutAdminKey())
	for _, opt := range []reqOpt{adminKey(), bearer(""), func(*http.Request) {}} {
		e.do(t, "GET", "/v1/admin/users", nil, opt).WantProblem(http.StatusForbidden, "forbidden")
	}
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {

		t.Run("create", func(t *testing.T) {
			e.secret("admin-chosen password")
			var out struct {
				User adminUserJSON `json:"user"`
			}
			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": " Made@Example.com", "password": "admin-chosen password", "name": "Made", "email_verified": true}, adminKey()).
				Want(http.StatusCreated).Strict(&out)
			if out.User.Email != "made@example.com" || out.User.Name != "Made" || !out.User.EmailVerified || !out.User.HasPassword || out.User.Disabled || out.User.DisabledAt != nil {
				t.Errorf("user %+v", out.User)
			}
			e.signIn(t, "made@example.com", "admin-chosen password")

			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "MADE@example.com"}, adminKey()).WantProblem(http.StatusConflict, "email_taken")
			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "bad"}, adminKey()).WantFieldError("invalid_request", "email")
			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "weak@example.com", "password": "1234"}, adminKey()).WantFieldError("weak_password", "password")
			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "x@example.com", "role": "admin"}, adminKey()).WantFieldError("invalid_request", "role")
			e.do(t, "POST", "/v1/admin/users", map[string]any{"email": "x@example.com", "email_verified": "yes"}, adminKey()).WantFieldError("invalid_request", "email_verified")
		})

		t.Run("list and page", func(t *testing.T) {
			// 7 users whose email holds "page", 3 others.
			var want []string
			for i := range 10 {
				email := fmt.Sprintf("page%02d@example.com", i)
				if i >= 7 {
					email = fmt.Sprintf("other%02d@example.org", i)
				}
				u := e.passwordlessUser(t, email)
				if i < 7 {
					want = append(want, u.ID)
				}
			}
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 4 {
					t.Fatal("paging does not end")
				}
				q := url.Values{"query": {"PAGE"}, "limit": {"3"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				var page struct {
					Users      []adminUserJSON `json:"users"`
					NextCursor string          `json:"next_cursor"`
				}
				e.do(t, "GET", "/v1/admin/users?"+q.Encode(), nil, adminKey()).Want(http.StatusOK).Strict(&page)
				if len(page.Users) > 3 {
					t.Fatalf("a page of %d users, limit 3", len(page.Users))
				}
				for _, u := range page.Users {
					if !strings.HasPrefix(u.Email, "page") {
						t.Errorf("query PAGE matched %s", u.Email)
					}
					got = append(got, u.ID)
				}
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged through %v, want %v (in creation order)", got, want)
			}

			// Without a query every user is listed (the default limit covers them).
			var all struct {
				Users      []adminUserJSON `json:"users"`
				NextCursor string          `json:"next_cursor"`
			}
			e.do(t, "GET", "/v1/admin/users", nil, adminKey()).Want(http.StatusOK).Decode(&all)
			if len(all.Users) != 11 || all.NextCursor != "" {
				t.Errorf("%d users, next cursor %q; want 11 and none", len(all.Users), all.NextCursor)
			}
			for _, q := range []string{"limit=0", "limit=201", "limit=x", "query=" + strings.Repeat("q", 201), "cursor=" + strings.Repeat("c", 65)} {
				e.do(t, "GET", "/v1/admin/users?"+q, nil, adminKey()).WantProblem(http.StatusBadRequest, "invalid_request")
			}
		})

		t.Run("get, update, delete", func(t *testing.T) {
			u := e.passwordlessUser(t, "crud@example.com")
			var got adminUserJSON
			e.do(t, "GET", "/v1/admin/users/"+u.ID, nil, adminKey()).Want(http.StatusOK).Strict(&got)
			if got.ID != u.ID || got.Email != "crud@example.com" || got.Disabled || got.HasPassword {
				t.Errorf("user %+v", got)
			}
			var upd adminUserJSON
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, map[string]any{"name": "Renamed", "email_verified": true}, adminKey()).Want(http.StatusOK).Strict(&upd)
			if upd.Name != "Renamed" || !upd.EmailVerified || upd.Disabled {
				t.Errorf("after PATCH: %+v", upd)
			}
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, map[string]any{"name": 3}, adminKey()).WantFieldError("invalid_request", "name")
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, map[string]any{"email": "new@example.com"}, adminKey()).WantFieldError("invalid_request", "email")

			r := e.do(t, "DELETE", "/v1/admin/users/"+u.ID, nil, adminKey()).Want(http.StatusNoContent)
			if len(r.Body) != 0 {
				t.Errorf("204 with a body: %s", r.Body)
			}
			e.do(t, "DELETE", "/v1/admin/users/"+u.ID, nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "GET", "/v1/admin/users/"+u.ID, nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, map[string]any{"disabled": true}, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "GET", "/v1/admin/sessions?user_id="+u.ID, nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "DELETE", "/v1/admin/users/"+u.ID+"/sessions", nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "GET", "/v1/admin/users/not-an-id", nil, adminKey()).WantProblem(http.StatusNotFound, "not_found")
			e.do(t, "GET", "/v1/admin/users/"+strings.Repeat("x", 65), nil, adminKey()).WantFieldError("invalid_request", "id")
			e.do(t, "GET", "/v1/admin/sessions", nil, adminKey()).WantFieldError("invalid_request", "user_id")
		})
	})
}

// TestAdminDisable: disabling a user ends its sessions at once and stops
// sign-in; enabling lets it sign in again.
func TestAdminDisable(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.account(t, "eve@example.com")
		bystander := e.account(t, "bob@example.com")
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)

		var u adminUserJSON
		e.do(t, "PATCH", "/v1/admin/users/"+tok.User.ID, map[string]any{"disabled": true}, adminKey()).Want(http.StatusOK).Strict(&u)
		if !u.Disabled || u.DisabledAt == nil || !u.DisabledAt.Equal(e.Clock.Now()) {
			t.Errorf("after disable: %+v", u)
		}
		e.check(t, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, tok.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": "eve@example.com", "password": testPassword}).
			WantProblem(http.StatusForbidden, "forbidden")
		e.check(t, bearer(bystander.AccessToken)).Want(http.StatusOK)
		var list struct {
			Users []adminUserJSON `json:"users"`
		}
		e.do(t, "GET", "/v1/admin/users?query=eve", nil, adminKey()).Want(http.StatusOK).Decode(&list)
		if len(list.Users) != 1 || !list.Users[0].Disabled {
			t.Errorf("list shows %+v", list.Users)
		}

		var enabled adminUserJSON
		e.do(t, "PATCH", "/v1/admin/users/"+tok.User.ID, map[string]any{"disabled": false}, adminKey()).Want(http.StatusOK).Strict(&enabled)
		if enabled.Disabled || enabled.DisabledAt != nil {
			t.Errorf("after enable: %+v", enabled)
		}
		// Enabling does not bring old sessions back.
		e.check(t, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		again := e.signIn(t, "eve@example.com", testPassword)
		e.check(t, bearer(again.AccessToken)).Want(http.StatusOK)
	})
}

func TestAdminSessions(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		a, b, cookie := e.threeSessions(t, "carl@example.com")
		other := e.account(t, "dora@example.com")

		r := e.do(t, "GET", "/v1/admin/sessions?user_id="+a.User.ID, nil, adminKey()).Want(http.StatusOK)
		var list struct {
			Sessions []sessionJSON `json:"sessions"`
		}
		r.Strict(&list)
		if len(list.Sessions) != 3 {
			t.Fatalf("%d sessions, want 3: %s", len(list.Sessions), r.Body)
		}
		browsers := 0
		for _, s := range list.Sessions {
			if s.UserID != a.User.ID || s.Current || s.ID == "" {
				t.Errorf("session %+v", s)
			}
			if s.Browser {
				browsers++
			}
		}
		if browsers != 1 {
			t.Errorf("%d browser sessions, want 1", browsers)
		}
		// Metadata only: no value anywhere in the answer is a credential.
		for _, secret := range []string{a.AccessToken, a.RefreshToken, b.AccessToken, b.RefreshToken, cookie} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("the admin session list holds a credential: %s", r.Body)
			}
		}
		var raw struct {
			Sessions []map[string]any `json:"sessions"`
		}
		r.Decode(&raw)
		for _, s := range raw.Sessions {
			for k, v := range s {
				if str, ok := v.(string); ok && len(str) >= 40 {
					t.Errorf("field %s holds a long opaque value %q", k, str)
				}
				if strings.Contains(k, "token") || strings.Contains(k, "hash") || strings.Contains(k, "cookie") {
					t.Errorf("field %q in an admin session", k)
				}
			}
		}

		r = e.do(t, "DELETE", "/v1/admin/users/"+a.User.ID+"/sessions", nil, adminKey()).Want(http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %s", r.Body)
		}
		var after struct {
			Sessions []sessionJSON `json:"sessions"`
		}
		e.do(t, "GET", "/v1/admin/sessions?user_id="+a.User.ID, nil, adminKey()).Want(http.StatusOK).Decode(&after)
		if len(after.Sessions) != 0 {
			t.Errorf("%d sessions after revoking all", len(after.Sessions))
		}
		for _, tok := range []tokensJSON{a, b} {
			e.check(t, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
			e.refresh(t, tok.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		}
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")
		// Another user is untouched, and the user may sign in again.
		e.check(t, bearer(other.AccessToken)).Want(http.StatusOK)
		e.signIn(t, "carl@example.com", testPassword)
	})
}

// TestAdminRole: PATCH grants and takes away the admin role, and every
// admin view of the user shows it.
func TestAdminRole(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.passwordlessUser(t, "role@example.com")
		bystander := e.passwordlessUser(t, "plain@example.com")
		type roleJSON struct {
			ID       string `json:"id"`
			Admin    *bool  `json:"admin"`
			Disabled bool   `json:"disabled"`
		}
		// admin answers the role as GET and the list show it.
		admin := func(id, email string) bool {
			t.Helper()
			var one roleJSON
			e.do(t, "GET", "/v1/admin/users/"+id, nil, adminKey()).Want(http.StatusOK).Decode(&one)
			var list struct {
				Users []roleJSON `json:"users"`
			}
			e.do(t, "GET", "/v1/admin/users?query="+url.QueryEscape(email), nil, adminKey()).Want(http.StatusOK).Decode(&list)
			if one.Admin == nil || len(list.Users) != 1 || list.Users[0].Admin == nil {
				t.Fatalf("no admin field: %+v, %+v", one, list.Users)
			}
			if *one.Admin != *list.Users[0].Admin {
				t.Fatalf("GET says admin %v, the list %v", *one.Admin, *list.Users[0].Admin)
			}
			return *one.Admin
		}
		if admin(u.ID, "role@example.com") {
			t.Fatal("a new user is an admin")
		}
		for _, tc := range []struct {
			body map[string]any
			want bool
		}{
			{map[string]any{"admin": true}, true},
			{map[string]any{"name": "Still Admin"}, true}, // other changes keep the role
			{map[string]any{"admin": true}, true},
			{map[string]any{"admin": false}, false},
			{map[string]any{"admin": true, "disabled": true}, true},
		} {
			var got roleJSON
			e.do(t, "PATCH", "/v1/admin/users/"+u.ID, tc.body, adminKey()).Want(http.StatusOK).Decode(&got)
			if got.Admin == nil || *got.Admin != tc.want {
				t.Errorf("PATCH %v answered admin %v, want %v", tc.body, got.Admin, tc.want)
			}
			if g := admin(u.ID, "role@example.com"); g != tc.want {
				t.Errorf("after PATCH %v the user has admin %v, want %v", tc.body, g, tc.want)
			}
		}
		if admin(bystander.ID, "plain@example.com") {
			t.Error("another user became an admin")
		}
		for _, bad := range []struct{ body, field string }{
			{`{"admin":"yes"}`, "admin"},
			{`{"admin":1}`, "admin"},
			{`{"role":"admin"}`, "role"},
		} {
			e.do(t, "PATCH", "/v1/admin/users/"+bystander.ID, bad.body, adminKey()).WantFieldError("invalid_request", bad.field)
		}
		if admin(bystander.ID, "plain@example.com") {
			t.Error("a refused PATCH made the user an admin")
		}
	})
}
