package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

// The harness's public URL is https://auth.example.test: the RP ID is its
// host and the origin the authenticator's "browser" is at.
const pkOrigin = gatehousetest.PublicURL

type ceremonyJSON struct {
	ChallengeID string          `json:"challenge_id"`
	PublicKey   json.RawMessage `json:"publicKey"`
}

type passkeyJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	BackedUp   bool    `json:"backed_up"`
}

// begin posts a begin route and answers the ceremony.
func (e *env) begin(t testing.TB, path string, body any, opts ...reqOpt) ceremonyJSON {
	t.Helper()
	var c ceremonyJSON
	e.do(t, "POST", path, body, opts...).Want(http.StatusOK).Strict(&c)
	if c.ChallengeID == "" || len(c.PublicKey) == 0 {
		t.Fatalf("%s: %+v", path, c)
	}
	return c
}

// addPasskey registers a new credential of a for who over HTTP.
func (e *env) addPasskey(t testing.TB, a *passkeytest.Authenticator, who reqOpt, name string) passkeyJSON {
	t.Helper()
	c := e.begin(t, "/v1/webauthn/register/begin", map[string]any{}, who)
	resp, _, err := a.Register(c.PublicKey, 0, passkeytest.Options{})
	if err != nil {
		t.Fatalf("authenticator register: %v", err)
	}
	var pk passkeyJSON
	e.do(t, "POST", "/v1/webauthn/register/finish", map[string]any{"challenge_id": c.ChallengeID, "name": name, "credential": json.RawMessage(resp)}, who).
		Want(http.StatusCreated).Strict(&pk)
	return pk
}

// passkeyLogin begins a sign-in (email "" for usernameless), answers it
// with a and o, and returns the finish's response.
func (e *env) passkeyLogin(t testing.TB, email string, a *passkeytest.Authenticator, o passkeytest.Options) *response {
	t.Helper()
	body := map[string]any{}
	if email != "" {
		body["email"] = email
	}
	c := e.begin(t, "/v1/webauthn/login/begin", body)
	resp, err := a.Login(c.PublicKey, o)
	if err != nil {
		t.Fatalf("authenticator login: %v", err)
	}
	return e.do(t, "POST", "/v1/webauthn/login/finish", map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(resp)})
}

// wantPasskeyTokens checks a sign-in answered aal2 tokens of amr webauthn.
func (e *env) wantPasskeyTokens(t testing.TB, r *response) tokensJSON {
	t.Helper()
	var tok tokensJSON
	r.Want(http.StatusOK).Strict(&tok)
	e.secret(tok.AccessToken, tok.RefreshToken)
	claims := unverifiedClaims(t, tok.AccessToken)
	amr, _ := claims["amr"].([]any)
	if claims["aal"] != "aal2" || len(amr) != 1 || amr[0] != "webauthn" {
		t.Fatalf("claims aal %v amr %v; want aal2 [webauthn]", claims["aal"], claims["amr"])
	}
	return tok
}

func TestPasskeyRegisterSignInManage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		const addr = "pk-http@example.com"
		tok := e.account(t, addr)
		who := bearer(tok.AccessToken)
		a := passkeytest.New(pkOrigin)
		pk := e.addPasskey(t, a, who, "")
		if pk.Name != "Passkey" || pk.ID == "" || pk.LastUsedAt != nil {
			t.Fatalf("added %+v", pk)
		}
		var aal2 reqOpt
		for _, email := range []string{addr, ""} {
			got := e.wantPasskeyTokens(t, e.passkeyLogin(t, email, a, passkeytest.Options{}))
			if got.User.Email != addr {
				t.Fatalf("signed in as %+v", got.User)
			}
			aal2 = bearer(got.AccessToken)
		}
		var list struct {
			Credentials []passkeyJSON `json:"credentials"`
		}
		e.do(t, "GET", "/v1/webauthn/credentials", nil, who).Want(http.StatusOK).Strict(&list)
		if len(list.Credentials) != 1 || list.Credentials[0].ID != pk.ID || list.Credentials[0].LastUsedAt == nil {
			t.Fatalf("credentials %+v", list.Credentials)
		}
		e.do(t, "PATCH", "/v1/webauthn/credentials/"+pk.ID, map[string]string{"name": "Laptop"}, who).Want(http.StatusNoContent)
		e.do(t, "GET", "/v1/webauthn/credentials", nil, who).Want(http.StatusOK).Strict(&list)
		if list.Credentials[0].Name != "Laptop" {
			t.Fatalf("renamed: %+v", list.Credentials)
		}
		e.do(t, "PATCH", "/v1/webauthn/credentials/"+pk.ID, map[string]string{"name": ""}, who).WantFieldError("invalid_request", "name")
		e.do(t, "PATCH", "/v1/webauthn/credentials/not!base64", map[string]string{"name": "x"}, who).WantProblem(http.StatusNotFound, "not_found")
		// Another account does not see, rename or remove it.
		other := bearer(e.account(t, "pk-other@example.com").AccessToken)
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, other).WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "PATCH", "/v1/webauthn/credentials/"+pk.ID, map[string]string{"name": "x"}, other).WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "GET", "/v1/webauthn/credentials", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
		// A passkey is a second factor: the session from before it (aal1)
		// may not remove it. The account has a password, so the passkey
		// may go from an aal2 session.
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, who).WantProblem(http.StatusForbidden, "forbidden")
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, aal2).Want(http.StatusNoContent)
		e.passkeyLogin(t, "", a, passkeytest.Options{}).WantProblem(http.StatusUnauthorized, "invalid_credentials")
	})
}

