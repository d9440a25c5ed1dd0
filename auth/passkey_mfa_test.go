package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/passkey"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// newPasskeyMFAEnv is an mfaEnv with the passkey ports and the limiter
// wired, its config changed by edit (when not nil).
func newPasskeyMFAEnv(t *testing.T, st *sqlstore.Store, edit func(*auth.Config)) *mfaEnv {
	t.Helper()
	rp, err := passkey.New(pkRPID, "Gatehouse Test", []string{pkOrigin})
	if err != nil {
		t.Fatalf("passkey.New: %v", err)
	}
	return newMFAEnvDeps(t, st, edit, func(d *auth.Deps) {
		d.Passkeys, d.Ceremonies, d.RelyingParty = st, st, rp
		d.PasskeyName = func([]byte) string { return "" }
		d.Limiter = throttle.NewLimiter(d.Clock, 0)
	})
}

// pkUser is an account with a password, a proven email and a passkey.
type pkUser struct {
	addr string
	user *auth.User
	aal1 *auth.Principal // the session that added the passkey
	a    *passkeytest.Authenticator
	pk   *auth.Passkey
}

// passkeyUser signs up, signs in, proves the email and adds a passkey.
func (e *mfaEnv) passkeyUser(tag string) *pkUser {
	e.t.Helper()
	addr, _, p := e.signedIn(tag)
	u := e.proveEmail(p)
	a := passkeytest.New(pkOrigin)
	pk := e.register(p, a, "")
	return &pkUser{addr: addr, user: u, aal1: p, a: a, pk: pk}
}

// beginPasskeyMFA begins the passkey second step of token.
func (e *mfaEnv) beginPasskeyMFA(token string) (string, []byte) {
	e.t.Helper()
	id, opts, err := e.svc.BeginPasskeySecondFactor(e.ctx, token)
	if err != nil {
		e.t.Fatalf("BeginPasskeySecondFactor: %v", err)
	}
	return id, opts
}

// passkeyGrant answers the passkey second step of token with a and o.
func (e *mfaEnv) passkeyGrant(token string, a *passkeytest.Authenticator, o passkeytest.Options) (*auth.Grant, error) {
	e.t.Helper()
	id, opts := e.beginPasskeyMFA(token)
	resp, err := a.Login(opts, o)
	if err != nil {
		e.t.Fatalf("authenticator login: %v", err)
	}
	return mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: token, Factor: auth.FactorWebAuthn, ChallengeID: id, Credential: resp}, client())
}

func TestPasskeySecondFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		mu := e.passkeyUser("pkmfa")
		if kinds, _ := e.factors(mu.aal1); !slices.Equal(kinds, []string{auth.FactorWebAuthn}) {
			t.Errorf("Factors = %v, want [webauthn]", kinds)
		}
		if u := e.storedUser(mu.user.ID); u.NoFactors {
			t.Errorf("the store says a user with a passkey has no factors")
		}
		// The session from before is aal1: adding another passkey or a
		// factor now takes aal2.
		if _, _, err := e.svc.BeginPasskeyRegistration(e.ctx, mu.aal1); auth.KindOf(err) != auth.KindForbidden {
			t.Errorf("add a passkey at aal1 with one on: %v, want forbidden", err)
		}
		if _, err := e.svc.EnrollTOTP(e.ctx, mu.aal1, client()); auth.KindOf(err) != auth.KindForbidden {
			t.Errorf("enrol TOTP at aal1 with a passkey on: %v, want forbidden", err)
		}

		mfa := e.mfaToken(mu.addr)
		if !slices.Equal(mfa.Factors, []string{auth.FactorWebAuthn}) {
			t.Fatalf("password sign-in asks for %v, want [webauthn]", mfa.Factors)
		}
		// Possession is the factor: user verification is not needed.
		g, err := e.passkeyGrant(mfa.Token, mu.a, passkeytest.Options{NoUV: true})
		if err != nil {
			t.Fatalf("passkey second step: %v", err)
		}
		if g.Session.AAL != auth.AAL2 || !slices.Equal(g.Session.AMR, []string{auth.MethodPassword, auth.MethodWebAuthn}) {
			t.Fatalf("session %s %v, want aal2 [pwd webauthn]", g.Session.AAL, g.Session.AMR)
		}
		p := e.bearer(g.AccessToken)
		if list, _ := e.svc.Passkeys(e.ctx, p); len(list) != 1 || list[0].LastUsedAt == nil {
			t.Errorf("passkey not marked used: %+v", list)
		}
		// The token is used up.
		if _, _, err := e.svc.BeginPasskeySecondFactor(e.ctx, mfa.Token); auth.KindOf(err) != auth.KindTokenRevoked {
			t.Errorf("begin with a used MFA token: %v, want token_revoked", err)
		}

		// An emailed code is a first factor that keeps the passkey.
		e.clock.Advance(61 * time.Second)
		if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mu.addr}); err != nil {
			t.Fatalf("RequestCode: %v", err)
		}
		og, err := otpGrant(e.ctx, e.svc, mu.addr, e.mail.last(t, auth.KindSignInCode, mu.addr).Data.Code, client())
		if err != nil || og.MFA == nil || !slices.Equal(og.MFA.Factors, []string{auth.FactorWebAuthn}) {
			t.Fatalf("code sign-in: %+v, %v; want mfa_required [webauthn]", og, err)
		}
		if _, _, err := e.svc.BeginPasskeySecondFactor(e.ctx, "nonsense"); auth.KindOf(err) != auth.KindTokenRevoked {
			t.Errorf("begin with an unknown MFA token: %v", err)
		}
		g, err = e.passkeyGrant(og.MFA.Token, mu.a, passkeytest.Options{})
		if err != nil || !slices.Equal(g.Session.AMR, []string{auth.MethodOTP, auth.MethodWebAuthn}) {
			t.Fatalf("after a code: %+v, %v", g, err)
		}

		// A user without a passkey cannot begin one.
		tu := e.totpUser("pkmfa-totp")
		if _, _, err := e.svc.BeginPasskeySecondFactor(e.ctx, e.mfaToken(tu.addr).Token); auth.KindOf(err) != auth.KindInvalidRequest {
			t.Errorf("begin for a user without a passkey: %v, want invalid_request", err)
		}

		// Removing the last passkey turns the factor off, and the backup
		// codes that stood in for it go too.
		if _, err := e.svc.NewBackupCodes(e.ctx, p, client()); err != nil {
			t.Fatalf("NewBackupCodes: %v", err)
		}
		if err := e.svc.RemovePasskey(e.ctx, p, mu.pk.ID, client()); err != nil {
			t.Fatalf("RemovePasskey: %v", err)
		}
		if kinds, left := e.factors(p); len(kinds) != 0 || left != 0 {
			t.Errorf("after removing the passkey: factors %v, %d backup codes", kinds, left)
		}
		if g, err := passwordGrant(e.ctx, e.svc, mu.addr, goodPassword, client()); err != nil || g.MFA != nil {
			t.Errorf("password sign-in without a passkey: %+v, %v", g, err)
		}
	})
}

// TestPasskeySecondFactorAttacks: each is refused as invalid_credentials
// and counted as a wrong code on its MFA token.
func TestPasskeySecondFactorAttacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		mu := e.passkeyUser("pkmfa-atk")
		mu.a.Credentials[0].Counter = 5
		other := e.passkeyUser("pkmfa-other")
		back := uint32(1)
		answer := func(token, id string, opts []byte, o passkeytest.Options) error {
			t.Helper()
			resp, err := mu.a.Login(opts, o)
			if err != nil {
				t.Fatalf("authenticator login: %v", err)
			}
			_, err = mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: token, Factor: auth.FactorWebAuthn, ChallengeID: id, Credential: resp}, client())
			return err
		}
		for _, tc := range []struct {
			name   string
			attack func(token string) error
		}{
			{"another MFA token's ceremony", func(token string) error {
				id, opts := e.beginPasskeyMFA(e.mfaToken(mu.addr).Token)
				return answer(token, id, opts, passkeytest.Options{})
			}},
			{"a sign-in ceremony", func(token string) error {
				id, opts, err := e.svc.BeginPasskeyLogin(e.ctx, mu.addr)
				if err != nil {
					t.Fatal(err)
				}
				return answer(token, id, opts, passkeytest.Options{})
			}},
			{"a registration ceremony", func(token string) error {
				id, _, err := e.svc.BeginPasskeyRegistration(e.ctx, e.bearer(e.mustPasskeyGrant(mu).AccessToken))
				if err != nil {
					t.Fatal(err)
				}
				_, opts := e.beginPasskeyMFA(token)
				return answer(token, id, opts, passkeytest.Options{})
			}},
			{"a replayed challenge", func(token string) error {
				first := e.mfaToken(mu.addr).Token
				id, opts := e.beginPasskeyMFA(first)
				resp, err := mu.a.Login(opts, passkeytest.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: first, Factor: auth.FactorWebAuthn, ChallengeID: id, Credential: resp}, client()); err != nil {
					t.Fatalf("first use: %v", err)
				}
				return answer(token, id, opts, passkeytest.Options{})
			}},
			{"another user's passkey", func(token string) error {
				id, opts := e.beginPasskeyMFA(token)
				return answer(token, id, opts, passkeytest.Options{Credential: other.a.Credentials[0], UserHandle: []byte(mu.user.ID)})
			}},
			{"a forged signature", func(token string) error {
				id, opts := e.beginPasskeyMFA(token)
				return answer(token, id, opts, passkeytest.Options{TamperSignature: true})
			}},
			{"a wrong origin", func(token string) error {
				id, opts := e.beginPasskeyMFA(token)
				return answer(token, id, opts, passkeytest.Options{Origin: "https://evil.example"})
			}},
			{"a counter going backwards", func(token string) error {
				id, opts := e.beginPasskeyMFA(token)
				return answer(token, id, opts, passkeytest.Options{Counter: &back})
			}},
		} {
			token := e.mfaToken(mu.addr).Token
			err := tc.attack(token)
			if auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Errorf("%s: %v, want invalid_credentials", tc.name, err)
			}
			// The failure counted on the token: it dies after
			// OTPMaxAttempts tries in all.
			if tt := e.mfaTokenRow(token); tt.Attempts != 1 {
				t.Errorf("%s: the token counted %d tries, want 1", tc.name, tt.Attempts)
			}
		}
		if n := e.auditCount(mu.user.ID, auth.AuditPasskeyCounterRegressed); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditPasskeyCounterRegressed)
		}
		// The owner still gets in.
		e.mustPasskeyGrant(mu)
	})
}

