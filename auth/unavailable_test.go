package auth_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// TestStoreDown closes the store under a running service: every flow that
// needs it answers an error matching auth.ErrUnavailable, never a panic and
// never a misleading kind (invalid_credentials, not_found, token_revoked).
func TestStoreDown(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		u, g := e.newUser("down")
		cookie, _, err := e.svc.BrowserSession(e.ctx, u, client(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// A principal as a handler would hold it; the cache stays empty.
		p := &auth.Principal{User: *u, Session: *g.Session}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		flows := []struct {
			name string
			call func() error
		}{
			{"SignUp", func() error {
				_, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: email("new"), Password: goodPassword})
				return err
			}},
			{"SignUp passwordless", func() error {
				_, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: email("new")})
				return err
			}},
			{"SignInPassword", func() error { _, err := passwordGrant(e.ctx, e.svc, u.Email, goodPassword, client()); return err }},
			{"SignInPassword unknown", func() error { _, err := passwordGrant(e.ctx, e.svc, email("x"), goodPassword, client()); return err }},
			{"RefreshGrant", func() error { _, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client()); return err }},
			{"RefreshGrant unknown", func() error { _, err := e.svc.RefreshGrant(e.ctx, "unknown", client()); return err }},
			{"BearerPrincipal", func() error { _, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken); return err }},
			{"CookiePrincipal", func() error { _, err := e.svc.CookiePrincipal(e.ctx, cookie); return err }},
			{"CookiePrincipal unknown", func() error { _, err := e.svc.CookiePrincipal(e.ctx, "unknown"); return err }},
			{"BrowserSession", func() error { _, _, err := e.svc.BrowserSession(e.ctx, u, client(), nil); return err }},
			{"Sessions", func() error { _, err := e.svc.Sessions(e.ctx, p); return err }},
			{"RevokeSession", func() error { return e.svc.RevokeSession(e.ctx, p, g.Session.ID) }},
			{"Logout local", func() error { return e.svc.Logout(e.ctx, p, auth.ScopeLocal) }},
			{"Logout others", func() error { return e.svc.Logout(e.ctx, p, auth.ScopeOthers) }},
			{"Logout global", func() error { return e.svc.Logout(e.ctx, p, auth.ScopeGlobal) }},
			{"User", func() error { _, err := e.svc.User(e.ctx, p); return err }},
			{"UpdateProfile", func() error { _, err := e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{Name: new("x")}); return err }},
			{"ChangePassword", func() error { return e.svc.ChangePassword(e.ctx, p, goodPassword, newPassword, client()) }},
			{"AdminUser", func() error { _, err := e.svc.AdminUser(e.ctx, u.ID); return err }},
			{"AdminUserByEmail", func() error { _, err := e.svc.AdminUserByEmail(e.ctx, u.Email); return err }},
			{"AdminUsers", func() error { _, _, err := e.svc.AdminUsers(e.ctx, auth.UserQuery{}); return err }},
			{"AdminUsers query", func() error { _, _, err := e.svc.AdminUsers(e.ctx, auth.UserQuery{Query: "down"}); return err }},
			{"AdminUpdateUser", func() error {
				_, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)})
				return err
			}},
			{"AdminDeleteUser", func() error { return e.svc.AdminDeleteUser(e.ctx, u.ID) }},
			{"AdminSessions", func() error { _, err := e.svc.AdminSessions(e.ctx, u.ID); return err }},
			{"AdminRevokeSessions", func() error { return e.svc.AdminRevokeSessions(e.ctx, u.ID) }},
		}
		for _, f := range flows {
			t.Run(f.name, func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				checkUnavailable(t, f.name, f.call())
			})
		}
		// Validation needs no store and still answers.
		_, err = e.svc.SignUp(e.ctx, auth.SignUpInput{Email: "nope"})
		checkErr(t, "invalid sign-up", err, invalid(auth.FieldError{Field: "email", Message: "must be a valid email address"}))
	})
}
