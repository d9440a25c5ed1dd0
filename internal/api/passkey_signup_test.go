package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// passkeySignUp begins a passkey sign-up of addr, answers it with a and o,
// and returns the finish's response.
func (e *env) passkeySignUp(t testing.TB, addr string, a *passkeytest.Authenticator, o passkeytest.Options) *response {
	t.Helper()
	c := e.begin(t, "/v1/webauthn/signup/begin", map[string]string{"email": addr})
	resp, _, err := a.Register(c.PublicKey, 0, o)
	if err != nil {
		t.Fatalf("authenticator register: %v", err)
	}
	return e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(resp)})
}

func TestPasskeySignUpHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		const addr = "pk-signup@example.com"
		a := passkeytest.New(pkOrigin)
		r := e.passkeySignUp(t, addr, a, passkeytest.Options{})
		var tok tokensJSON
		r.Want(http.StatusCreated).Strict(&tok)
		e.secret(tok.AccessToken, tok.RefreshToken)
		claims := unverifiedClaims(t, tok.AccessToken)
		if amr, _ := claims["amr"].([]any); claims["aal"] != "aal2" || len(amr) != 1 || amr[0] != "webauthn" {
			t.Errorf("claims aal %v amr %v; want aal2 [webauthn]", claims["aal"], claims["amr"])
		}
		if u := tok.User; u.Email != addr || u.EmailVerified || u.HasPassword {
			t.Errorf("new account %+v; want the email unproven, no password", u)
		}
		// The email proof went out as after a password sign-up.
		code := e.ConfirmCode(t, addr)
		// The passkey signs in.
		if got := e.wantPasskeyTokens(t, e.passkeyLogin(t, "", a, passkeytest.Options{})); got.User.ID != tok.User.ID {
			t.Errorf("passkey sign-in as %+v", got.User)
		}
		// The profile name given at the begin is the account's.
		named := e.begin(t, "/v1/webauthn/signup/begin", map[string]string{"email": "pk-named@example.com", "name": "  Grace Hopper "})
		resp, _, err := passkeytest.New(pkOrigin).Register(named.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ntok tokensJSON
		e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": named.ChallengeID, "credential": json.RawMessage(resp)}).Want(http.StatusCreated).Strict(&ntok)
		e.secret(ntok.AccessToken, ntok.RefreshToken)
		if ntok.User.Name != "Grace Hopper" {
			t.Errorf("named sign-up: name %q, want Grace Hopper", ntok.User.Name)
		}
		e.do(t, "POST", "/v1/webauthn/signup/begin", map[string]string{"email": "pk-bad-name@example.com", "name": "a\x00b"}).WantFieldError("invalid_request", "name")
		// The email is taken now, for both sign-ups.
		e.do(t, "POST", "/v1/webauthn/signup/begin", map[string]string{"email": addr}).WantProblem(http.StatusConflict, "email_taken")
		e.do(t, "POST", "/v1/signup", map[string]string{"email": addr}).WantProblem(http.StatusConflict, "email_taken")
		e.do(t, "POST", "/v1/webauthn/signup/begin", map[string]string{"email": "nope"}).WantFieldError("invalid_request", "email")
		// Proving the email from the account's session keeps the passkey.
		e.do(t, "POST", "/v1/user/email/verify", map[string]string{"code": code}, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.wantPasskeyTokens(t, e.passkeyLogin(t, "", a, passkeytest.Options{}))
	})
}

