package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type checkJSON struct {
	User    userJSON    `json:"user"`
	Session sessionJSON `json:"session"`
}

func TestCheck(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok, cookie := e.bothWays(t, "hedy@example.com")

		t.Run("bearer", func(t *testing.T) {
			t.Parallel()
			r := e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
			var body checkJSON
			r.Strict(&body)
			if r.Header.Get("X-Auth-User-Id") != tok.User.ID || r.Header.Get("X-Auth-Email") != "hedy@example.com" {
				t.Errorf("headers %v", r.Header)
			}
			if body.User.ID != tok.User.ID || body.User.Email != "hedy@example.com" || !body.User.HasPassword {
				t.Errorf("user %+v", body.User)
			}
			if body.Session.ID == "" || body.Session.ID != r.Header.Get("X-Auth-Session-Id") || body.Session.UserID != tok.User.ID ||
				!body.Session.Current || body.Session.Browser {
				t.Errorf("session %+v, X-Auth-Session-Id %q", body.Session, r.Header.Get("X-Auth-Session-Id"))
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			// The scheme is case-insensitive; the session id matches the
			// token's sid claim.
			r2 := e.check(t, header("Authorization", "bearer "+tok.AccessToken)).Want(http.StatusOK)
			claims := unverifiedClaims(t, tok.AccessToken)
			if r2.Header.Get("X-Auth-Session-Id") != claims["sid"] || claims["sub"] != tok.User.ID {
				t.Errorf("session %q, claims %v", r2.Header.Get("X-Auth-Session-Id"), claims)
			}
		})

		t.Run("cookie", func(t *testing.T) {
			t.Parallel()
			r := e.check(t, e.cookie(cookie)).Want(http.StatusOK)
			var body checkJSON
			r.Strict(&body)
			if r.Header.Get("X-Auth-User-Id") != tok.User.ID || r.Header.Get("X-Auth-Email") != "hedy@example.com" ||
				r.Header.Get("X-Auth-Session-Id") != body.Session.ID || !body.Session.Browser || body.Session.UserAgent != "test-browser" {
				t.Errorf("headers %v, body %s", r.Header, r.Body)
			}
			// A cookie with another name is not the session cookie.
			e.check(t, header("Cookie", "other="+cookie)).WantProblem(http.StatusUnauthorized, "unauthorized")
		})

		t.Run("rejected", func(t *testing.T) {
			t.Parallel()
			forged := tok.AccessToken[:strings.LastIndexByte(tok.AccessToken, '.')+1] + "AAAA"
			for name, opt := range map[string]reqOpt{
				"nothing":         func(*http.Request) {},
				"garbage bearer":  bearer("garbage"),
				"empty bearer":    header("Authorization", "Bearer "),
				"other scheme":    header("Authorization", "Basic "+tok.AccessToken),
				"forged":          bearer(forged),
				"refresh token":   bearer(tok.RefreshToken),
				"garbage cookie":  e.cookie("garbage"),
				"token as cookie": e.cookie(tok.AccessToken),
			} {
				r := e.check(t, opt)
				r.WantProblem(http.StatusUnauthorized, "unauthorized")
				if r.Header.Get("X-Auth-User-Id") != "" || r.Header.Get("X-Auth-Session-Id") != "" {
					t.Errorf("%s: identity headers on a 401: %v", name, r.Header)
				}
				if !strings.HasPrefix(r.Header.Get("Www-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", name, r.Header.Get("Www-Authenticate"))
				}
			}
		})
	})
}

func TestCheckExpiry(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok, cookie := e.bothWays(t, "kat@example.com")

		e.Clock.Advance(15*time.Minute - time.Second)
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.Clock.Advance(time.Second)
		e.check(t, bearer(tok.AccessToken)).WantProblem(http.StatusUnauthorized, "token_expired")
		// The refresh token still works, and answers a fresh access token.
		var fresh tokensJSON
		e.refresh(t, tok.RefreshToken).Want(http.StatusOK).Decode(&fresh)
		e.check(t, bearer(fresh.AccessToken)).Want(http.StatusOK)

		// A cookie session slides: used within the idle timeout it lives on.
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.Clock.Advance(e.Config.SessionTTL - time.Minute)
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.Clock.Advance(e.Config.SessionTTL - time.Minute)
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		// Unused for longer than the idle timeout, it ends.
		e.Clock.Advance(e.Config.SessionTTL + time.Minute)
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_expired")
	})
}