// mustPasskeyGrant signs mu in with the password and the passkey.
func (e *mfaEnv) mustPasskeyGrant(mu *pkUser) *auth.Grant {
	e.t.Helper()
	g, err := e.passkeyGrant(e.mfaToken(mu.addr).Token, mu.a, passkeytest.Options{})
	if err != nil {
		e.t.Fatalf("passkey second step: %v", err)
	}
	return g
}

// mfaTokenRow reads the stored MFA token of plain.
func (e *mfaEnv) mfaTokenRow(plain string) *auth.MFAToken {
	e.t.Helper()
	t, err := e.store.MFATokenByHash(e.ctx, opaque.Hash(plain))
	if err != nil {
		e.t.Fatalf("MFATokenByHash: %v", err)
	}
	return t
}

// TestPasskeySecondFactorAccountLimit: failed passkeys count toward the
// account's second-factor limit across MFA tokens, like wrong TOTP codes,
// and past it the right passkey is refused too.
func TestPasskeySecondFactorAccountLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, func(c *auth.Config) { c.MFAFailureLimit = 4 })
		mu := e.passkeyUser("pkmfa-lock")
		for i := range 4 {
			// Two tokens, two tries each: the token's own count is not it.
			token := e.mfaToken(mu.addr).Token
			if i%2 == 1 {
				token = e.mfaToken(mu.addr).Token
			}
			if _, err := e.passkeyGrant(token, mu.a, passkeytest.Options{TamperSignature: true}); auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Fatalf("bad passkey %d: %v", i, err)
			}
		}
		_, err := e.passkeyGrant(e.mfaToken(mu.addr).Token, mu.a, passkeytest.Options{})
		if !isLock(err) {
			t.Fatalf("the right passkey past the limit: %v, want the account's lock", err)
		}
		if n := e.auditCount(mu.user.ID, auth.AuditMFALocked); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditMFALocked)
		}
	})
}

// TestPasskeySecondFactorChannel: a sign-in's second step ends on the
// channel it started on, for a passkey as for a code.
func TestPasskeySecondFactorChannel(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		mu := e.passkeyUser("pkmfa-ch")
		token := e.mfaToken(mu.addr).Token
		id, opts := e.beginPasskeyMFA(token)
		resp, err := mu.a.Login(opts, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := auth.MFAInput{Token: token, Factor: auth.FactorWebAuthn, ChallengeID: id, Credential: resp}
		if _, err := mfaBrowser(e.ctx, e.svc, in, client()); auth.KindOf(err) != auth.KindTokenRevoked {
			t.Errorf("an API token finished in a browser: %v, want token_revoked", err)
		}
		// Refused before anything was counted or used: the API finishes it.
		if _, err := mfaGrant(e.ctx, e.svc, in, client()); err != nil {
			t.Errorf("the same answer through the API: %v", err)
		}
	})
}

