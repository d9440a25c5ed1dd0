package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

func TestBearerPrincipal(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "valid", func(t *testing.T, e *env) {
			u, g := e.newUser("bearer")
			p := e.bearer(g.AccessToken)
			if p.User.ID != u.ID || p.User.Email != u.Email || p.User.Name != u.Name || !p.User.HasPassword() {
				t.Errorf("principal user %+v; want %+v with a password", p.User, *u)
			}
			if p.User.PasswordHash == u.PasswordHash {
				t.Errorf("the principal carries the password hash")
			}
			checkSession(t, "principal session", &p.Session, g.Session)
			// Again, from the cache: the same answer.
			p2 := e.bearer(g.AccessToken)
			checkSession(t, "cached principal session", &p2.Session, g.Session)
			// 14 minutes on, the token (exp truncated to the second) still passes.
			e.clock.Advance(14 * time.Minute)
			e.bearer(g.AccessToken)
		})

		run(t, st, "expired access token", func(t *testing.T, e *env) {
			_, g := e.newUser("expired")
			e.bearer(g.AccessToken)
			e.clock.Advance(15 * time.Minute)
			_, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken)
			checkErr(t, "after AccessTokenTTL", err, errTokenExpired)
			// The session lives on: a refresh answers a working token.
			g2, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
			if err != nil {
				t.Fatal(err)
			}
			e.bearer(g2.AccessToken)
		})

		run(t, st, "garbage", func(t *testing.T, e *env) {
			u, g := e.newUser("garbage")
			// A token from another server (other keys) for the same session.
			otherStore := newKeys(t, sqltest.SQLite(t), e.clock)
			foreign, err := otherStore.Sign(e.ctx, auth.AccessClaims{
				Subject: u.ID, SessionID: g.Session.ID, Email: u.Email, AAL: auth.AAL1,
				ID: "x", IssuedAt: e.now(), Expiry: e.now().Add(time.Minute),
			})
			if err != nil {
				t.Fatal(err)
			}
			tampered := []byte(g.AccessToken)
			tampered[len(tampered)-5] ^= 1
			for name, tok := range map[string]string{
				"empty":         "",
				"garbage":       "garbage",
				"three dots":    "a.b.c",
				"refresh token": g.RefreshToken,
				"foreign":       foreign,
				"tampered":      string(tampered),
				"huge":          string(make([]byte, 100_000)),
			} {
				_, err := e.svc.BearerPrincipal(e.ctx, tok)
				checkErr(t, name, err, errUnauthorized)
			}
		})

		run(t, st, "claims must match the session", func(t *testing.T, e *env) {
			u, g := e.newUser("mismatch")
			other, _ := e.newUser("other")
			sign := func(sub, sid string) string {
				tok, err := e.keys.Sign(e.ctx, auth.AccessClaims{
					Subject: sub, SessionID: sid, AAL: auth.AAL1,
					ID: "forged", IssuedAt: e.now(), Expiry: e.now().Add(time.Minute),
				})
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			// Another user's subject on this session: refused, cached or not.
			_, err := e.svc.BearerPrincipal(e.ctx, sign(other.ID, g.Session.ID))
			checkErr(t, "subject of another user", err, errUnauthorized)
			e.bearer(g.AccessToken)
			_, err = e.svc.BearerPrincipal(e.ctx, sign(other.ID, g.Session.ID))
			checkErr(t, "subject of another user, cached", err, errUnauthorized)
			_, err = e.svc.BearerPrincipal(e.ctx, sign(u.ID, "no-such-session"))
			checkErr(t, "unknown session", err, errSessionEnded)
		})
	})
}

