package auth_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// sqliteDeps returns every dependency New needs, on a fresh SQLite store.
func sqliteDeps(t *testing.T) auth.Deps {
	st := sqltest.SQLite(t)
	clock := newClock()
	return auth.Deps{
		Store: st, Hasher: password.New(fastParams, 1), Policy: password.DefaultPolicy,
		Signer: newKeys(t, st, clock), Throttle: throttle.NewMemory(clock, throttle.Config{}), Clock: clock,
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	full := sqliteDeps(t)
	tests := []struct {
		name string
		cfg  auth.Config
		deps func(d auth.Deps) auth.Deps
		ok   bool
	}{
		{"complete", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { return d }, true},
		{"no store", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Store = nil; return d }, false},
		{"no hasher", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Hasher = nil; return d }, false},
		{"no policy", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Policy = nil; return d }, false},
		{"no signer", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Signer = nil; return d }, false},
		{"no throttle", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Throttle = nil; return d }, false},
		{"no clock", auth.Config{SuccessorKey: successorKey}, func(d auth.Deps) auth.Deps { d.Clock = nil; return d }, false},
		{"no successor key", auth.Config{}, func(d auth.Deps) auth.Deps { return d }, false},
		{"short successor key", auth.Config{SuccessorKey: successorKey[:31]}, func(d auth.Deps) auth.Deps { return d }, false},
	}
	for _, tt := range tests {
		s, err := auth.New(tt.cfg, tt.deps(full))
		if (err == nil) != tt.ok || (s != nil) != tt.ok {
			t.Errorf("%s: New answered %v, %v; want ok=%v", tt.name, s, err, tt.ok)
		}
	}

	s, err := auth.New(auth.Config{SuccessorKey: successorKey}, full)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Config()
	if got.AccessTokenTTL != 15*time.Minute || got.RefreshTokenTTL != 720*time.Hour || got.SessionTTL != 168*time.Hour ||
		got.RefreshGrace != 10*time.Second || got.CacheTTL != 2*time.Second || got.LiveCacheTTL != time.Minute {
		t.Errorf("defaults %+v", got)
	}
	custom := auth.Config{SuccessorKey: successorKey, AccessTokenTTL: time.Minute, RefreshTokenTTL: 2 * time.Hour,
		SessionTTL: time.Hour, RefreshGrace: time.Second, CacheTTL: time.Millisecond, LiveCacheTTL: time.Hour}
	s, err = auth.New(custom, full)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config(); got.AccessTokenTTL != time.Minute || got.RefreshTokenTTL != 2*time.Hour ||
		got.SessionTTL != time.Hour || got.RefreshGrace != time.Second || got.CacheTTL != time.Millisecond ||
		got.LiveCacheTTL != time.Hour {
		t.Errorf("custom config became %+v", got)
	}
}

// TestCustomLifetimes runs the session rules with short, non-default
// settings, so the flows are seen to follow Config rather than constants.
func TestCustomLifetimes(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		u, g := e.newUser("custom")
		if g.ExpiresIn != time.Minute || !g.Session.ExpiresAt.Equal(e.now().Add(time.Hour)) ||
			!g.Session.AbsoluteExpiresAt.Equal(e.now().Add(3*time.Hour)) {
			t.Errorf("grant expires in %v, session %v / %v", g.ExpiresIn, g.Session.ExpiresAt, g.Session.AbsoluteExpiresAt)
		}
		e.bearer(g.AccessToken)
		e.clock.Advance(time.Minute)
		_, err := e.svc.BearerPrincipal(e.ctx, g.AccessToken)
		checkErr(t, "access token after 1m", err, errTokenExpired)

		g1, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Second)
		_, err = e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
		checkErr(t, "replay after a 1s grace", err, errRefreshRevoked)
		_, err = e.svc.RefreshGrant(e.ctx, g1.RefreshToken, client())
		checkErr(t, "successor", err, errRefreshRevoked)

		// Cookie sessions: an hour idle ends one; a change elsewhere shows
		// after 100ms.
		cookie, p := e.cookieSession(u)
		if err := e.store.RevokeSession(e.ctx, p.Session.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(101 * time.Millisecond)
		_, err = e.svc.CookiePrincipal(e.ctx, cookie)
		checkErr(t, "cookie after CacheTTL", err, errSessionEnded)
		cookie, _ = e.cookieSession(u)
		e.clock.Advance(time.Hour)
		_, err = e.svc.CookiePrincipal(e.ctx, cookie)
		checkErr(t, "cookie idle for SessionTTL", err, errSessionExpired)
	}, withConfig(func(c *auth.Config) {
		c.AccessTokenTTL = time.Minute
		c.RefreshTokenTTL = 3 * time.Hour
		c.SessionTTL = time.Hour
		c.RefreshGrace = time.Second
		c.CacheTTL = 100 * time.Millisecond
	}))
}

// TestDummyHashRecovers: the hash that unknown emails are checked against
// is made at the first sign-in; a first sign-in whose client went away must
// not break every later one.
func TestDummyHashRecovers(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		addr := email("first")
		e.signUp(addr, goodPassword)
		gone, cancel := context.WithCancel(e.ctx)
		cancel()
		_, err := passwordGrant(gone, e.svc, addr, goodPassword, client())
		checkErr(t, "cancelled sign-in", err, &auth.Error{Kind: auth.KindUnavailable, Message: "The server is busy; try again."})
		e.signIn(addr, goodPassword, client())
		_, err = passwordGrant(e.ctx, e.svc, email("ghost"), goodPassword, client())
		checkErr(t, "unknown email", err, errInvalidCredentials)
	})
}

// TestConfigDefaults: a zero Config means exactly DefaultConfig, settings
// that are on by default can be turned off, and neither the Config given
// to New nor the one Config returns reaches the running Service.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	deps := sqliteDeps(t)
	s, err := auth.New(auth.Config{SuccessorKey: successorKey}, deps)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.DefaultConfig()
	want.SuccessorKey = successorKey
	got := s.Config()
	// LinkURL has no default of its own: it follows PublicURL.
	if got.LinkURL == nil || got.LinkURL("t/k") != "?token=t%2Fk" {
		t.Errorf("a zero Config's LinkURL is not PublicURL?token=…")
	}
	got.LinkURL = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("a zero Config became\n%+v\nwant DefaultConfig\n%+v", got, want)
	}
	if !*want.PasswordlessSignup || !*want.Email || want.SMS {
		t.Errorf("DefaultConfig: passwordless sign-up %v, email %v, SMS %v; want on, on, off",
			*want.PasswordlessSignup, *want.Email, want.SMS)
	}

	off := false
	s, err = auth.New(auth.Config{SuccessorKey: successorKey, PasswordlessSignup: &off, Email: new(false)}, deps)
	if err != nil {
		t.Fatal(err)
	}
	off = true
	got = s.Config()
	if *got.PasswordlessSignup || *got.Email {
		t.Errorf("turned off, then the caller's variable changed: passwordless sign-up %v, email %v", *got.PasswordlessSignup, *got.Email)
	}
	*got.PasswordlessSignup = true
	if *s.Config().PasswordlessSignup {
		t.Error("changing the Config that Config returned changed the Service")
	}
}
