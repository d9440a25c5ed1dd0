package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/verify"
)

// issuer is a real Gatehouse served over HTTP (gatehousetest.Server) on
// its own URL, whose requests for its JWKS and check endpoint are counted.
// Its clock stands still until the test moves it.
type issuer struct {
	*gatehousetest.Server
	t *testing.T

	jwksHits  atomic.Int64
	checkHits atomic.Int64
	// checkDown makes /v1/check answer 500.
	checkDown atomic.Bool
	// jwksDown makes the JWKS answer 500.
	jwksDown atomic.Bool
}

// newIssuer starts a Gatehouse on a new SQLite database whose public URL
// is its own test server.
func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{t: t}
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/.well-known/jwks.json":
				is.jwksHits.Add(1)
				if is.jwksDown.Load() {
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
			case "/v1/check":
				is.checkHits.Add(1)
				if is.checkDown.Load() {
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	is.Server = gatehousetest.Start(t, gatehousetest.OwnPublicURL(), gatehousetest.WithMiddleware(count),
		gatehousetest.WithConfig(func(c *gatehouse.Config) { c.NoDelivery = true }))
	return is
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil); it returns the status.
func (is *issuer) call(method, path, bearer string, in, out any) int {
	is.t.Helper()
	var opts []gatehousetest.RequestOption
	if bearer != "" {
		opts = append(opts, gatehousetest.Bearer(bearer))
	}
	r := is.Do(is.t, method, path, in, opts...)
	if out != nil {
		r.Decode(out)
	}
	return r.Status
}

// signUp makes an account for email and returns its id.
func (is *issuer) signUp(email string) string {
	is.t.Helper()
	return is.SignUp(is.t, email, gatehousetest.Password).ID
}

// newUser starts an issuer with an account for email signed in, and
// returns the issuer and that session's access token.
func newUser(t *testing.T, email string) (*issuer, string) {
	t.Helper()
	is := newIssuer(t)
	is.signUp(email)
	return is, is.signIn(email)
}

// signIn returns a new access token for email (a new session each time).
func (is *issuer) signIn(email string) string {
	is.t.Helper()
	return is.SignIn(is.t, email, gatehousetest.Password).AccessToken
}

// logout ends tok's session.
func (is *issuer) logout(tok string) {
	is.t.Helper()
	if st := is.call("POST", "/v1/logout", tok, map[string]string{"scope": "local"}, nil); st/100 != 2 {
		is.t.Fatalf("logout: %d", st)
	}
}

// verifier returns a Verifier of the issuer that runs on its clock.
func (is *issuer) verifier(opts ...verify.Option) *verify.Verifier {
	is.t.Helper()
	v, err := verify.New(context.Background(), is.URL, append([]verify.Option{verify.WithClock(is.Clock.Now)}, opts...)...)
	if err != nil {
		is.t.Fatalf("verify.New: %v", err)
	}
	return v
}

// header returns the decoded JOSE header of tok.
func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestVerifyRoles: a token carries the roles the user had when it was
// signed, sorted; a user without roles gets a token without the claim and
// Claims.Roles nil.
func TestVerifyRoles(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	withRoles, without := is.signUp("roles@example.com"), is.signUp("plain@example.com")
	is.Do(t, "PUT", "/v1/admin/users/"+withRoles+"/roles", map[string]any{"roles": []string{"ops", "admin", "billing"}}, gatehousetest.Admin()).
		Want(http.StatusOK)
	v := is.verifier()
	for _, tc := range []struct {
		email string
		id    string
		want  []string
	}{
		{"roles@example.com", withRoles, []string{"admin", "billing", "ops"}},
		{"plain@example.com", without, nil},
	} {
		tok := is.signIn(tc.email)
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if c.Subject != tc.id || !slices.Equal(c.Roles, tc.want) || (c.Roles == nil) != (tc.want == nil) {
			t.Errorf("%s: Subject %s, Roles %#v; want %s, %#v", tc.email, c.Subject, c.Roles, tc.id, tc.want)
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var payload map[string]any
		if err := json.Unmarshal(b, &payload); err != nil {
			t.Fatal(err)
		}
		if _, has := payload["roles"]; has != (tc.want != nil) {
			t.Errorf("%s: token payload %v: roles claim present %v, want %v", tc.email, payload, has, tc.want != nil)
		}
	}
}
