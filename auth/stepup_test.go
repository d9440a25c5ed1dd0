package auth_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

var (
	errStepUpEnded   = &auth.Error{Kind: auth.KindTokenRevoked, Message: "The session has ended; sign in again."}
	errStepUpChannel = &auth.Error{Kind: auth.KindInvalidRequest, Message: "A browser session steps up on the step-up page (/step-up); an API client with its access token (POST /v1/mfa/step-up)."}
)

// stepUpUser is an account signed in with its password (an aal1 token
// session, its access and refresh token) that turned an authenticator on
// afterwards.
type stepUpUser struct {
	*mfaUser
	grant *auth.Grant
}

func (e *mfaEnv) stepUpUser(tag string) *stepUpUser {
	e.t.Helper()
	u, g := e.newUser(tag)
	p := e.bearer(g.AccessToken)
	secret, codes := e.turnOnTOTP(p)
	if p := e.bearer(g.AccessToken); p.Session.AAL != auth.AAL1 {
		e.t.Fatalf("the session before the step-up is at %s", p.Session.AAL)
	}
	return &stepUpUser{mfaUser: &mfaUser{addr: u.Email, user: u, aal1: p, secret: secret, backup: codes}, grant: g}
}

// stepUp starts a step-up of p on ch, which must succeed.
func (e *mfaEnv) stepUp(p *auth.Principal, ch auth.Channel) *auth.MFARequired {
	e.t.Helper()
	m, err := e.svc.StepUp(e.ctx, p, client(), ch)
	if err != nil {
		e.t.Fatalf("StepUp: %v", err)
	}
	return m
}

func TestStepUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "TokensRaiseTheSameSession", testStepUpTokens)
		runMFA(t, st, "CookieRaisesTheSameSession", testStepUpCookie)
		runMFA(t, st, "OldRefreshTokenRetired", testStepUpRetiresRefresh)
		runMFA(t, st, "NoSecondFactor", testStepUpNoFactor)
		runMFA(t, st, "ChannelMustMatch", testStepUpChannel)
		runMFA(t, st, "SessionEndedMeanwhile", testStepUpSessionEnded)
		runMFA(t, st, "WrongCodesCount", testStepUpWrongCodes)
		runMFA(t, st, "AgainAtAAL2", testStepUpAgain)
	})
}

func testStepUpTokens(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("tokens")
	m := e.stepUp(u.aal1, auth.Tokens)
	if want := []string{auth.FactorBackupCode, auth.FactorTOTP}; !slices.Equal(m.Factors, want) {
		t.Errorf("StepUp factors = %v; want %v", m.Factors, want)
	}
	// The session's view is cached at aal1 (the check above): the raise
	// must reach it at once.
	g, err := e.grant(m.Token, auth.FactorTOTP, e.code(u.secret))
	if err != nil {
		t.Fatalf("SecondFactor: %v", err)
	}
	amr := []string{auth.MethodPassword, auth.MethodTOTP}
	if g.Session.ID != u.grant.Session.ID || g.Session.AAL != auth.AAL2 || !slices.Equal(g.Session.AMR, amr) {
		t.Errorf("step-up session %s at %s %v; want the same session %s at aal2 %v", g.Session.ID, g.Session.AAL, g.Session.AMR, u.grant.Session.ID, amr)
	}
	if g.AccessToken == "" || g.RefreshToken == "" || g.RefreshToken == u.grant.RefreshToken {
		t.Errorf("grant = %+v; want new access and refresh tokens", g)
	}
	checkSession(t, "stored session", e.storedSession(g.Session.ID), g.Session)
	if p := e.bearer(g.AccessToken); p.Session.AAL != auth.AAL2 {
		t.Errorf("the step-up's access token: %s", p.Session.AAL)
	}
	// The access token signed at aal1 stays aal1.
	if old := e.bearer(u.grant.AccessToken); old.Session.AAL != auth.AAL1 || !slices.Equal(old.Session.AMR, []string{auth.MethodPassword}) {
		t.Errorf("the token from before the step-up: aal %s amr %v; want aal1 [pwd]", old.Session.AAL, old.Session.AMR)
	}
	// The new refresh token goes on in the same session at aal2.
	g2, err := e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
	if err != nil || g2.Session.ID != g.Session.ID || g2.Session.AAL != auth.AAL2 {
		t.Errorf("RefreshGrant(the step-up's token) = %+v, %v; want the session at aal2", g2, err)
	}
	if e.auditCount(u.user.ID, "step_up") != 1 {
		t.Errorf("want one step_up audit event")
	}
}

