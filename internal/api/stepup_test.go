package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// stepUpRules asks aal2 of one host, as an app with sensitive pages would.
const stepUpRules = "- host: secure.example.test\n  require: {aal: aal2}\n"

// TestStepUpAPI: an API client signed in at aal1 meets an aal2 rule at the
// check, steps up (POST /v1/mfa/step-up, then the mfa grant) and goes on in
// the same session at aal2, with new tokens; what it held before stays aal1.
func TestStepUpAPI(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := newMFAEnv(t, db, false, withRules(rulesFile(t, stepUpRules)))
		const addr = "step.up@example.com"
		tok, en, _ := e.totpAccount(t, addr) // signed in before the factor: aal1
		secure := traefik("https", "secure.example.test", "/account/delete")
		r := e.forwardCheck(t, jsonClient(), bearer(tok.AccessToken), secure)
		r.WantProblem(http.StatusUnauthorized, "aal2_required")
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="gatehouse", error="insufficient_user_authentication"` {
			t.Errorf("WWW-Authenticate %q", got)
		}

		r = e.do(t, "POST", "/v1/mfa/step-up", nil, bearer(tok.AccessToken)).Want(http.StatusOK)
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var m struct {
			MFAToken string   `json:"mfa_token"`
			Factors  []string `json:"factors"`
		}
		r.Strict(&m)
		e.secret(m.MFAToken)
		if m.MFAToken == "" || !slices.Equal(m.Factors, []string{"backup_code", "totp"}) {
			t.Fatalf("step-up = %s; want an mfa_token and factors [backup_code totp]", r.Body)
		}
		raised := e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")
		if sid, old := unverifiedClaims(t, raised.AccessToken)["sid"], unverifiedClaims(t, tok.AccessToken)["sid"]; sid != old {
			t.Errorf("step-up session %v; want the same session %v", sid, old)
		}
		if raised.RefreshToken == tok.RefreshToken {
			t.Error("the step-up answered the old refresh token")
		}
		r = e.forwardCheck(t, jsonClient(), bearer(raised.AccessToken), secure).Want(http.StatusOK)
		if aal := r.Header.Get("X-Auth-AAL"); aal != "aal2" {
			t.Errorf("X-Auth-AAL %q after the step-up", aal)
		}
		// The token signed at aal1 stays aal1; the refresh token of before
		// mints nothing.
		e.forwardCheck(t, jsonClient(), bearer(tok.AccessToken), secure).WantProblem(http.StatusUnauthorized, "aal2_required")
		e.refresh(t, tok.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
		var again tokensJSON
		e.refresh(t, raised.RefreshToken).Want(http.StatusOK).Decode(&again)
		e.secret(again.AccessToken, again.RefreshToken)
		e.forwardCheck(t, jsonClient(), bearer(again.AccessToken), secure).Want(http.StatusOK)
	})
}

// TestStepUpAPIRefusals: what POST /v1/mfa/step-up refuses, and the attack
// of finishing a step-up's token from another session.
func TestStepUpAPIRefusals(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := newMFAEnv(t, db, false)
		e.do(t, "POST", "/v1/mfa/step-up", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
		e.do(t, "POST", "/v1/mfa/step-up", nil, bearer("not.a.token")).WantProblem(http.StatusUnauthorized, "unauthorized")

		// No second factor: set one up first.
		plain := e.account(t, "plain@example.com")
		e.do(t, "POST", "/v1/mfa/step-up", nil, bearer(plain.AccessToken)).WantProblem(http.StatusForbidden, "forbidden")

		// A browser's session steps up on the page, not here.
		const addr = "browser.step@example.com"
		tok, en, _ := e.totpAccount(t, addr)
		cookie := e.browserSession(t, addr)
		e.do(t, "POST", "/v1/mfa/step-up", nil, e.cookie(cookie)).WantProblem(http.StatusBadRequest, "invalid_request")

		// The step-up's token finishes only through the mfa grant: the
		// browser's second-factor form refuses it (and sets no cookie).
		var m mfaRequiredJSON
		e.do(t, "POST", "/v1/mfa/step-up", nil, bearer(tok.AccessToken)).Want(http.StatusOK).Decode(&m)
		e.secret(m.MFAToken)
		r := e.form(t, "/login/mfa", url.Values{"mfa_token": {m.MFAToken}, "factor": {"totp"}, "code": {e.totp(t, en.Secret)}})
		r.Want(http.StatusUnauthorized)
		if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("the refused browser finish set %v", c)
		}
		if cur := e.currentSession(t, bearer(tok.AccessToken)); cur.AAL != "aal1" {
			t.Errorf("session at %s after the refused step-up", cur.AAL)
		}
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")
		e.nextStep()

		// A session signed out before the second factor stays signed out.
		e.do(t, "POST", "/v1/mfa/step-up", nil, bearer(tok.AccessToken)).Want(http.StatusOK).Decode(&m)
		e.secret(m.MFAToken)
		e.do(t, "POST", "/v1/logout", nil, bearer(tok.AccessToken)).Want(http.StatusNoContent)
		e.nextStep()
		e.grantMFA(t, m.MFAToken, "totp", e.totp(t, en.Secret)).WantProblem(http.StatusUnauthorized, "token_revoked")
	})
}