func TestCookiePrincipal(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "valid, unknown, empty", func(t *testing.T, e *env) {
			u := e.signUp(email("cookie"), "")
			c := auth.Client{IP: "192.0.2.44", UserAgent: "browser"}
			cookie, sess, err := e.svc.BrowserSession(e.ctx, u, c, []string{auth.MethodOTP})
			if err != nil {
				t.Fatal(err)
			}
			now := e.now()
			want := &auth.Session{
				ID: sess.ID, UserID: u.ID, CookieHash: opaque.Hash(cookie), IP: c.IP, UserAgent: c.UserAgent,
				AAL: auth.AAL1, AMR: []string{auth.MethodOTP}, CreatedAt: now, LastSeenAt: now,
				ExpiresAt: now.Add(e.cfg.SessionTTL), AbsoluteExpiresAt: now.Add(e.cfg.RefreshTokenTTL),
			}
			checkSession(t, "BrowserSession", sess, want)
			checkSession(t, "stored", e.storedSession(sess.ID), want)
			for range 2 { // store, then cache
				p, err := e.svc.CookiePrincipal(e.ctx, cookie)
				if err != nil {
					t.Fatal(err)
				}
				if p.User.ID != u.ID {
					t.Errorf("principal user %s; want %s", p.User.ID, u.ID)
				}
				checkSession(t, "principal", &p.Session, want)
			}
			plain, _, _ := opaque.New()
			for _, bad := range []string{"", plain, cookie + "x"} {
				_, err := e.svc.CookiePrincipal(e.ctx, bad)
				checkErr(t, "cookie "+bad, err, errUnauthorized)
			}
		})

		run(t, st, "disabled user gets no browser session", func(t *testing.T, e *env) {
			u := e.signUp(email("nocookie"), "")
			u, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = e.svc.BrowserSession(e.ctx, u, client(), []string{auth.MethodOTP})
			checkErr(t, "BrowserSession", err, errDisabled)
			if list, _ := e.svc.AdminSessions(e.ctx, u.ID); len(list) != 0 {
				t.Errorf("a session was stored for a disabled user")
			}
		})

		run(t, st, "slides at most once a minute", func(t *testing.T, e *env) {
			u := e.signUp(email("slide"), "")
			cookie, sess, err := e.svc.BrowserSession(e.ctx, u, client(), nil)
			if err != nil {
				t.Fatal(err)
			}
			created := e.now()
			check := func(step string, lastSeen time.Time) {
				t.Helper()
				p, err := e.svc.CookiePrincipal(e.ctx, cookie)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				s := e.storedSession(sess.ID)
				if !s.LastSeenAt.Equal(lastSeen) || !s.ExpiresAt.Equal(lastSeen.Add(e.cfg.SessionTTL)) {
					t.Errorf("%s: stored last seen %v, expires %v; want %v, %v", step, s.LastSeenAt, s.ExpiresAt, lastSeen, lastSeen.Add(e.cfg.SessionTTL))
				}
				if !p.Session.LastSeenAt.Equal(lastSeen) {
					t.Errorf("%s: principal last seen %v; want %v", step, p.Session.LastSeenAt, lastSeen)
				}
			}
			check("at once", created)
			e.clock.Advance(30 * time.Second)
			check("after 30s", created)
			e.clock.Advance(30*time.Second - time.Microsecond)
			check("a microsecond before a minute", created)
			e.clock.Advance(time.Microsecond)
			slid := e.now()
			check("after a minute", slid)
			e.clock.Advance(59 * time.Second)
			check("59s later", slid)
			e.clock.Advance(time.Second)
			check("a minute later", e.now())
		})

		run(t, st, "expires after SessionTTL idle", func(t *testing.T, e *env) {
			u := e.signUp(email("idle"), "")
			cookie, _ := e.cookieSession(u)
			e.clock.Advance(e.cfg.SessionTTL - time.Microsecond)
			cookie2, _ := e.cookieSession(u)
			e.clock.Advance(time.Microsecond)
			_, err := e.svc.CookiePrincipal(e.ctx, cookie)
			checkErr(t, "idle for SessionTTL", err, errSessionExpired)
			if _, err := e.svc.CookiePrincipal(e.ctx, cookie2); err != nil {
				t.Errorf("a fresh session: %v", err)
			}
		})

		run(t, st, "sliding never passes the absolute lifetime", func(t *testing.T, e *env) {
			u := e.signUp(email("absolute"), "")
			cookie, p := e.cookieSession(u)
			abs := p.Session.AbsoluteExpiresAt
			for day := 1; day < 30; day++ {
				e.clock.Advance(24 * time.Hour)
				p, err := e.svc.CookiePrincipal(e.ctx, cookie)
				if err != nil {
					t.Fatalf("day %d: %v", day, err)
				}
				if p.Session.ExpiresAt.After(abs) {
					t.Errorf("day %d: expires %v after the absolute end %v", day, p.Session.ExpiresAt, abs)
				}
			}
			e.clock.Advance(24 * time.Hour)
			_, err := e.svc.CookiePrincipal(e.ctx, cookie)
			checkErr(t, "at the absolute end", err, errSessionExpired)
		})
	})
}