// TestClaimRemovesPasskey is pre-hijacking with a passkey: an attacker
// signs up with the victim's email and a password and adds a passkey; the
// victim's first proof of the address (a code sign-in) claims the account,
// and the passkey goes with the password, or the attacker would keep a
// way in.
func TestClaimRemovesPasskey(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		addr := email("pk-victim")
		if _, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: goodPassword}); err != nil {
			t.Fatalf("attacker's SignUp: %v", err)
		}
		g, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
		if err != nil || g.AccessToken == "" {
			t.Fatalf("attacker's sign-in: %+v, %v", g, err)
		}
		a := passkeytest.New(pkOrigin)
		e.register(e.bearer(g.AccessToken), a, "")
		if _, err := e.passkeySignIn(addr, a, passkeytest.Options{}); err != nil {
			t.Fatalf("attacker's passkey sign-in before the claim: %v", err)
		}

		e.clock.Advance(61 * time.Second)
		if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
			t.Fatalf("RequestCode: %v", err)
		}
		vg, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client())
		if err != nil || vg.MFA != nil || vg.AccessToken == "" {
			t.Fatalf("the owner's code sign-in: %+v, %v; want a session, no second step", vg, err)
		}
		if list, err := st.Passkeys(e.ctx, vg.User.ID); err != nil || len(list) != 0 {
			t.Errorf("passkeys after the claim: %+v, %v; want none", list, err)
		}
		if _, err := e.passkeySignIn(addr, a, passkeytest.Options{Credential: a.Credentials[0]}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Errorf("attacker's passkey sign-in after the claim: %v, want invalid_credentials", err)
		}
		if _, err := e.passkeySignIn("", a, passkeytest.Options{}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Errorf("attacker's usernameless passkey sign-in after the claim: %v, want invalid_credentials", err)
		}
		if e.auditCount(vg.User.ID, auth.AuditAccountClaimed) != 1 {
			t.Error("no account_claimed audit event")
		}
	})
}

// TestAdminResetRemovesPasskeys: the admin's reset of every second factor
// takes the passkeys too (they may be on the lost device).
func TestAdminResetRemovesPasskeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		mu := e.passkeyUser("pk-reset")
		if err := e.svc.AdminResetFactors(e.ctx, mu.user.ID, client()); err != nil {
			t.Fatalf("AdminResetFactors: %v", err)
		}
		if kinds, _, err := e.svc.AdminFactors(e.ctx, mu.user.ID); err != nil || len(kinds) != 0 {
			t.Errorf("factors after the reset: %v, %v; want none", kinds, err)
		}
		if _, err := e.passkeySignIn("", mu.a, passkeytest.Options{}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Errorf("passkey sign-in after the reset: %v, want invalid_credentials", err)
		}
		if g, err := passwordGrant(e.ctx, e.svc, mu.addr, goodPassword, client()); err != nil || g.MFA != nil {
			t.Errorf("password sign-in after the reset: %+v, %v; want no second step", g, err)
		}
	})
}

// TestClaimRacesPasskeySignIn: a passkey sign-in that verified before a
// claim took its passkey away, and makes its session after the claim
// revoked the others, must not keep that session.
func TestClaimRacesPasskeySignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		addr := email("pk-race")
		if _, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		g, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
		if err != nil || g.AccessToken == "" {
			t.Fatalf("attacker's sign-in: %+v, %v", g, err)
		}
		a := passkeytest.New(pkOrigin)
		e.register(e.bearer(g.AccessToken), a, "")
		inFlight, err := e.passkeySignIn("", a, passkeytest.Options{})
		if err != nil {
			t.Fatalf("attacker's passkey sign-in: %v", err)
		}

		e.clock.Advance(61 * time.Second)
		if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
			t.Fatal(err)
		}
		if _, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client()); err != nil {
			t.Fatalf("the owner's code sign-in: %v", err)
		}
		late, err := e.svc.Finish(e.ctx, inFlight, client(), auth.Tokens)
		if auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Fatalf("in-flight passkey sign-in finished after the claim: %+v, %v; want invalid_credentials", late, err)
		}
		sessions, err := st.ListSessions(e.ctx, inFlight.User().ID, e.now())
		if err != nil || len(sessions) != 1 {
			t.Errorf("live sessions after the race: %d, %v; want the owner's only", len(sessions), err)
		}
	})
}
