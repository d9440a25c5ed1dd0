package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// passkeyMFAAccount makes an account with a password and adds a passkey of
// a new authenticator (from its aal1 session: no factor is on yet).
func (e *env) passkeyMFAAccount(t testing.TB, addr string) (tokensJSON, *passkeytest.Authenticator) {
	t.Helper()
	tok := e.account(t, addr)
	a := passkeytest.New(pkOrigin)
	e.addPasskey(t, a, bearer(tok.AccessToken), "")
	return tok, a
}

// mfaPasskeyBegin asks for the passkey second step of token.
func (e *env) mfaPasskeyBegin(t testing.TB, token string) ceremonyJSON {
	t.Helper()
	return e.begin(t, "/v1/mfa/challenge", map[string]string{"mfa_token": token, "factor": "webauthn"})
}

// mfaPasskeyGrant answers c with a and o and posts the mfa grant of token.
func (e *env) mfaPasskeyGrant(t testing.TB, token string, c ceremonyJSON, a *passkeytest.Authenticator, o passkeytest.Options, opts ...reqOpt) *response {
	t.Helper()
	resp, err := a.Login(c.PublicKey, o)
	if err != nil {
		t.Fatalf("authenticator login: %v", err)
	}
	return e.do(t, "POST", "/v1/token", map[string]any{
		"grant_type": "mfa", "mfa_token": token, "factor": "webauthn", "challenge_id": c.ChallengeID, "credential": json.RawMessage(resp),
	}, opts...)
}

func TestPasskeySecondFactorHTTP(t *testing.T) {
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "pk-2fa@example.com"
		tok, a := e.passkeyMFAAccount(t, addr)
		var prof struct {
			Factors []string `json:"factors"`
		}
		e.do(t, "GET", "/v1/user", nil, bearer(tok.AccessToken)).Want(http.StatusOK).Decode(&prof)
		if !slices.Equal(prof.Factors, []string{"webauthn"}) {
			t.Errorf("GET /v1/user factors %v, want [webauthn]", prof.Factors)
		}
		m := e.passwordMFA(t, addr, "webauthn")
		c := e.mfaPasskeyBegin(t, m.MFAToken)
		var tk tokensJSON
		e.mfaPasskeyGrant(t, m.MFAToken, c, a, passkeytest.Options{}).Want(http.StatusOK).Strict(&tk)
		e.secret(tk.AccessToken, tk.RefreshToken)
		claims := unverifiedClaims(t, tk.AccessToken)
		amr, _ := claims["amr"].([]any)
		if claims["aal"] != "aal2" || len(amr) != 2 || amr[0] != "pwd" || amr[1] != "webauthn" {
			t.Fatalf("claims aal %v amr %v; want aal2 [pwd webauthn]", claims["aal"], claims["amr"])
		}
		// The email challenge is still 202 {}, and refused for a user
		// without the email factor; a missing challenge_id or credential
		// is a field error.
		m = e.passwordMFA(t, addr, "webauthn")
		e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": m.MFAToken, "factor": "email"}).WantFieldError("invalid_request", "factor")
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "mfa", "mfa_token": m.MFAToken, "factor": "webauthn"}).
			WantFieldError("invalid_request", "challenge_id")
		// A user without a passkey has no webauthn to begin.
		e.totpAccount(t, "pk-2fa-totp@example.com")
		mt := e.passwordMFA(t, "pk-2fa-totp@example.com", "backup_code", "totp")
		e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": mt.MFAToken, "factor": "webauthn"}).WantFieldError("invalid_request", "factor")
		e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": "nonsense", "factor": "webauthn"}).WantProblem(http.StatusUnauthorized, "token_revoked")
	})
}