func testStepUpCookie(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("cookie")
	cookie, p := e.cookieSession(u.user)
	const app = testIssuer + "/app/page?x=1"
	m := e.stepUp(p, auth.Cookie(app))
	g, err := mfaBrowser(e.ctx, e.svc, auth.MFAInput{Token: m.Token, Factor: auth.FactorTOTP, Code: e.code(u.secret)}, client())
	if err != nil {
		t.Fatalf("SecondFactor: %v", err)
	}
	if g.Cookie == "" || g.Cookie == cookie || g.AccessToken != "" || g.RefreshToken != "" {
		t.Fatalf("grant = %+v; want a new cookie and no tokens", g)
	}
	if g.Session.ID != p.Session.ID || g.Session.AAL != auth.AAL2 || g.RedirectTo != app {
		t.Errorf("grant session %s at %s to %q; want %s at aal2 to %q", g.Session.ID, g.Session.AAL, g.RedirectTo, p.Session.ID, app)
	}
	raised, err := e.svc.CookiePrincipal(e.ctx, g.Cookie)
	if err != nil || raised.Session.ID != p.Session.ID || raised.Session.AAL != auth.AAL2 ||
		!slices.Equal(raised.Session.AMR, []string{auth.MethodOTP, auth.MethodTOTP}) {
		t.Fatalf("CookiePrincipal(new cookie) = %+v, %v; want the same session at aal2 [otp totp]", raised, err)
	}
	// The cookie of before finds nothing: whoever held it does not get aal2.
	_, err = e.svc.CookiePrincipal(e.ctx, cookie)
	checkErr(t, "CookiePrincipal(the cookie before the step-up)", err, errUnauthorized)
	checkSession(t, "stored session", e.storedSession(p.Session.ID), &raised.Session)
}

func testStepUpRetiresRefresh(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("retire")
	m := e.stepUp(u.aal1, auth.Tokens)
	g, err := e.grant(m.Token, auth.FactorTOTP, e.code(u.secret))
	if err != nil {
		t.Fatalf("SecondFactor: %v", err)
	}
	// Within the grace a refresh that raced the step-up is refused, and
	// the session goes on: it cannot mint tokens of the raised session.
	_, err = e.svc.RefreshGrant(e.ctx, u.grant.RefreshToken, client())
	checkErr(t, "RefreshGrant(the token before the step-up) within the grace", err, errRefreshRevoked)
	if s := e.storedSession(g.Session.ID); s.RevokedAt != nil {
		t.Fatalf("session revoked by a replay within the grace")
	}
	// After it, a replay is reuse, as after any rotation: the session ends.
	e.clock.Advance(e.cfg.RefreshGrace + time.Second)
	_, err = e.svc.RefreshGrant(e.ctx, u.grant.RefreshToken, client())
	checkErr(t, "RefreshGrant(the token before the step-up) after the grace", err, errRefreshRevoked)
	if s := e.storedSession(g.Session.ID); s.RevokedAt == nil {
		t.Errorf("a replay of the retired token after the grace left the session live")
	}
	_, err = e.svc.RefreshGrant(e.ctx, g.RefreshToken, client())
	checkErr(t, "RefreshGrant(the step-up's token) after the reuse", err, errRefreshRevoked)
}

func testStepUpNoFactor(t *testing.T, e *mfaEnv) {
	_, u, p := e.signedIn("nofactor")
	for _, c := range []struct {
		name string
		p    *auth.Principal
		ch   auth.Channel
	}{{"tokens", p, auth.Tokens}, {"cookie", e.cookiePrincipal(u), auth.Cookie("")}} {
		_, err := e.svc.StepUp(e.ctx, c.p, client(), c.ch)
		if !errors.Is(err, auth.ErrNoSecondFactor) || auth.KindOf(err) != auth.KindForbidden {
			t.Errorf("StepUp(%s) without a second factor = %v; want forbidden, ErrNoSecondFactor", c.name, err)
		}
	}
	// Email as the only second factor does not lift a session whose first
	// factor came from the mailbox (the cookie session's otp).
	if _, err := e.svc.EnableEmailFactor(e.ctx, p, client()); err != nil {
		t.Fatalf("EnableEmailFactor: %v", err)
	}
	if _, err := e.svc.StepUp(e.ctx, e.cookiePrincipal(u), client(), auth.Cookie("")); !errors.Is(err, auth.ErrNoSecondFactor) {
		t.Errorf("StepUp(otp session, email factor only) = %v; want ErrNoSecondFactor", err)
	}
	if m := e.stepUp(p, auth.Tokens); !slices.Equal(m.Factors, []string{auth.FactorBackupCode, auth.FactorEmail}) {
		t.Errorf("StepUp(password session, email factor) factors = %v; want [backup_code email]", m.Factors)
	}
}

