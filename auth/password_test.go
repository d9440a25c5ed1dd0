package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestSignInPassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "success", func(t *testing.T, e *env) {
			addr := email("grant")
			u := e.signUp(addr, goodPassword)
			e.clock.Advance(time.Hour)
			c := auth.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (flow test)"}
			g, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, c)
			if err != nil {
				t.Fatalf("SignInPassword: %v", err)
			}
			now := e.now()
			if g.AccessToken == "" || g.RefreshToken == "" || g.ExpiresIn != 15*time.Minute {
				t.Errorf("grant: access %q, refresh %q, expires in %v; want both tokens and 15m", g.AccessToken, g.RefreshToken, g.ExpiresIn)
			}
			if g.User == nil || g.User.ID != u.ID || g.User.Email != addr {
				t.Errorf("grant.User = %+v; want user %s", g.User, u.ID)
			}
			want := &auth.Session{
				ID: g.Session.ID, UserID: u.ID, IP: c.IP, UserAgent: c.UserAgent,
				AAL: auth.AAL1, AMR: []string{auth.MethodPassword},
				CreatedAt: now, LastSeenAt: now,
				ExpiresAt: now.Add(168 * time.Hour), AbsoluteExpiresAt: now.Add(720 * time.Hour),
			}
			checkSession(t, "grant.Session", g.Session, want)
			checkSession(t, "stored session", e.storedSession(g.Session.ID), want)

			claims, err := e.keys.Verify(e.ctx, g.AccessToken, e.clock.Now())
			if err != nil {
				t.Fatalf("signer rejects the access token: %v", err)
			}
			if claims.Subject != u.ID || claims.SessionID != g.Session.ID || claims.Email != addr ||
				claims.AAL != auth.AAL1 || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.ID == "" ||
				!claims.IssuedAt.Equal(now.Truncate(time.Second)) ||
				!claims.Expiry.Equal(now.Add(15*time.Minute).Truncate(time.Second)) {
				t.Errorf("claims = %+v; want sub %s, sid %s, email %s, aal1, [pwd], iat %v, exp %v", *claims,
					u.ID, g.Session.ID, addr, now.Truncate(time.Second), now.Add(15*time.Minute).Truncate(time.Second))
			}
			p := e.bearer(g.AccessToken)
			if p.User.ID != u.ID || p.Session.ID != g.Session.ID {
				t.Errorf("principal = user %s session %s; want %s %s", p.User.ID, p.Session.ID, u.ID, g.Session.ID)
			}
			g2, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, c)
			if err != nil {
				t.Fatalf("RefreshGrant with the new refresh token: %v", err)
			}
			if g2.Session.ID != g.Session.ID {
				t.Errorf("refresh moved to session %s; want %s", g2.Session.ID, g.Session.ID)
			}
			if ev := e.obs.take(); !slices.Equal(ev, []string{"password:success", "refresh_token:success"}) {
				t.Errorf("observed %q", ev)
			}
		})

		run(t, st, "user agent is bounded and storable", func(t *testing.T, e *env) {
			addr := email("ua")
			e.signUp(addr, goodPassword)
			tests := []struct{ ua, want string }{
				{strings.Repeat("é", 300), strings.Repeat("é", 256)},
				{strings.Repeat("x", 511) + "é", strings.Repeat("x", 511)},
				{"curl/8\xff\xfe", "curl/8\uFFFD"},
				{"curl/8\x00evil", "curl/8\uFFFDevil"},
			}
			for _, tt := range tests {
				g, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, auth.Client{IP: "203.0.113.8", UserAgent: tt.ua})
				if err != nil {
					t.Errorf("SignInPassword with user agent %.20q: %v", tt.ua, err)
					continue
				}
				if got := e.storedSession(g.Session.ID).UserAgent; got != tt.want {
					t.Errorf("stored user agent %.30q; want %.30q (len %d, got %d)", got, tt.want, len(tt.want), len(got))
				}
			}
		})

		run(t, st, "failures look alike", func(t *testing.T, e *env) {
			addr := email("known")
			e.signUp(addr, goodPassword)
			nopw := email("nopw")
			e.signUp(nopw, "")
			attempts := []struct{ name, email, password string }{
				{"wrong password", addr, "not-the-password"},
				{"password of another case", addr, strings.ToUpper(goodPassword)},
				{"unknown email", email("ghost"), goodPassword},
				{"passwordless account", nopw, goodPassword},
				{"passwordless account, empty-looking password", nopw, " "},
			}
			var errs []error
			for _, a := range attempts {
				g, err := passwordGrant(e.ctx, e.svc, a.email, a.password, client())
				if g != nil {
					t.Errorf("%s: answered a grant", a.name)
				}
				checkErr(t, a.name, err, errInvalidCredentials)
				errs = append(errs, err)
			}
			for i := range errs[1:] {
				if errs[i+1].Error() != errs[0].Error() {
					t.Errorf("%s answers %q but %s answers %q", attempts[i+1].name, errs[i+1], attempts[0].name, errs[0])
				}
			}
			if ev := e.obs.take(); len(ev) != len(attempts) || slices.ContainsFunc(ev, func(s string) bool { return s != "password:failure" }) {
				t.Errorf("observed %q; want %d password:failure", ev, len(attempts))
			}
		})

		run(t, st, "disabled account", func(t *testing.T, e *env) {
			addr := email("disabled")
			u := e.signUp(addr, goodPassword)
			if _, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(true)}); err != nil {
				t.Fatal(err)
			}
			_, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
			checkErr(t, "right password", err, errDisabled)
			_, err = passwordGrant(e.ctx, e.svc, addr, "not-the-password", client())
			checkErr(t, "wrong password", err, errInvalidCredentials)
			if _, err := e.svc.AdminUpdateUser(e.ctx, u.ID, auth.AdminUpdate{Disabled: new(false)}); err != nil {
				t.Fatal(err)
			}
			e.signIn(addr, goodPassword, client())
		})

		run(t, st, "validation lists every field", func(t *testing.T, e *env) {
			emailRequired := auth.FieldError{Field: "email", Message: "is required"}
			emailInvalid := auth.FieldError{Field: "email", Message: "must be a valid email address"}
			pwRequired := auth.FieldError{Field: "password", Message: "is required"}
			tests := []struct {
				email, password string
				want            *auth.Error
			}{
				{"", "", invalid(emailRequired, pwRequired)},
				{"  ", "x", invalid(emailRequired)},
				{"not-an-email", "", invalid(emailInvalid, pwRequired)},
				{"a@example.com", "", invalid(pwRequired)},
				{"a@b", "x", invalid(emailInvalid)},
			}
			for _, tt := range tests {
				_, err := passwordGrant(e.ctx, e.svc, tt.email, tt.password, client())
				checkErr(t, "SignInPassword("+tt.email+")", err, tt.want)
			}
			if ev := e.obs.take(); len(ev) != 0 {
				t.Errorf("invalid requests were observed as sign-ins: %q", ev)
			}
		})

		run(t, st, "upgrades an old hash", func(t *testing.T, e *env) {
			// An account made by a server with other parameters...
			old := newEnv(t, st, withParams(password.Params{Memory: 32, Iterations: 2, Parallelism: 1}))
			addr := email("rehash")
			u := old.signUp(addr, goodPassword)
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=32,t=2,p=1$") {
				t.Fatalf("old hash %q", u.PasswordHash)
			}
			// ...signs in here and leaves a hash with this server's.
			e.signIn(addr, goodPassword, client())
			if h := e.storedUser(u.ID).PasswordHash; !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Errorf("hash after sign-in %q; want m=64,t=1", h)
			}
			e.signIn(addr, goodPassword, client())
			old.signIn(addr, goodPassword, client())
		})
	})
}