// TestPasskeySecondFactorAttacksHTTP: each attack on the passkey second
// step is a 401 invalid_credentials problem, never a 5xx.
func TestPasskeySecondFactorAttacksHTTP(t *testing.T) {
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "pk-2fa-atk@example.com"
		_, a := e.passkeyMFAAccount(t, addr)
		a.Credentials[0].Counter = 5
		_, b := e.passkeyMFAAccount(t, "pk-2fa-bob@example.com")
		back := uint32(1)
		fresh := func() string { return e.passwordMFA(t, addr, "webauthn").MFAToken }
		for _, tc := range []struct {
			name   string
			attack func(token string) *response
		}{
			{"another MFA token's ceremony", func(token string) *response {
				return e.mfaPasskeyGrant(t, token, e.mfaPasskeyBegin(t, fresh()), a, passkeytest.Options{})
			}},
			{"a sign-in ceremony", func(token string) *response {
				return e.mfaPasskeyGrant(t, token, e.begin(t, "/v1/webauthn/login/begin", map[string]string{"email": addr}), a, passkeytest.Options{})
			}},
			{"a replayed challenge", func(token string) *response {
				first := fresh()
				c := e.mfaPasskeyBegin(t, first)
				resp, err := a.Login(c.PublicKey, passkeytest.Options{})
				if err != nil {
					t.Fatal(err)
				}
				body := map[string]any{"grant_type": "mfa", "mfa_token": first, "factor": "webauthn", "challenge_id": c.ChallengeID, "credential": json.RawMessage(resp)}
				var tk tokensJSON
				e.do(t, "POST", "/v1/token", body).Want(http.StatusOK).Strict(&tk)
				e.secret(tk.AccessToken, tk.RefreshToken)
				body["mfa_token"] = token
				return e.do(t, "POST", "/v1/token", body)
			}},
			{"another user's passkey", func(token string) *response {
				return e.mfaPasskeyGrant(t, token, e.mfaPasskeyBegin(t, token), a, passkeytest.Options{Credential: b.Credentials[0]})
			}},
			{"a forged signature", func(token string) *response {
				return e.mfaPasskeyGrant(t, token, e.mfaPasskeyBegin(t, token), a, passkeytest.Options{TamperSignature: true})
			}},
			{"a counter going backwards", func(token string) *response {
				return e.mfaPasskeyGrant(t, token, e.mfaPasskeyBegin(t, token), a, passkeytest.Options{Counter: &back})
			}},
			{"garbage", func(token string) *response {
				c := e.mfaPasskeyBegin(t, token)
				return e.do(t, "POST", "/v1/token", map[string]any{"grant_type": "mfa", "mfa_token": token, "factor": "webauthn", "challenge_id": c.ChallengeID, "credential": map[string]any{"id": 7}})
			}},
		} {
			r := tc.attack(fresh())
			if r.Status >= 500 {
				t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
				continue
			}
			r.WantProblem(http.StatusUnauthorized, "invalid_credentials")
		}
		// The owner still gets in.
		m := e.passwordMFA(t, addr, "webauthn")
		var tk tokensJSON
		e.mfaPasskeyGrant(t, m.MFAToken, e.mfaPasskeyBegin(t, m.MFAToken), a, passkeytest.Options{}).Want(http.StatusOK).Strict(&tk)
		e.secret(tk.AccessToken, tk.RefreshToken)
	})
}

// TestPasskeySecondFactorLockHTTP: failed passkeys count toward the
// account's second-factor limit across MFA tokens (TestMFAAccountLockHTTP
// for TOTP): past it the right passkey is refused with 429.
func TestPasskeySecondFactorLockHTTP(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := limitServer(t, db, func(c *gatehouse.Config) { c.MFAFailureLimit = 4 })
		const addr = "pk-2fa-lock@example.com"
		_, a := e.passkeyMFAAccount(t, addr)
		var m mfaRequiredJSON
		for i := range 4 {
			if i%2 == 0 {
				m = e.passwordMFA(t, addr, "webauthn")
			}
			e.mfaPasskeyGrant(t, m.MFAToken, e.mfaPasskeyBegin(t, m.MFAToken), a, passkeytest.Options{TamperSignature: true}).
				WantProblem(http.StatusUnauthorized, "invalid_credentials")
		}
		m = e.passwordMFA(t, addr, "webauthn")
		wantRetry(t, e.mfaPasskeyGrant(t, m.MFAToken, e.mfaPasskeyBegin(t, m.MFAToken), a, passkeytest.Options{}), "too_many_attempts", time.Minute, 15*time.Minute)
	})
}

// TestPasskeySecondFactorChannelHTTP: the second step of a sign-in begun
// on the pages (a cookie-channel MFA token) is not finished through the
// API with a passkey either.
func TestPasskeySecondFactorChannelHTTP(t *testing.T) {
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "pk-2fa-ch@example.com"
		_, a := e.passkeyMFAAccount(t, addr)
		page := e.form(t, "/login/password", url.Values{"address": {addr}, "password": {testPassword}})
		token := e.mfaPage(t, page)
		c := e.mfaPasskeyBegin(t, token)
		e.mfaPasskeyGrant(t, token, c, a, passkeytest.Options{}).WantProblem(http.StatusUnauthorized, "token_revoked")
	})
}
