package auth_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func userIDs(list []auth.User) []string {
	ids := make([]string, len(list))
	for i, u := range list {
		ids[i] = u.ID
	}
	return ids
}

// pages walks AdminUsers from the start and answers every page's IDs.
func (e *env) pages(q auth.UserQuery) [][]string {
	e.t.Helper()
	var out [][]string
	for range 100 {
		list, next, err := e.svc.AdminUsers(e.ctx, q)
		if err != nil {
			e.t.Fatalf("AdminUsers(%+v): %v", q, err)
		}
		out = append(out, userIDs(list))
		if next == "" {
			return out
		}
		if len(list) == 0 || next != list[len(list)-1].ID {
			e.t.Fatalf("AdminUsers(%+v): next cursor %q is not the page's last ID", q, next)
		}
		q.After = next
	}
	e.t.Fatal("AdminUsers never ended")
	return nil
}

func TestAdminUsers(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		var all []string
		for i := range 7 {
			u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: fmt.Sprintf("page%d@example.com", i), Name: fmt.Sprintf("Pager %d", i)})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, u.ID)
		}
		got := e.pages(auth.UserQuery{Limit: 3})
		want := [][]string{all[:3], all[3:6], all[6:]}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("pages of 3 = %v; want %v", got, want)
		}
		if got := e.pages(auth.UserQuery{Limit: 7}); len(got) != 1 || !slices.Equal(got[0], all) {
			t.Errorf("a page of exactly 7 = %v; want one page %v", got, all)
		}
		if got := e.pages(auth.UserQuery{}); len(got) != 1 || !slices.Equal(got[0], all) {
			t.Errorf("default page = %v; want %v", got, all)
		}

		// Matching: email, name, any case; the cursor still pages.
		zed := []string{}
		for _, n := range []string{"Zed Alpha", "zed beta", "ZED GAMMA", "Zeta"} {
			u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: email(strings.ReplaceAll(strings.ToLower(n), " ", "-")), Name: n})
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(strings.ToLower(n), "zed") {
				zed = append(zed, u.ID)
			}
		}
		tests := []struct {
			q    auth.UserQuery
			want [][]string
		}{
			{auth.UserQuery{Query: "zed"}, [][]string{zed}},
			{auth.UserQuery{Query: "  ZeD "}, [][]string{zed}},
			{auth.UserQuery{Query: "zed", Limit: 2}, [][]string{zed[:2], zed[2:]}},
			{auth.UserQuery{Query: "PAGE6@"}, [][]string{all[6:]}},
			{auth.UserQuery{Query: "pager", Limit: 4}, [][]string{all[:4], all[4:]}},
			{auth.UserQuery{Query: "nobody"}, [][]string{{}}},
			{auth.UserQuery{Query: "%"}, [][]string{{}}},
			{auth.UserQuery{Query: strings.Repeat("z", 200)}, [][]string{{}}},
		}
		for _, tt := range tests {
			if got := e.pages(tt.q); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("AdminUsers(%q, limit %d) = %v; want %v", tt.q.Query, tt.q.Limit, got, tt.want)
			}
		}
		bad := invalid(auth.FieldError{Field: "query", Message: "must be at most 200 characters of text"})
		for _, q := range []string{strings.Repeat("z", 201), "\xff", "a\x00"} {
			_, _, err := e.svc.AdminUsers(e.ctx, auth.UserQuery{Query: q})
			checkErr(t, "AdminUsers(bad query)", err, bad)
		}
	})
}

func TestAdminUsersPageSize(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		var all []string
		for i := range 205 {
			u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: fmt.Sprintf("bulk%03d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, u.ID)
		}
		tests := []struct {
			limit int
			sizes []int
		}{
			{0, []int{50, 50, 50, 50, 5}},
			{-1, []int{50, 50, 50, 50, 5}},
			{199, []int{199, 6}},
			{200, []int{199, 6}},
			{10_000, []int{199, 6}},
			{205, []int{199, 6}},
		}
		for _, tt := range tests {
			got := e.pages(auth.UserQuery{Limit: tt.limit})
			var sizes []int
			var ids []string
			for _, p := range got {
				sizes = append(sizes, len(p))
				ids = append(ids, p...)
			}
			if !slices.Equal(sizes, tt.sizes) || !slices.Equal(ids, all) {
				t.Errorf("limit %d: pages of %v; want %v covering all %d users in order", tt.limit, sizes, tt.sizes, len(all))
			}
		}
	})
}

func TestAdminUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "lookups", func(t *testing.T, e *env) {
			u := e.signUp(email("Lookup"), goodPassword)
			got, err := e.svc.AdminUser(e.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkUser(t, "AdminUser", got, u)
			got, err = e.svc.AdminUserByEmail(e.ctx, "  "+strings.ToUpper(u.Email))
			if err != nil {
				t.Fatal(err)
			}
			checkUser(t, "AdminUserByEmail", got, u)
			_, err = e.svc.AdminUserByEmail(e.ctx, email("ghost"))
			checkErr(t, "AdminUserByEmail(unknown)", err, errNoSuchUser)
			_, err = e.svc.AdminUserByEmail(e.ctx, "nope")
			checkErr(t, "AdminUserByEmail(invalid)", err, invalid(auth.FieldError{Field: "email", Message: "must be a valid email address"}))
		})

		run(t, st, "unknown ids", func(t *testing.T, e *env) {
			for _, id := range []string{"", "no-such-user", "00000000-0000-7000-8000-000000000000"} {
				_, err := e.svc.AdminUser(e.ctx, id)
				checkErr(t, "AdminUser", err, errNoSuchUser)
				_, err = e.svc.AdminUpdateUser(e.ctx, id, auth.AdminUpdate{Disabled: new(true)})
				checkErr(t, "AdminUpdateUser", err, errNoSuchUser)
				_, err = e.svc.AdminUpdateUser(e.ctx, id, auth.AdminUpdate{})
				checkErr(t, "AdminUpdateUser(nothing)", err, errNoSuchUser)
				checkErr(t, "AdminDeleteUser", e.svc.AdminDeleteUser(e.ctx, id), errNoSuchUser)
				_, err = e.svc.AdminSessions(e.ctx, id)
				checkErr(t, "AdminSessions", err, errNoSuchUser)
				checkErr(t, "AdminRevokeSessions", e.svc.AdminRevokeSessions(e.ctx, id), errNoSuchUser)
				if !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("not_found does not match auth.ErrNotFound")
				}
			}
		})

		run(t, st, "update", func(t *testing.T, e *env) {
			u := e.signUp(email("update"), goodPassword)
			e.clock.Advance(time.Hour)
			got, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Name: new(" Admin Set "), EmailVerified: new(true)})
			if err != nil {
				t.Fatal(err)
			}
			want := *u
			want.Name, want.EmailVerified, want.UpdatedAt = "Admin Set", true, e.now()
			checkUser(t, "AdminUpdateUser", got, &want)
			checkUser(t, "stored", e.storedUser(u.ID), &want)
			_, err = e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Name: new(strings.Repeat("n", 201))})
			checkErr(t, "long name", err, invalid(auth.FieldError{Field: "name", Message: "must be at most 200 characters"}))
			checkUser(t, "stored after a refused update", e.storedUser(u.ID), &want)
		})

		run(t, st, "disable and enable", func(t *testing.T, e *env) {
			u, g := e.newUser("disable")
			cookie, _ := e.cookieSession(u)
			e.clock.Advance(time.Minute)
			at := e.now()
			got, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)})
			if err != nil {
				t.Fatal(err)
			}
			if got.DisabledAt == nil || !got.DisabledAt.Equal(at) || !e.storedUser(u.ID).DisabledAt.Equal(at) {
				t.Errorf("DisabledAt %v; want %v, answered and stored", got.DisabledAt, at)
			}
			if list, err := e.svc.AdminSessions(e.ctx, u.ID); err != nil || len(list) != 0 {
				t.Errorf("AdminSessions after disabling: %v, %v; want none", sessionIDs(list), err)
			}
			if s := e.storedSession(g.Session.ID); s.RevokedAt == nil || !s.RevokedAt.Equal(at) {
				t.Errorf("session RevokedAt %v; want %v", s.RevokedAt, at)
			}
			_, err = e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
			checkErr(t, "refresh", err, errRefreshRevoked)
			_, err = e.svc.CookiePrincipal(e.ctx, cookie)
			checkErr(t, "cookie", err, errSessionEnded)
			// Disabling again changes nothing.
			e.clock.Advance(time.Minute)
			if got, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)}); err != nil || !got.DisabledAt.Equal(at) {
				t.Errorf("second disable: %v, DisabledAt %v; want %v kept", err, got.DisabledAt, at)
			}
			got, err = e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(false)})
			if err != nil || got.DisabledAt != nil || e.storedUser(u.ID).DisabledAt != nil {
				t.Fatalf("enable: %v, %+v", err, got)
			}
			e.signIn(u.Email, goodPassword, client())
		})

		run(t, st, "delete", func(t *testing.T, e *env) {
			u, g := e.newUser("delete")
			cookie, _ := e.cookieSession(u)
			if err := e.svc.AdminDeleteUser(e.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			_, err := passwordGrant(e.ctx, e.svc, u.Email, goodPassword, client())
			checkErr(t, "sign-in", err, errInvalidCredentials)
			if _, err := e.store.SessionByID(e.ctx, g.Session.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("session after delete: %v; want not found", err)
			}
			_, err = e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
			checkErr(t, "refresh", err, errRefreshRevoked)
			_, err = e.svc.CookiePrincipal(e.ctx, cookie)
			checkErr(t, "cookie", err, errUnauthorized)
			_, err = e.svc.AdminUser(e.ctx, u.ID)
			checkErr(t, "AdminUser", err, errNoSuchUser)
			checkErr(t, "second delete", e.svc.AdminDeleteUser(e.ctx, u.ID), errNoSuchUser)
			// The address is free again.
			if nu := e.signUp(u.Email, goodPassword); nu.ID == u.ID {
				t.Errorf("new account reuses the deleted ID")
			}
		})

		run(t, st, "revoke sessions", func(t *testing.T, e *env) {
			u, a := e.newUser("revoke-all")
			b := e.signIn(u.Email, goodPassword, client())
			_, bystander := e.newUser("bystander")
			if list, err := e.svc.AdminSessions(e.ctx, u.ID); err != nil || !slices.Equal(sessionIDs(list), []string{b.Session.ID, a.Session.ID}) {
				t.Errorf("AdminSessions = %v, %v; want %v", sessionIDs(list), err, []string{b.Session.ID, a.Session.ID})
			}
			if err := e.svc.AdminRevokeSessions(e.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if list, err := e.svc.AdminSessions(e.ctx, u.ID); err != nil || len(list) != 0 {
				t.Errorf("AdminSessions after revoking = %v, %v", sessionIDs(list), err)
			}
			for _, g := range []*auth.Grant{a, b} {
				_, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
				checkErr(t, "refresh", err, errRefreshRevoked)
			}
			e.bearer(bystander.AccessToken)
			// Revoking a user with no sessions is fine; the user can sign in.
			if err := e.svc.AdminRevokeSessions(e.ctx, u.ID); err != nil {
				t.Errorf("second AdminRevokeSessions: %v", err)
			}
			e.signIn(u.Email, goodPassword, client())
		})
	})
}