// TestRevocationIsImmediate fills the cache with every credential of a user,
// revokes some through a flow, and checks them again at the same instant.
func TestRevocationIsImmediate(t *testing.T) {
	type outcome int
	const (
		live outcome = iota
		revoked
		deleted
	)
	type creds struct {
		u       *auth.User
		a, b    *auth.Grant
		pa      *auth.Principal
		cookie  string
		cookieP *auth.Principal
	}
	tests := []struct {
		name         string
		act          func(e *env, c *creds) error
		a, b, cookie outcome
	}{
		{"logout local", func(e *env, c *creds) error { return e.svc.Logout(e.ctx, c.pa, auth.ScopeLocal) }, revoked, live, live},
		{"logout default scope", func(e *env, c *creds) error { return e.svc.Logout(e.ctx, c.pa, "") }, revoked, live, live},
		{"logout others", func(e *env, c *creds) error { return e.svc.Logout(e.ctx, c.pa, auth.ScopeOthers) }, live, revoked, revoked},
		{"logout global", func(e *env, c *creds) error { return e.svc.Logout(e.ctx, c.pa, auth.ScopeGlobal) }, revoked, revoked, revoked},
		{"logout local from the cookie", func(e *env, c *creds) error { return e.svc.Logout(e.ctx, c.cookieP, auth.ScopeLocal) }, live, live, revoked},
		{"revoke another session", func(e *env, c *creds) error { return e.svc.RevokeSession(e.ctx, c.pa, c.b.Session.ID) }, live, revoked, live},
		{"revoke the cookie session", func(e *env, c *creds) error { return e.svc.RevokeSession(e.ctx, c.pa, c.cookieP.Session.ID) }, live, live, revoked},
		{"revoke the own session", func(e *env, c *creds) error { return e.svc.RevokeSession(e.ctx, c.pa, c.a.Session.ID) }, revoked, live, live},
		{"admin revokes sessions", func(e *env, c *creds) error { return e.svc.AdminRevokeSessions(e.ctx, c.u.ID) }, revoked, revoked, revoked},
		{"admin disables", func(e *env, c *creds) error {
			_, err := e.svc.AdminUpdateUser(e.ctx, c.u.ID, auth.AdminUpdate{Disabled: new(true)})
			return err
		}, revoked, revoked, revoked},
		{"admin deletes", func(e *env, c *creds) error { return e.svc.AdminDeleteUser(e.ctx, c.u.ID) }, deleted, deleted, deleted},
		{"password change", func(e *env, c *creds) error {
			return e.svc.ChangePassword(e.ctx, c.pa, goodPassword, newPassword, client())
		}, live, revoked, revoked},
	}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tt := range tests {
			run(t, st, tt.name, func(t *testing.T, e *env) {
				var c creds
				c.u, c.a = e.newUser("revoke")
				c.b = e.signIn(c.u.Email, goodPassword, client())
				c.pa = e.bearer(c.a.AccessToken)
				e.bearer(c.b.AccessToken)
				c.cookie, c.cookieP = e.cookieSession(c.u)
				e.clock.Advance(time.Second) // well within CacheTTL
				if err := tt.act(e, &c); err != nil {
					t.Fatalf("act: %v", err)
				}
				check := func(name string, want outcome, get func() error, gone *auth.Error) {
					t.Helper()
					err := get()
					switch want {
					case live:
						if err != nil {
							t.Errorf("%s: %v; want it to pass", name, err)
						}
					case revoked:
						checkErr(t, name, err, errSessionEnded)
					case deleted:
						checkErr(t, name, err, gone)
					}
				}
				bearer := func(g *auth.Grant) func() error {
					return func() error { _, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken); return err }
				}
				check("session a", tt.a, bearer(c.a), errSessionEnded)
				check("session b", tt.b, bearer(c.b), errSessionEnded)
				check("cookie session", tt.cookie, func() error { _, err := e.svc.CookiePrincipal(e.ctx, c.cookie); return err }, errUnauthorized)
				for name, g := range map[string]*auth.Grant{"a": c.a, "b": c.b} {
					want := map[string]outcome{"a": tt.a, "b": tt.b}[name]
					_, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
					if want == live {
						if err != nil {
							t.Errorf("refresh %s: %v", name, err)
						}
					} else {
						checkErr(t, "refresh "+name, err, errRefreshRevoked)
					}
				}
			})
		}
	})
}

