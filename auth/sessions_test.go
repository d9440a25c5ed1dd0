package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "list", func(t *testing.T, e *env) {
			u, old := e.newUser("list") // will be idle too long
			e.clock.Advance(100 * time.Hour)
			cur := e.signIn(u.Email, goodPassword, client())
			gone := e.signIn(u.Email, goodPassword, client()) // will be revoked
			_, cookieP := e.cookieSession(u)
			_, other := e.newUser("someone-else")
			e.clock.Advance(time.Minute)
			newest := e.signIn(u.Email, goodPassword, client())
			p := e.bearer(cur.AccessToken)
			if err := e.svc.RevokeSession(e.ctx, p, gone.Session.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(68*time.Hour + time.Minute) // old is 168h idle now
			list, err := e.svc.Sessions(e.ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := []string{newest.Session.ID, cookieP.Session.ID, cur.Session.ID}
			var ids []string
			for _, v := range list {
				ids = append(ids, v.ID)
				if v.Current != (v.ID == cur.Session.ID) {
					t.Errorf("session %s: Current = %v", v.ID, v.Current)
				}
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("Sessions = %v; want newest first %v (not %s revoked, %s expired, %s of another user)",
					ids, wantIDs, gone.Session.ID, old.Session.ID, other.Session.ID)
			}
			checkSession(t, "listed session", &list[2].Session, cur.Session)
			admin, err := e.svc.AdminSessions(e.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sessionIDs(admin), wantIDs) {
				t.Errorf("AdminSessions = %v; want %v", sessionIDs(admin), wantIDs)
			}
		})

		run(t, st, "revoke", func(t *testing.T, e *env) {
			u, g := e.newUser("revoker")
			p := e.bearer(g.AccessToken)
			_, theirs := e.newUser("victim")
			err := e.svc.RevokeSession(e.ctx, p, theirs.Session.ID)
			checkErr(t, "another user's session", err, errNoSuchSession)
			e.bearer(theirs.AccessToken) // still fine
			for _, id := range []string{"", "no-such-session", "00000000-0000-7000-8000-000000000000"} {
				checkErr(t, "RevokeSession("+id+")", e.svc.RevokeSession(e.ctx, p, id), errNoSuchSession)
			}
			second := e.signIn(u.Email, goodPassword, client())
			for range 2 { // revoking twice is fine
				if err := e.svc.RevokeSession(e.ctx, p, second.Session.ID); err != nil {
					t.Fatalf("RevokeSession: %v", err)
				}
			}
			if s := e.storedSession(second.Session.ID); s.RevokedAt == nil || !s.RevokedAt.Equal(e.now()) {
				t.Errorf("stored RevokedAt %v; want %v", s.RevokedAt, e.now())
			}
		})

		run(t, st, "logout scopes", func(t *testing.T, e *env) {
			u, g := e.newUser("logout")
			p := e.bearer(g.AccessToken)
			b := e.signIn(u.Email, goodPassword, client())
			for _, scope := range []string{"LOCAL", "all", " global", "none"} {
				err := e.svc.Logout(e.ctx, p, scope)
				checkErr(t, "Logout("+scope+")", err, invalid(auth.FieldError{Field: "scope", Message: "must be one of local, others, global"}))
			}
			// Nothing was revoked by the refused calls.
			e.bearer(g.AccessToken)
			e.bearer(b.AccessToken)
			if list, _ := e.svc.Sessions(e.ctx, p); len(list) != 2 {
				t.Errorf("%d sessions after refused logouts; want 2", len(list))
			}
			if err := e.svc.Logout(e.ctx, p, auth.ScopeOthers); err != nil {
				t.Fatal(err)
			}
			if list, _ := e.svc.Sessions(e.ctx, p); len(list) != 1 || list[0].ID != g.Session.ID || !list[0].Current {
				t.Errorf("after logout others: %+v; want only the current session", list)
			}
			if err := e.svc.Logout(e.ctx, p, auth.ScopeGlobal); err != nil {
				t.Fatal(err)
			}
			if list, _ := e.svc.Sessions(e.ctx, p); len(list) != 0 {
				t.Errorf("after logout global: %d sessions", len(list))
			}
			// Logging out of an ended session again is not an error.
			if err := e.svc.Logout(e.ctx, p, auth.ScopeLocal); err != nil {
				t.Errorf("second logout: %v", err)
			}
		})
	})
}

func TestProfile(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "user and update", func(t *testing.T, e *env) {
			u, g := e.newUser("profile")
			p := e.bearer(g.AccessToken)
			got, err := e.svc.User(e.ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			checkUser(t, "User", got, u)
			e.clock.Advance(time.Hour)
			up, err := e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{Name: new("  New Name  ")})
			if err != nil {
				t.Fatal(err)
			}
			want := *u
			want.Name = "New Name"
			want.UpdatedAt = e.now()
			checkUser(t, "UpdateProfile", up, &want)
			checkUser(t, "stored", e.storedUser(u.ID), &want)
			// No change leaves the name.
			up, err = e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{})
			if err != nil || up.Name != "New Name" {
				t.Errorf("empty update: %v, name %q", err, up.Name)
			}
			_, err = e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{Name: new("tab\there")})
			checkErr(t, "control character", err, invalid(auth.FieldError{Field: "name", Message: "must not contain control characters"}))
			if n := e.storedUser(u.ID).Name; n != "New Name" {
				t.Errorf("a refused update changed the name to %q", n)
			}
			// A deleted user's principal.
			if err := e.svc.AdminDeleteUser(e.ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.User(e.ctx, p)
			checkErr(t, "User of a deleted account", err, errSessionEnded)
			_, err = e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{Name: new("x")})
			checkErr(t, "UpdateProfile of a deleted account", err, errSessionEnded)
		})
	})
}