func TestSignInPasswordDefaultParams(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		addr := email("default")
		u := e.signUp(addr, goodPassword)
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q; want OWASP's parameters", u.PasswordHash)
		}
		g := e.signIn(addr, goodPassword, client())
		if g.User.PasswordHash != u.PasswordHash || e.storedUser(u.ID).PasswordHash != u.PasswordHash {
			t.Errorf("a hash with the current parameters was rewritten")
		}
		_, err := passwordGrant(e.ctx, e.svc, addr, "not-the-password", client())
		checkErr(t, "wrong password", err, errInvalidCredentials)
		_, err = passwordGrant(e.ctx, e.svc, email("ghost"), goodPassword, client())
		checkErr(t, "unknown email", err, errInvalidCredentials)
	}, withParams(password.DefaultParams))
}

func TestSignInPasswordThrottle(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "per account", func(t *testing.T, e *env) {
			addr := email("victim")
			e.signUp(addr, goodPassword)
			for i := range 5 {
				// A new address each time: only the account counts.
				_, err := passwordGrant(e.ctx, e.svc, addr, "guess", client())
				checkErr(t, "guess", err, errInvalidCredentials)
				if i < 4 {
					e.clock.Advance(time.Second)
				}
			}
			e.obs.take()
			_, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
			checkErr(t, "right password while locked", err, rateLimited(time.Minute))
			_, err = passwordGrant(e.ctx, e.svc, strings.ToUpper(addr), "guess", client())
			checkErr(t, "wrong password while locked", err, rateLimited(time.Minute))
			if ev := e.obs.take(); !slices.Equal(ev, []string{"password:throttled", "password:throttled"}) {
				t.Errorf("observed %q", ev)
			}
			e.clock.Advance(59 * time.Second)
			_, err = passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
			checkErr(t, "a second before the end", err, rateLimited(time.Second))
			// Another account is not affected.
			other := email("bystander")
			e.signUp(other, goodPassword)
			e.signIn(other, goodPassword, client())

			e.clock.Advance(time.Second)
			e.signIn(addr, goodPassword, client())
		})

		run(t, st, "per address", func(t *testing.T, e *env) {
			c := client()
			for range 5 {
				_, err := passwordGrant(e.ctx, e.svc, email("spray"), "guess", c)
				checkErr(t, "spray", err, errInvalidCredentials)
			}
			addr := email("sixth")
			e.signUp(addr, goodPassword)
			_, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, c)
			checkErr(t, "sixth email from the address", err, rateLimited(time.Minute))
			// The account itself is fine from elsewhere.
			e.signIn(addr, goodPassword, client())
			// A request without an address is keyed by account only.
			e.signIn(addr, goodPassword, auth.Client{})
			e.clock.Advance(time.Minute)
			e.signIn(addr, goodPassword, c)
		})

		run(t, st, "success resets the account, not the address", func(t *testing.T, e *env) {
			addr := email("reset")
			e.signUp(addr, goodPassword)
			c := client()
			for range 4 {
				_, err := passwordGrant(e.ctx, e.svc, addr, "guess", c)
				checkErr(t, "guess", err, errInvalidCredentials)
			}
			e.signIn(addr, goodPassword, c)
			// The account starts over: four more failures from elsewhere
			// leave it open.
			for range 4 {
				_, err := passwordGrant(e.ctx, e.svc, addr, "guess", client())
				checkErr(t, "guess after reset", err, errInvalidCredentials)
			}
			e.signIn(addr, goodPassword, client())
			// The address still holds its four: one more locks it.
			_, err := passwordGrant(e.ctx, e.svc, email("other"), "guess", c)
			checkErr(t, "fifth failure from the address", err, errInvalidCredentials)
			_, err = passwordGrant(e.ctx, e.svc, addr, goodPassword, c)
			checkErr(t, "address locked", err, rateLimited(time.Minute))
		})

		run(t, st, "lockouts grow", func(t *testing.T, e *env) {
			addr := email("repeat")
			e.signUp(addr, goodPassword)
			for _, block := range []time.Duration{time.Minute, 2 * time.Minute} {
				for range 5 {
					_, err := passwordGrant(e.ctx, e.svc, addr, "guess", client())
					checkErr(t, "guess", err, errInvalidCredentials)
				}
				_, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
				checkErr(t, "locked", err, rateLimited(block))
				e.clock.Advance(block)
			}
			e.signIn(addr, goodPassword, client())
		})
	})
}