func TestPasskeyLastWayInIsConflict(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.passwordlessUser(t, "pk-last@example.com")
		cookie, same := e.cookie(e.browserSession(t, u.Email)), gatehousetest.SameOrigin()
		who := func(r *http.Request) { cookie(r); same(r) }
		a := passkeytest.New(pkOrigin)
		pk := e.addPasskey(t, a, who, "Phone")
		// The passkey is a second factor now: removing it takes aal2,
		// and then it is refused as the last way in.
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, who).WantProblem(http.StatusForbidden, "forbidden")
		aal2 := bearer(e.wantPasskeyTokens(t, e.passkeyLogin(t, "", a, passkeytest.Options{})).AccessToken)
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, aal2).WantProblem(http.StatusConflict, "conflict")
	})
}

func TestPasskeyAttacksRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		const addr = "pk-attack@example.com"
		who := bearer(e.account(t, addr).AccessToken)
		a := passkeytest.New(pkOrigin)
		e.addPasskey(t, a, who, "Key")
		a.Credentials[0].Counter = 10

		// A challenge finishes once.
		c := e.begin(t, "/v1/webauthn/login/begin", map[string]any{"email": addr})
		resp, err := a.Login(c.PublicKey, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		finish := map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(resp)}
		// With a passkey on, adding another takes aal2: this session's.
		who = bearer(e.wantPasskeyTokens(t, e.do(t, "POST", "/v1/webauthn/login/finish", finish)).AccessToken)
		e.do(t, "POST", "/v1/webauthn/login/finish", finish).WantProblem(http.StatusUnauthorized, "invalid_credentials")

		// A registration challenge does not sign in.
		reg := e.begin(t, "/v1/webauthn/register/begin", map[string]any{}, who)
		e.do(t, "POST", "/v1/webauthn/login/finish", map[string]any{"challenge_id": reg.ChallengeID, "credential": json.RawMessage(resp)}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")

		back := uint32(2)
		stranger := passkeytest.New(pkOrigin)
		if _, _, err := stranger.Register(reg.PublicKey, 0, passkeytest.Options{}); err != nil {
			t.Fatal(err)
		}
		for name, o := range map[string]passkeytest.Options{
			"wrong origin":       {Origin: "https://evil.example.test"},
			"wrong RP":           {RPID: "evil.example.test"},
			"tampered signature": {TamperSignature: true},
			"no user verified":   {NoUV: true},
			"counter regression": {Counter: &back},
			"unknown credential": {Credential: stranger.Credentials[0]},
			"odd user handle":    {UserHandle: []byte("\x00\xff not a user")},
		} {
			t.Run(name, func(t *testing.T) {
				for _, email := range []string{addr, ""} {
					e.passkeyLogin(t, email, a, o).WantProblem(http.StatusUnauthorized, "invalid_credentials")
				}
			})
		}

		// A usernameless sign-in needs the user handle to name the account
		// (one that named it by email may leave it out).
		e.passkeyLogin(t, "", a, passkeytest.Options{UserHandle: []byte{}}).WantProblem(http.StatusUnauthorized, "invalid_credentials")

		// A registration that does not verify is 400 invalid_credential,
		// and its challenge is gone.
		reg = e.begin(t, "/v1/webauthn/register/begin", map[string]any{}, who)
		bad, _, err := passkeytest.New(pkOrigin).Register(reg.PublicKey, 0, passkeytest.Options{Origin: "https://evil.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"challenge_id": reg.ChallengeID, "credential": json.RawMessage(bad)}
		e.do(t, "POST", "/v1/webauthn/register/finish", body, who).WantProblem(http.StatusBadRequest, "invalid_credential")
		e.do(t, "POST", "/v1/webauthn/register/finish", body, who).WantProblem(http.StatusBadRequest, "invalid_credential")
		// Garbage is a 4xx, never a 5xx.
		e.do(t, "POST", "/v1/webauthn/login/finish", map[string]any{"challenge_id": "x", "credential": map[string]any{"id": 1}}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestPasskeyLoginBeginSameShape: a known email with passkeys, one without
// and an unknown one get options of the same shape.
func TestPasskeyLoginBeginSameShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	who := bearer(e.account(t, "pk-shape@example.com").AccessToken)
	e.addPasskey(t, passkeytest.New(pkOrigin), who, "")
	e.account(t, "pk-none@example.com")
	shape := func(email string) []string {
		var opts struct {
			AllowCredentials []map[string]any `json:"allowCredentials"`
		}
		c := e.begin(t, "/v1/webauthn/login/begin", map[string]any{"email": email})
		if err := json.Unmarshal(c.PublicKey, &opts); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, ac := range opts.AllowCredentials {
			id, _ := ac["id"].(string)
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(raw) == 0 {
				t.Fatalf("allowCredentials id %q", id)
			}
			for k := range ac {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return keys
	}
	want := shape("pk-shape@example.com")
	for _, email := range []string{"pk-none@example.com", "pk-nobody@example.com"} {
		if got := shape(email); !slices.Equal(got, want) {
			t.Errorf("%s: allowCredentials keys %v, want %v", email, got, want)
		}
	}
}

// TestPasskeysOffUnavailable: a public URL that cannot serve passkeys
// (plain http on an address) turns the routes off: 503.
func TestPasskeysOffUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, gatehousetest.WithConfig(func(c *gatehouse.Config) { c.PublicURL = "http://127.0.0.1:3000" }))
	who := bearer(e.account(t, "pk-off@example.com").AccessToken)
	e.do(t, "POST", "/v1/webauthn/register/begin", map[string]any{}, who).WantProblem(http.StatusServiceUnavailable, "unavailable")
	e.do(t, "POST", "/v1/webauthn/login/begin", map[string]any{}).WantProblem(http.StatusServiceUnavailable, "unavailable")
}

// TestPasskeyWithSecondFactor: a user with an authenticator app adds and
// removes passkeys only from an aal2 session, and a passkey that verified
// the user signs in at aal2 without a second step.
func TestPasskeyWithSecondFactor(t *testing.T) {
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "pk-mfa@example.com"
		tok, en, _ := e.totpAccount(t, addr)
		aal1 := bearer(tok.AccessToken)
		e.do(t, "POST", "/v1/webauthn/register/begin", map[string]any{}, aal1).WantProblem(http.StatusForbidden, "forbidden")
		m := e.passwordMFA(t, addr, "backup_code", "totp")
		e.nextStep()
		aal2 := bearer(e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp").AccessToken)
		a := passkeytest.New(pkOrigin)
		pk := e.addPasskey(t, a, aal2, "")
		got := e.wantPasskeyTokens(t, e.passkeyLogin(t, "", a, passkeytest.Options{}))
		if got.User.Email != addr {
			t.Fatalf("signed in as %+v", got.User)
		}
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, aal1).WantProblem(http.StatusForbidden, "forbidden")
		e.do(t, "DELETE", "/v1/webauthn/credentials/"+pk.ID, nil, bearer(got.AccessToken)).Want(http.StatusNoContent)
	})
}

// TestPasskeyNamedAfterProvider: a new passkey without a name is named
// after its authenticator's AAGUID, when the list knows it.
func TestPasskeyNamedAfterProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	who := bearer(e.account(t, "pk-name@example.com").AccessToken)
	a := passkeytest.New(pkOrigin)
	a.AAGUID = func() []byte { u := uuid.MustParse("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"); return u[:] }()
	if pk := e.addPasskey(t, a, who, ""); pk.Name != "Google Password Manager" {
		t.Fatalf("named %q", pk.Name)
	}
	// A second passkey takes aal2, the first being a second factor.
	who = bearer(e.wantPasskeyTokens(t, e.passkeyLogin(t, "", a, passkeytest.Options{})).AccessToken)
	if pk := e.addPasskey(t, passkeytest.New(pkOrigin), who, " My key "); pk.Name != "My key" {
		t.Fatalf("named %q", pk.Name)
	}
}