// TestPasskeySignUpClaimedHTTP: until the email is proven, a code sign-in
// of the address is its first proof: a claim, which removes the passkey
// (whoever signed up may not hold the mailbox).
func TestPasskeySignUpClaimedHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		const addr = "pk-signup-claim@example.com"
		a := passkeytest.New(pkOrigin)
		var tok tokensJSON
		e.passkeySignUp(t, addr, a, passkeytest.Options{}).Want(http.StatusCreated).Strict(&tok)
		e.secret(tok.AccessToken, tok.RefreshToken)
		owner := e.Tokens(e.grantOTP(t, "email", addr, e.emailCode(t, addr, 1)))
		if owner.User.ID != tok.User.ID || !owner.User.EmailVerified {
			t.Errorf("the code sign-in: %+v", owner.User)
		}
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusUnauthorized)
		e.passkeyLogin(t, "", a, passkeytest.Options{}).WantProblem(http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestPasskeyHijackClaimedHTTP: an attacker signs up with the victim's
// email and a password and adds a passkey; the victim's code sign-in
// claims the account and the passkey goes with the password.
func TestPasskeyHijackClaimedHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		const victim = "pk-prehijack@example.com"
		e.signUp(t, victim, attackerPassword)
		atk := e.signIn(t, victim, attackerPassword)
		a := passkeytest.New(pkOrigin)
		e.addPasskey(t, a, bearer(atk.AccessToken), "")
		tok := e.Tokens(e.grantOTP(t, "email", victim, e.emailCode(t, victim, 1)))
		if tok.User.ID != atk.User.ID {
			t.Fatalf("the victim's sign-in: %+v", tok.User)
		}
		e.checkFactors(t, bearer(tok.AccessToken), 0)
		e.passkeyLogin(t, "", a, passkeytest.Options{}).WantProblem(http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestPasskeySignUpRefusedHTTP: every refusal is a 4xx problem that
// stores nothing.
func TestPasskeySignUpRefusedHTTP(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// No user verification: the passkey would be the only credential.
		e.passkeySignUp(t, "pk-signup-nouv@example.com", passkeytest.New(pkOrigin), passkeytest.Options{NoUV: true}).
			WantProblem(http.StatusBadRequest, "invalid_credential")
		e.passkeySignUp(t, "pk-signup-origin@example.com", passkeytest.New(pkOrigin), passkeytest.Options{Origin: "https://evil.example.test"}).
			WantProblem(http.StatusBadRequest, "invalid_credential")
		// Nothing was stored: the emails are free.
		e.signUp(t, "pk-signup-nouv@example.com", "")

		// A replayed challenge.
		c := e.begin(t, "/v1/webauthn/signup/begin", map[string]string{"email": "pk-signup-replay@example.com"})
		resp, _, err := passkeytest.New(pkOrigin).Register(c.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(resp)}
		var tok tokensJSON
		e.do(t, "POST", "/v1/webauthn/signup/finish", body).Want(http.StatusCreated).Strict(&tok)
		e.secret(tok.AccessToken, tok.RefreshToken)
		e.do(t, "POST", "/v1/webauthn/signup/finish", body).WantProblem(http.StatusBadRequest, "invalid_credential")

		// A signed-in user's add-passkey challenge does not sign up, and
		// the sign-up's challenge does not add a passkey.
		who := bearer(e.account(t, "pk-signup-cross@example.com").AccessToken)
		reg := e.begin(t, "/v1/webauthn/register/begin", map[string]any{}, who)
		resp, _, err = passkeytest.New(pkOrigin).Register(reg.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": reg.ChallengeID, "credential": json.RawMessage(resp)}).
			WantProblem(http.StatusBadRequest, "invalid_credential")
		su := e.begin(t, "/v1/webauthn/signup/begin", map[string]string{"email": "pk-signup-cross2@example.com"})
		resp, _, err = passkeytest.New(pkOrigin).Register(su.PublicKey, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e.do(t, "POST", "/v1/webauthn/register/finish", map[string]any{"challenge_id": su.ChallengeID, "credential": json.RawMessage(resp)}, who).
			WantProblem(http.StatusBadRequest, "invalid_credential")
		e.signUp(t, "pk-signup-cross2@example.com", "")

		// Garbage is a 4xx, never a 5xx.
		e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": "x", "credential": map[string]any{"id": 1}}).
			WantProblem(http.StatusBadRequest, "invalid_credential")
		e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": "x"}).WantProblem(http.StatusBadRequest, "invalid_request")
	})
}

// TestPasskeySignUpOffHTTP: with sign-up without a password off
// (GATEHOUSE_PASSWORDLESS_SIGNUP=false), a passkey sign-up is 403.
func TestPasskeySignUpOffHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, withConfig(func(c *gatehouse.Config) { c.PasswordlessSignup = false }))
	e.do(t, "POST", "/v1/webauthn/signup/begin", map[string]string{"email": "pk-off@example.com"}).WantProblem(http.StatusForbidden, "forbidden")
	e.do(t, "POST", "/v1/webauthn/signup/finish", map[string]any{"challenge_id": "x", "credential": map[string]any{}}).WantProblem(http.StatusForbidden, "forbidden")
}

// TestPasskeyCeremonyLimitHTTP: the passkey begins that need no session
// store a ceremony each, so one client address gets
// GATEHOUSE_CLIENT_CEREMONY_LIMIT of them a minute, across the sign-in,
// sign-up and second-step begins; another address is not affected.
func TestPasskeyCeremonyLimitHTTP(t *testing.T) {
	t.Parallel()
	const limit = 5
	e := limitServer(t, sqliteDB, func(c *gatehouse.Config) { c.ClientCeremonyLimit = limit })
	const addr = "pk-flood@example.com"
	_, a := e.passkeyMFAAccount(t, addr)
	m := e.passwordMFA(t, addr, "webauthn")
	flood := from("198.51.100.7")
	begins := []func() *response{
		func() *response { return e.do(t, "POST", "/v1/webauthn/login/begin", map[string]any{}, flood) },
		func() *response {
			return e.do(t, "POST", "/v1/webauthn/signup/begin", map[string]string{"email": "pk-flood-new@example.com"}, flood)
		},
		func() *response {
			return e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": m.MFAToken, "factor": "webauthn"}, flood)
		},
	}
	for i := range limit {
		begins[i%len(begins)]().Want(http.StatusOK)
	}
	for _, begin := range begins {
		r := begin()
		r.WantProblem(http.StatusTooManyRequests, "rate_limited")
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || time.Duration(secs)*time.Second > time.Minute {
			t.Errorf("%s: Retry-After %q; want 1 to 60 seconds", r.Req, r.Header.Get("Retry-After"))
		}
	}
	// Another network still begins, and the owner still signs in.
	e.begin(t, "/v1/webauthn/login/begin", map[string]any{}, from(ownerIP))
	c := e.begin(t, "/v1/mfa/challenge", map[string]string{"mfa_token": m.MFAToken, "factor": "webauthn"}, from(ownerIP))
	var tk tokensJSON
	e.mfaPasskeyGrant(t, m.MFAToken, c, a, passkeytest.Options{}, from(ownerIP)).Want(http.StatusOK).Strict(&tk)
	e.secret(tk.AccessToken, tk.RefreshToken)
}