func TestChangePassword(t *testing.T) {
	wrong := &auth.Error{Kind: auth.KindInvalidCredentials, Message: "The current password is not correct.",
		Fields: []auth.FieldError{{Field: "current_password", Message: "is not correct"}}}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "change", func(t *testing.T, e *env) {
			u, a := e.newUser("change")
			b := e.signIn(u.Email, goodPassword, client())
			pa := e.bearer(a.AccessToken)
			e.bearer(b.AccessToken)

			checkErr(t, "wrong current", e.svc.ChangePassword(e.ctx, pa, "not-it", newPassword, client()), wrong)
			checkErr(t, "no current", e.svc.ChangePassword(e.ctx, pa, "", newPassword, client()),
				invalid(auth.FieldError{Field: "current_password", Message: "is required"}))
			checkErr(t, "no new", e.svc.ChangePassword(e.ctx, pa, goodPassword, "", client()),
				invalid(auth.FieldError{Field: "new_password", Message: "is required"}))
			checkErr(t, "weak new", e.svc.ChangePassword(e.ctx, pa, goodPassword, "password1", client()),
				weak("new_password", "is too common; choose a less guessable password"))
			checkErr(t, "short new", e.svc.ChangePassword(e.ctx, pa, goodPassword, "short", client()),
				weak("new_password", "must be at least 8 characters"))
			// None of those changed anything.
			e.bearer(b.AccessToken)
			e.signIn(u.Email, goodPassword, client())

			e.clock.Advance(time.Minute)
			if err := e.svc.ChangePassword(e.ctx, pa, goodPassword, newPassword, client()); err != nil {
				t.Fatalf("ChangePassword: %v", err)
			}
			if got := e.storedUser(u.ID); got.PasswordHash == u.PasswordHash || !got.UpdatedAt.Equal(e.now()) {
				t.Errorf("stored user %+v; want a new hash updated at %v", *got, e.now())
			}
			e.bearer(a.AccessToken)
			_, err := e.svc.BearerPrincipal(e.ctx, b.AccessToken)
			checkErr(t, "other session", err, errSessionEnded)
			_, err = e.svc.RefreshGrant(e.ctx, b.RefreshToken, client())
			checkErr(t, "other session's refresh", err, errRefreshRevoked)
			if _, err := e.svc.RefreshGrant(e.ctx, a.RefreshToken, client()); err != nil {
				t.Errorf("current session's refresh: %v", err)
			}
			_, err = passwordGrant(e.ctx, e.svc, u.Email, goodPassword, client())
			checkErr(t, "old password", err, errInvalidCredentials)
			e.signIn(u.Email, newPassword, client())
		})

		run(t, st, "first password", func(t *testing.T, e *env) {
			u := e.signUp(email("first"), "")
			cookie, p := e.cookieSession(u)
			otherCookie, _ := e.cookieSession(u)
			checkErr(t, "weak", e.svc.ChangePassword(e.ctx, p, "", "12345678", client()),
				weak("new_password", "is too common; choose a less guessable password"))
			// No current password is asked for, and one given is ignored.
			if err := e.svc.ChangePassword(e.ctx, p, "anything", goodPassword, client()); err != nil {
				t.Fatalf("ChangePassword: %v", err)
			}
			e.signIn(u.Email, goodPassword, client())
			_, err := e.svc.CookiePrincipal(e.ctx, otherCookie)
			checkErr(t, "the other browser session", err, errSessionEnded)
			if _, err := e.svc.CookiePrincipal(e.ctx, cookie); err != nil {
				t.Errorf("the current browser session: %v", err)
			}
			// Now the current password is required.
			checkErr(t, "second change without current", e.svc.ChangePassword(e.ctx, p, "", newPassword, client()),
				invalid(auth.FieldError{Field: "current_password", Message: "is required"}))
		})

		run(t, st, "wrong guesses are throttled", func(t *testing.T, e *env) {
			u, g := e.newUser("guesser")
			p := e.bearer(g.AccessToken)
			for range 5 {
				checkErr(t, "guess", e.svc.ChangePassword(e.ctx, p, "guess", newPassword, client()), wrong)
			}
			checkErr(t, "right current while locked", e.svc.ChangePassword(e.ctx, p, goodPassword, newPassword, client()), rateLimited(time.Minute))
			// The account's sign-in is locked too.
			_, err := passwordGrant(e.ctx, e.svc, u.Email, goodPassword, client())
			checkErr(t, "sign-in while locked", err, rateLimited(time.Minute))
			e.clock.Advance(time.Minute)
			if err := e.svc.ChangePassword(e.ctx, p, goodPassword, newPassword, client()); err != nil {
				t.Errorf("after the block: %v", err)
			}
		})
	})
}