// cookiePrincipal starts a browser session for u (first factor otp).
func (e *mfaEnv) cookiePrincipal(u *auth.User) *auth.Principal {
	e.t.Helper()
	_, p := e.cookieSession(u)
	return p
}

func testStepUpChannel(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("channel")
	_, err := e.svc.StepUp(e.ctx, u.aal1, client(), auth.Cookie(""))
	checkErr(t, "StepUp(token session, cookie channel)", err, errStepUpChannel)
	_, err = e.svc.StepUp(e.ctx, e.cookiePrincipal(u.user), client(), auth.Tokens)
	checkErr(t, "StepUp(cookie session, token channel)", err, errStepUpChannel)
	// A token finished on the other channel is dead, as a sign-in's is.
	m := e.stepUp(u.aal1, auth.Tokens)
	_, err = mfaBrowser(e.ctx, e.svc, auth.MFAInput{Token: m.Token, Factor: auth.FactorTOTP, Code: e.code(u.secret)}, client())
	checkErr(t, "the API's step-up finished in a browser", err, errMFADead)
	if s := e.storedSession(u.grant.Session.ID); s.AAL != auth.AAL1 {
		t.Errorf("session raised by a refused step-up: %s", s.AAL)
	}
	if _, err := e.svc.StepUp(e.ctx, nil, client(), auth.Tokens); auth.KindOf(err) != auth.KindUnauthorized {
		t.Errorf("StepUp(nil principal) = %v; want unauthorized", err)
	}
}

func testStepUpSessionEnded(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("ended")
	m := e.stepUp(u.aal1, auth.Tokens)
	if err := e.svc.Logout(e.ctx, u.aal1, "local"); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err := e.grant(m.Token, auth.FactorTOTP, e.code(u.secret))
	checkErr(t, "finishing a step-up of a session that ended", err, errStepUpEnded)
	s := e.storedSession(u.grant.Session.ID)
	if s.RevokedAt == nil || s.AAL != auth.AAL1 {
		t.Errorf("session after the refused step-up: revoked %v, %s; want revoked at aal1", s.RevokedAt, s.AAL)
	}
	// The token was used: it does not wait for the session to come back.
	_, err = e.grant(m.Token, auth.FactorTOTP, e.code(u.secret))
	checkErr(t, "the step-up token again", err, errMFADead)
}

func testStepUpWrongCodes(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("wrong")
	m := e.stepUp(u.aal1, auth.Tokens)
	for range e.cfg.OTPMaxAttempts {
		_, err := e.grant(m.Token, auth.FactorTOTP, "000000")
		if auth.KindOf(err) != auth.KindInvalidCode && auth.KindOf(err) != auth.KindTooManyAttempts {
			t.Fatalf("a wrong code = %v", err)
		}
	}
	_, err := e.grant(m.Token, auth.FactorTOTP, e.code(u.secret))
	checkErr(t, "the right code after the token's tries", err, errMFATooMany)
	if s := e.storedSession(u.grant.Session.ID); s.AAL != auth.AAL1 {
		t.Errorf("session raised after too many wrong codes: %s", s.AAL)
	}
}

func testStepUpAgain(t *testing.T, e *mfaEnv) {
	u := e.stepUpUser("again")
	p := e.mustGrant(e.stepUp(u.aal1, auth.Tokens).Token, auth.FactorTOTP, e.code(u.secret), auth.MethodPassword, auth.MethodTOTP)
	e.nextStep()
	// A fresh proof of the second factor: the methods do not pile up.
	e.mustGrant(e.stepUp(p, auth.Tokens).Token, auth.FactorBackupCode, u.backup[0], auth.MethodPassword, auth.MethodBackupCode)
}