// TestCheckRevocation checks that every way of ending a session takes
// effect at /v1/check at once, although /v1/check caches what it saw.
func TestCheckRevocation(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		e.signUp(t, "ida@example.com", testPassword)
		signIn := func() tokensJSON {
			tok := e.signIn(t, "ida@example.com", testPassword)
			e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK) // now cached
			return tok
		}

		logout := signIn()
		e.do(t, "POST", "/v1/logout", nil, bearer(logout.AccessToken)).Want(http.StatusNoContent)
		e.check(t, bearer(logout.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")

		cookie := e.browserSession(t, "ida@example.com")
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.do(t, "POST", "/v1/logout", nil, e.cookie(cookie)).Want(http.StatusNoContent)
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")

		adminRevoked := signIn()
		cookie = e.browserSession(t, "ida@example.com")
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.do(t, "DELETE", "/v1/admin/users/"+adminRevoked.User.ID+"/sessions", nil, adminKey()).Want(http.StatusNoContent)
		e.check(t, bearer(adminRevoked.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")

		disabled := signIn()
		cookie = e.browserSession(t, "ida@example.com")
		e.check(t, e.cookie(cookie)).Want(http.StatusOK)
		e.do(t, "PATCH", "/v1/admin/users/"+disabled.User.ID, map[string]bool{"disabled": true}, adminKey()).Want(http.StatusOK)
		e.check(t, bearer(disabled.AccessToken)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.check(t, e.cookie(cookie)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.refresh(t, disabled.RefreshToken).WantProblem(http.StatusUnauthorized, "token_revoked")
	})
}

func TestWellKnown(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.account(t, "jwks@example.com")

		r := e.do(t, "GET", "/.well-known/jwks.json", nil).Want(http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
			t.Errorf("Content-Type %q", ct)
		}
		var set jose.JSONWebKeySet
		r.Decode(&set)
		if len(set.Keys) != 1 {
			t.Fatalf("%d keys, want 1: %s", len(set.Keys), r.Body)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || k.KeyID == "" || k.Algorithm != "EdDSA" || k.Use != "sig" {
				t.Errorf("key %s: public=%v alg=%q use=%q", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
			}
		}
		for _, private := range []string{`"d"`, `"p"`, `"q"`} {
			if strings.Contains(string(r.Body), private+":") {
				t.Errorf("the JWKS holds private member %s: %s", private, r.Body)
			}
		}

		// The published key verifies an access token, with the claims docs/contract.md lists.
		parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		kid := parsed.Headers[0].KeyID
		keys := set.Key(kid)
		if len(keys) != 1 {
			t.Fatalf("the JWKS has no key %q", kid)
		}
		var claims struct {
			jwt.Claims
			SID   string   `json:"sid"`
			Email string   `json:"email"`
			AAL   string   `json:"aal"`
			AMR   []string `json:"amr"`
		}
		if err := parsed.Claims(keys[0].Key, &claims); err != nil {
			t.Fatalf("the JWKS key does not verify the token: %v", err)
		}
		if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{testIssuer}, Subject: tok.User.ID, Time: e.Clock.Now()}, 0); err != nil {
			t.Errorf("claims: %v", err)
		}
		if claims.ID == "" || claims.SID == "" || claims.Email != "jwks@example.com" || claims.AAL != "aal1" || len(claims.AMR) != 1 || claims.AMR[0] != "pwd" ||
			claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 15*time.Minute {
			t.Errorf("claims %+v", claims)
		}
		// A tampered token does not verify with it.
		other := e.signIn(t, "jwks@example.com", testPassword)
		parts, otherParts := strings.Split(tok.AccessToken, "."), strings.Split(other.AccessToken, ".")
		spliced, err := jwt.ParseSigned(parts[0]+"."+otherParts[1]+"."+parts[2], []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		if err := spliced.Claims(keys[0].Key, &claims); err == nil {
			t.Error("a spliced token verified")
		}

		var oidc map[string]any
		r = e.do(t, "GET", "/.well-known/openid-configuration", nil).Want(http.StatusOK)
		r.Decode(&oidc)
		if oidc["issuer"] != testIssuer || oidc["jwks_uri"] != testIssuer+"/.well-known/jwks.json" || oidc["token_endpoint"] != testIssuer+"/v1/token" {
			t.Errorf("openid-configuration %s", r.Body)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
	})
}

// unverifiedClaims reads a JWT's claims without checking it.
func unverifiedClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
