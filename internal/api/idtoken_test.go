package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// appClientID is the client ID the provider issued to our native app
// (GATEHOUSE_OAUTH_ACME_CLIENT_IDS), beside the web one.
const appClientID = "com.example.app"

// idTokenEnv is a server with mail, requests naming their client, the
// fake OpenID Connect provider "acme" with the app's client ID, and
// GitHub; edit changes its configuration.
func idTokenEnv(t *testing.T, db database, edit func(*gatehouse.Config)) (*mfaEnv, *oauthtest.OIDC) {
	t.Helper()
	var acme *oauthtest.OIDC
	var gh *oauthtest.GitHub
	e := limitServer(t, db, edit,
		gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, oauthtest.User{}, &acme),
		gatehousetest.WithProviderSetting("acme", "CLIENT_IDS", "com.example.other, "+appClientID),
		gatehousetest.WithGitHubFake(oauthtest.GitHubUser{}, &gh))
	return e, acme
}

// grantIDToken posts the id_token grant as JSON; a token (anything long
// enough to be one) must never reach the log.
func (e *mfaEnv) grantIDToken(t testing.TB, provider, token, nonce string, opts ...reqOpt) *response {
	t.Helper()
	if len(token) > 16 {
		e.secret(token)
	}
	body := map[string]string{"grant_type": "id_token", "provider": provider, "id_token": token}
	if nonce != "" {
		body["nonce"] = nonce
	}
	return e.do(t, "POST", "/v1/token", body, opts...)
}

var (
	idAda   = oauthtest.User{Subject: "acme-ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}
	idGrace = oauthtest.User{Subject: "acme-grace", Email: "grace@example.com", EmailVerified: true}
)

// TestIDTokenGrant: a native app's ID token, issued by the provider's SDK
// to the app's client ID, signs in: a new account first, the same one
// again, as a form body too; the nonce is checked when given.
func TestIDTokenGrant(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e, acme := idTokenEnv(t, db, nil)
		first := e.Tokens(e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.Good), "").Want(http.StatusOK))
		e.secret(first.AccessToken, first.RefreshToken)
		if first.User.Email != idAda.Email || !first.User.EmailVerified || first.User.Name != idAda.Name || first.User.HasPassword {
			t.Errorf("new account %+v; want ada's, proven, named, no password", first.User)
		}

		// The same identity again, with the nonce the app gave the SDK,
		// and the web client ID as the audience: the same account.
		const nonce = "app-nonce-0123456789"
		again := e.Tokens(e.grantIDToken(t, "acme", acme.IDToken(idAda, "gatehouse-acme", nonce, oauthtest.Good), nonce).Want(http.StatusOK))
		e.secret(again.AccessToken, again.RefreshToken)
		if again.User.ID != first.User.ID {
			t.Errorf("second sign-in in %s; want %s", again.User.ID, first.User.ID)
		}

		// A form body, as OAuth clients send token requests.
		form := url.Values{"grant_type": {"id_token"}, "provider": {"acme"}, "id_token": {acme.IDToken(idAda, appClientID, "", oauthtest.Good)}}
		e.secret(form.Get("id_token"))
		byForm := e.Tokens(e.do(t, "POST", "/v1/token", form).Want(http.StatusOK))
		e.secret(byForm.AccessToken, byForm.RefreshToken)
		if byForm.User.ID != first.User.ID {
			t.Errorf("form sign-in in %s; want %s", byForm.User.ID, first.User.ID)
		}

		// A token minted for another sign-in's nonce is refused; one
		// with this nonce is refused when another is given.
		e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, nonce, oauthtest.BadNonce), nonce).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, nonce, oauthtest.Good), "another-nonce").
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.Good), nonce).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestIDTokenGrantBadTokens: every kind of bad token is 401
// invalid_credentials (never a 5xx), and the log names the failed check,
// never the token.
func TestIDTokenGrantBadTokens(t *testing.T) {
	t.Parallel()
	e, acme := idTokenEnv(t, sqliteDB, nil)
	for _, tc := range []struct {
		bad   oauthtest.Bad
		check string
	}{
		{oauthtest.BadAudience, "audience"},
		{oauthtest.BadIssuer, "issuer"},
		{oauthtest.Expired, "expired"},
		{oauthtest.UnknownKey, "signature"},
		{oauthtest.AlgNone, "malformed"},
		{oauthtest.BadSignature, "signature"},
	} {
		t.Run(string(tc.bad), func(t *testing.T) {
			r := e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", tc.bad), "")
			r.WantProblem(http.StatusUnauthorized, "invalid_credentials")
			if !strings.Contains(e.Logs.String(), "("+tc.check+")") {
				t.Errorf("the log does not name the check %q:\n%s", tc.check, e.Logs.String())
			}
		})
	}
	for _, raw := range []string{"not-a-jwt", "a.b.c", strings.Repeat("x", 5000)} {
		e.grantIDToken(t, "acme", raw, "").WantProblem(http.StatusUnauthorized, "invalid_credentials")
	}
	// The log is checked for every token when the test ends (each is a
	// remembered secret).
}

// TestIDTokenGrantRefusals: a provider with no ID tokens (GitHub), one
// not configured and a missing token are 400 field errors, before anything
// is checked or counted.
func TestIDTokenGrantRefusals(t *testing.T) {
	t.Parallel()
	e, _ := idTokenEnv(t, sqliteDB, nil)
	for _, tc := range []struct {
		name, provider, token, field string
	}{
		{"github", "github", "a.b.c", "provider"},
		{"unknown", "nope", "a.b.c", "provider"},
		{"no provider", "", "a.b.c", "provider"},
		{"no token", "acme", "", "id_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.grantIDToken(t, tc.provider, tc.token, "").WantFieldError("invalid_request", tc.field)
		})
	}
}

// TestIDTokenGrantSecondFactor: an account with an authenticator answers
// the id_token grant with the second-factor step, as after a password.
func TestIDTokenGrantSecondFactor(t *testing.T) {
	t.Parallel()
	e, acme := idTokenEnv(t, sqliteDB, nil)
	e.totpAccount(t, idGrace.Email)
	m := e.mfaRequired(t, e.grantIDToken(t, "acme", acme.IDToken(idGrace, appClientID, "", oauthtest.Good), ""), "backup_code", "totp")
	if m.MFAToken == "" {
		t.Fatal("no mfa_token")
	}
}

// TestIDTokenGrantClientLimit: forged tokens from one network count
// against its wrong-code limit: past it, 429 rate_limited whatever the
// token (a good one too), so a flood of forgeries (each with an unknown
// key ID makes the server fetch the provider's keys again) is cut short;
// another network still signs in, and good tokens never count.
func TestIDTokenGrantClientLimit(t *testing.T) {
	t.Parallel()
	const limit = 6
	e, acme := idTokenEnv(t, sqliteDB, func(c *gatehouse.Config) { c.ClientCodeFailureLimit = limit })
	// Good tokens from the attacker's network before: never counted.
	for range limit + 1 {
		e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.Good), "", from(attackerIP)).Want(http.StatusOK)
	}
	for range limit {
		e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.UnknownKey), "", from(attackerIP)).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
	}
	wantRetry(t, e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.UnknownKey), "", from(attackerIP)),
		"rate_limited", time.Minute, 15*time.Minute)
	wantRetry(t, e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.Good), "", from(attackerIP)),
		"rate_limited", time.Minute, 15*time.Minute)
	e.grantIDToken(t, "acme", acme.IDToken(idAda, appClientID, "", oauthtest.Good), "", from(ownerIP)).Want(http.StatusOK)
}
