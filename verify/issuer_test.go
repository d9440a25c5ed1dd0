package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/verify"
)

const (
	testSecret   = "verify-test-secret-0123456789-abcdef"
	testPassword = "correct horse battery staple"
)

// issuer is a real Gatehouse served over HTTP, whose requests for its JWKS
// and check endpoint are counted.
type issuer struct {
	t     *testing.T
	url   string
	dbURL string
	clock *clocktest.Clock
	g     *gatehouse.Gatehouse

	jwksHits  atomic.Int64
	checkHits atomic.Int64
	// checkDown makes /v1/check answer 500.
	checkDown atomic.Bool
	// jwksDown makes the JWKS answer 500.
	jwksDown atomic.Bool
}

// newIssuer starts a Gatehouse on a new SQLite database whose public URL
// is its own test server. Its clock stands still until the test moves it.
func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{t: t, clock: clocktest.New(time.Now().Truncate(time.Second)), dbURL: "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")}
	var g atomic.Pointer[gatehouse.Gatehouse]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		g.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	is.url = srv.URL
	is.g = is.open(context.Background())
	g.Store(is.g)
	return is
}

// open starts a Gatehouse on the issuer's database, as the server or as a
// second process such as `gatehouse keys rotate` does.
func (is *issuer) open(ctx context.Context) *gatehouse.Gatehouse {
	is.t.Helper()
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = is.dbURL
	cfg.Secret = testSecret
	cfg.PublicURL = is.url
	cfg.Clock = is.clock
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.NoDelivery = true
	g, err := gatehouse.New(ctx, cfg)
	if err != nil {
		is.t.Fatalf("gatehouse.New: %v", err)
	}
	is.t.Cleanup(func() { g.Close() })
	return g
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil); it answers the status.
func (is *issuer) call(method, path, bearer string, in, out any) int {
	is.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			is.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, is.url+path, body)
	if err != nil {
		is.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		is.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			is.t.Fatalf("%s %s: %d, decode: %v", method, path, res.StatusCode, err)
		}
	}
	return res.StatusCode
}

// signUp makes an account for email and answers its id.
func (is *issuer) signUp(email string) string {
	is.t.Helper()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if st := is.call("POST", "/v1/signup", "", map[string]string{"email": email, "password": testPassword}, &out); st != http.StatusCreated {
		is.t.Fatalf("signup %s: %d", email, st)
	}
	return out.User.ID
}

// signIn answers a new access token for email (a new session each time).
func (is *issuer) signIn(email string) string {
	is.t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if st := is.call("POST", "/v1/token", "", map[string]string{"grant_type": "password", "email": email, "password": testPassword}, &out); st != http.StatusOK || out.AccessToken == "" {
		is.t.Fatalf("sign in %s: %d", email, st)
	}
	return out.AccessToken
}

// logout ends tok's session.
func (is *issuer) logout(tok string) {
	is.t.Helper()
	if st := is.call("POST", "/v1/logout", tok, map[string]string{"scope": "local"}, nil); st/100 != 2 {
		is.t.Fatalf("logout: %d", st)
	}
}

// verifier answers a Verifier of the issuer that runs on its clock.
func (is *issuer) verifier(opts ...verify.Option) *verify.Verifier {
	is.t.Helper()
	v, err := verify.New(context.Background(), is.url, append([]verify.Option{verify.WithClock(is.clock.Now)}, opts...)...)
	if err != nil {
		is.t.Fatalf("verify.New: %v", err)
	}
	return v
}

// header answers the decoded JOSE header of tok.
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