// TestCacheTTL changes the store behind the service's back, as another node
// would, and checks the change shows once CacheTTL has passed: that is the
// bound on cross-node staleness.
func TestCacheTTL(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env, u *auth.User, sessionIDs ...string) error
		// bearerErr and cookieErr are what each credential answers once the
		// change shows (nil: it passes, and the user's name is name2).
		bearerErr, cookieErr *auth.Error
		name2                string
	}{
		{"session revoked", func(e *env, _ *auth.User, ids ...string) error {
			for _, id := range ids {
				if err := e.store.RevokeSession(e.ctx, id, e.now()); err != nil {
					return err
				}
			}
			return nil
		}, errSessionEnded, errSessionEnded, "Test User"},
		{"user disabled", func(e *env, u *auth.User, _ ...string) error {
			at := e.now()
			return e.store.SetUserDisabled(e.ctx, u.ID, &at)
		}, errSessionEnded, errSessionEnded, "Test User"},
		{"user deleted", func(e *env, u *auth.User, _ ...string) error {
			return e.store.DeleteUser(e.ctx, u.ID)
		}, errSessionEnded, errUnauthorized, "Test User"},
		{"user renamed", func(e *env, u *auth.User, _ ...string) error {
			v := *u
			v.Name = "Renamed Elsewhere"
			return e.store.UpdateUser(e.ctx, &v)
		}, nil, nil, "Renamed Elsewhere"},
	}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tt := range tests {
			run(t, st, tt.name, func(t *testing.T, e *env) {
				u, g := e.newUser("stale")
				e.bearer(g.AccessToken)
				cookie, cp := e.cookieSession(u)
				if err := tt.change(e, u, g.Session.ID, cp.Session.ID); err != nil {
					t.Fatalf("change: %v", err)
				}
				// Within CacheTTL this node still answers its cached view.
				e.clock.Advance(e.cfg.CacheTTL)
				if p := e.bearer(g.AccessToken); p.User.Name != "Test User" {
					t.Errorf("cached bearer principal has name %q", p.User.Name)
				}
				if _, err := e.svc.CookiePrincipal(e.ctx, cookie); err != nil {
					t.Errorf("cached cookie principal: %v", err)
				}
				e.clock.Advance(time.Microsecond)
				p, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken)
				if tt.bearerErr != nil {
					checkErr(t, "bearer after CacheTTL", err, tt.bearerErr)
				} else if err != nil || p.User.Name != tt.name2 {
					t.Errorf("bearer after CacheTTL: %v, name %q; want %q", err, p.User.Name, tt.name2)
				}
				cpp, err := e.svc.CookiePrincipal(e.ctx, cookie)
				if tt.cookieErr != nil {
					checkErr(t, "cookie after CacheTTL", err, tt.cookieErr)
				} else if err != nil || cpp.User.Name != tt.name2 {
					t.Errorf("cookie after CacheTTL: %v, name %q; want %q", err, cpp.User.Name, tt.name2)
				}
			})
		}
	})
}

// TestRevocationDropsStaleEntries: a session revoked on another node is
// still cached here; revoking the user's sessions here must drop it too,
// though the store no longer counts it among those it revoked.
func TestRevocationDropsStaleEntries(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for name, act := range map[string]func(e *env, u *auth.User) error{
			"admin revokes sessions": func(e *env, u *auth.User) error { return e.svc.AdminRevokeSessions(e.ctx, u.ID) },
			"admin disables": func(e *env, u *auth.User) error {
				_, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)})
				return err
			},
			"logout global": func(e *env, u *auth.User) error {
				return e.svc.Logout(e.ctx, &auth.Principal{User: *u}, auth.ScopeGlobal)
			},
		} {
			run(t, st, name, func(t *testing.T, e *env) {
				u, g := e.newUser("stale-revoke")
				e.bearer(g.AccessToken)
				cookie, cp := e.cookieSession(u)
				for _, id := range []string{g.Session.ID, cp.Session.ID} {
					if err := e.store.RevokeSession(e.ctx, id, e.now()); err != nil {
						t.Fatal(err)
					}
				}
				if err := act(e, u); err != nil {
					t.Fatal(err)
				}
				_, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken)
				checkErr(t, "bearer", err, errSessionEnded)
				_, err = e.svc.CookiePrincipal(e.ctx, cookie)
				checkErr(t, "cookie", err, errSessionEnded)
			})
		}
	})
}

func TestProfileChangesShowAtOnce(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		u, g := e.newUser("rename")
		p := e.bearer(g.AccessToken)
		cookie, _ := e.cookieSession(u)
		if _, err := e.svc.UpdateProfile(e.ctx, p, auth.ProfileUpdate{Name: new("Self Renamed")}); err != nil {
			t.Fatal(err)
		}
		if p := e.bearer(g.AccessToken); p.User.Name != "Self Renamed" {
			t.Errorf("after UpdateProfile the principal's name is %q", p.User.Name)
		}
		if _, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Name: new("Admin Renamed"), EmailVerified: new(true)}); err != nil {
			t.Fatal(err)
		}
		cp, err := e.svc.CookiePrincipal(e.ctx, cookie)
		if err != nil {
			t.Fatal(err)
		}
		if cp.User.Name != "Admin Renamed" || !cp.User.EmailVerified {
			t.Errorf("after AdminUpdateUser the principal is %+v", cp.User)
		}
		if name := e.bearer(g.AccessToken).User.Name; name != "Admin Renamed" {
			t.Errorf("bearer principal's name %q", name)
		}
	})
}
