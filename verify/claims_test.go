package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/verify"
)

// t0 is the fake issuer's time: tokens and verifiers run on it.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fakeIssuer serves discovery and a JWKS for keys the test holds, so it can
// sign what a real Gatehouse never would.
type fakeIssuer struct {
	url  string
	priv ed25519.PrivateKey
	kid  string
	// jwks is the JWKS body served; discovery the metadata body.
	jwks, discovery atomic.Pointer[string]
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	t.Helper()
	seed := sha256.Sum256([]byte("verify fake issuer key"))
	f := &fakeIssuer{priv: ed25519.NewKeyFromSeed(seed[:]), kid: "key-1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_, _ = w.Write([]byte(*f.discovery.Load()))
		case "/.well-known/jwks.json":
			_, _ = w.Write([]byte(*f.jwks.Load()))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.setDiscovery(map[string]any{"issuer": f.url, "jwks_uri": f.url + "/.well-known/jwks.json"})
	f.setJWKS(jose.JSONWebKey{Key: f.priv.Public(), KeyID: f.kid, Algorithm: "EdDSA", Use: "sig"})
	return f
}

func (f *fakeIssuer) setDiscovery(meta map[string]any) {
	b, _ := json.Marshal(meta)
	s := string(b)
	f.discovery.Store(&s)
}

func (f *fakeIssuer) setJWKS(keys ...jose.JSONWebKey) {
	if keys == nil {
		keys = []jose.JSONWebKey{}
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		panic(err)
	}
	s := string(b)
	f.jwks.Store(&s)
}

// claims returns the claims of a good token at t0, to be spoiled by a test.
func (f *fakeIssuer) claims() map[string]any {
	return map[string]any{
		"iss": f.url, "sub": "user-1", "aud": f.url, "exp": t0.Add(10 * time.Minute).Unix(), "iat": t0.Unix(),
		"jti": "tok-1", "sid": "sess-1", "email": "a@example.com", "aal": "aal1", "amr": []string{"pwd"},
	}
}

// token signs claims with the fake issuer's key and the given typ.
func (f *fakeIssuer) token(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, jose.EdDSA, f.priv, f.kid, typ, b)
}

func (f *fakeIssuer) verifier(t *testing.T, now time.Time, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	v, err := verify.New(context.Background(), f.url, append([]verify.Option{verify.WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	return v
}

// TestClaimsChecks: type, issuer, audience, subject, expiry, not-before
// and issued-at, with the leeway, and the longest lifetime.
func TestClaimsChecks(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t)
	with := func(k string, v any) map[string]any {
		c := f.claims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	exp := t0.Add(10 * time.Minute)
	tests := []struct {
		name string
		typ  string
		c    map[string]any
		at   time.Time
		opts []verify.Option
		want error // nil: accepted
	}{
		{"good", "at+jwt", f.claims(), t0, nil, nil},
		{"typ in media-type form", "application/at+jwt", f.claims(), t0, nil, nil},
		{"typ upper case", "AT+JWT", f.claims(), t0, nil, nil},
		{"typ JWT", "JWT", f.claims(), t0, nil, verify.ErrInvalid},
		{"roles", "at+jwt", with("roles", []string{"admin", "billing"}), t0, nil, nil},
		{"roles not a list", "at+jwt", with("roles", "admin"), t0, nil, verify.ErrInvalid},
		{"roles not strings", "at+jwt", with("roles", []int{1}), t0, nil, verify.ErrInvalid},
		{"no typ", "", f.claims(), t0, nil, verify.ErrInvalid},
		{"typ of an ID token", "id_token+jwt", f.claims(), t0, nil, verify.ErrInvalid},
		{"wrong issuer", "at+jwt", with("iss", "https://evil.example.com"), t0, nil, verify.ErrInvalid},
		{"issuer with a trailing slash", "at+jwt", with("iss", f.url+"/"), t0, nil, verify.ErrInvalid},
		{"no issuer", "at+jwt", with("iss", nil), t0, nil, verify.ErrInvalid},
		{"wrong audience", "at+jwt", with("aud", "https://api.example.com"), t0, nil, verify.ErrInvalid},
		{"audience list with ours", "at+jwt", with("aud", []string{"https://api.example.com", f.url}), t0, nil, nil},
		{"no audience", "at+jwt", with("aud", nil), t0, nil, verify.ErrInvalid},
		{"WithAudience: ours", "at+jwt", with("aud", "https://api.example.com"), t0, []verify.Option{verify.WithAudience("https://api.example.com")}, nil},
		{"WithAudience: the issuer's is not enough", "at+jwt", f.claims(), t0, []verify.Option{verify.WithAudience("https://api.example.com")}, verify.ErrInvalid},
		{"no subject", "at+jwt", with("sub", nil), t0, nil, verify.ErrInvalid},
		{"no expiry", "at+jwt", with("exp", nil), t0, nil, verify.ErrInvalid},
		{"inside the leeway after exp", "at+jwt", f.claims(), exp.Add(verify.DefaultLeeway - time.Second), nil, nil},
		{"at exp plus leeway", "at+jwt", f.claims(), exp.Add(verify.DefaultLeeway), nil, verify.ErrExpired},
		{"long expired", "at+jwt", f.claims(), exp.Add(time.Hour), nil, verify.ErrExpired},
		{"at exp without leeway", "at+jwt", f.claims(), exp, []verify.Option{verify.WithLeeway(0)}, verify.ErrExpired},
		{"expired and wrong audience", "at+jwt", with("aud", "x"), exp.Add(time.Hour), nil, verify.ErrInvalid},
		{"nbf inside the leeway", "at+jwt", with("nbf", t0.Add(verify.DefaultLeeway).Unix()), t0, nil, nil},
		{"nbf beyond the leeway", "at+jwt", with("nbf", t0.Add(verify.DefaultLeeway+time.Second).Unix()), t0, nil, verify.ErrInvalid},
		// A node whose clock runs a little ahead signs a little ahead.
		{"iat a minute ahead", "at+jwt", with("iat", t0.Add(time.Minute).Unix()), t0, nil, nil},
		{"iat beyond a minute ahead", "at+jwt", with("iat", t0.Add(time.Minute+time.Second).Unix()), t0, nil, verify.ErrInvalid},
		{"iat next year", "at+jwt", with("iat", t0.AddDate(1, 0, 0).Unix()), t0, nil, verify.ErrInvalid},
		{"iat ahead within a larger leeway", "at+jwt", with("iat", t0.Add(5*time.Minute).Unix()), t0, []verify.Option{verify.WithLeeway(5 * time.Minute)}, nil},
		{"no iat", "at+jwt", with("iat", nil), t0, nil, verify.ErrInvalid},
		// A leaked key mints tokens longer than the issuer ever signs.
		{"lifetime of the default maximum", "at+jwt", with("iat", exp.Add(-verify.DefaultMaxTokenLifetime).Unix()), t0, nil, nil},
		{"lifetime a year long", "at+jwt", with("exp", t0.AddDate(1, 0, 0).Unix()), t0, nil, verify.ErrInvalid},
		{"lifetime beyond the default maximum", "at+jwt", with("iat", exp.Add(-verify.DefaultMaxTokenLifetime-2*time.Second).Unix()), t0, nil, verify.ErrInvalid},
		{"lifetime beyond WithMaxTokenLifetime", "at+jwt", f.claims(), t0, []verify.Option{verify.WithMaxTokenLifetime(5 * time.Minute)}, verify.ErrInvalid},
		{"lifetime within WithMaxTokenLifetime", "at+jwt", f.claims(), t0, []verify.Option{verify.WithMaxTokenLifetime(10 * time.Minute)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := f.verifier(t, tt.at, tt.opts...)
			c, err := v.Verify(context.Background(), f.token(t, tt.typ, tt.c))
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.want == nil:
				if c.Subject != "user-1" || c.SessionID != "sess-1" || c.Email != "a@example.com" || c.AAL != "aal1" ||
					len(c.AMR) != 1 || c.AMR[0] != "pwd" || c.ID != "tok-1" || !c.Expiry.Equal(exp) || c.KeyID != f.kid {
					t.Errorf("claims %+v", c)
				}
			case !errors.Is(err, tt.want) || c != nil:
				t.Errorf("Verify = %v, %v; want %v", c, err, tt.want)
			case tt.want == verify.ErrInvalid && errors.Is(err, verify.ErrExpired):
				t.Errorf("error %v also matches ErrExpired", err)
			}
		})
	}
}

// TestJWKSKeys: only keys that declare an asymmetric alg fitting their type
// verify, and only with that alg.
func TestJWKSKeys(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t)
	pub := f.priv.Public()
	secret := []byte(strings.Repeat("k", 32))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.setJWKS(
		jose.JSONWebKey{Key: rsaKey.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: pub, KeyID: "good", Algorithm: "EdDSA", Use: "sig"},
		jose.JSONWebKey{Key: pub, KeyID: "no-alg"},
		jose.JSONWebKey{Key: pub, KeyID: "wrong-alg", Algorithm: "ES256"},
		jose.JSONWebKey{Key: pub, KeyID: "enc", Algorithm: "EdDSA", Use: "enc"},
		jose.JSONWebKey{Key: secret, KeyID: "hmac", Algorithm: "HS256"},
	)
	v := f.verifier(t, t0)
	payload, _ := json.Marshal(f.claims())
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"declared EdDSA key", sign(t, jose.EdDSA, f.priv, "good", "at+jwt", payload), true},
		{"key without alg", sign(t, jose.EdDSA, f.priv, "no-alg", "at+jwt", payload), false},
		{"key declared for another alg", sign(t, jose.EdDSA, f.priv, "wrong-alg", "at+jwt", payload), false},
		{"encryption key", sign(t, jose.EdDSA, f.priv, "enc", "at+jwt", payload), false},
		{"HMAC key in the JWKS", sign(t, jose.HS256, secret, "hmac", "at+jwt", payload), false},
		{"declared RS256 key", sign(t, jose.RS256, rsaKey, "rsa", "at+jwt", payload), true},
		// go-jose alone would verify PS256 with the same RSA key.
		{"RS256 key used for PS256", sign(t, jose.PS256, rsaKey, "rsa", "at+jwt", payload), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.tok)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, verify.ErrInvalid)) {
				t.Errorf("Verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestNew: what New refuses.
func TestNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFakeIssuer(t)
	if _, err := verify.New(ctx, f.url+"/"); err != nil {
		t.Errorf("trailing slash: %v", err)
	}
	for _, bad := range []string{"", "auth.example.com", "ftp://auth.example.com", "https://", "https://user@auth.example.com", "https://auth.example.com?x=1"} {
		if _, err := verify.New(ctx, bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	for _, tt := range []struct {
		name string
		opt  verify.Option
	}{
		{"empty audience", verify.WithAudience("")},
		{"negative leeway", verify.WithLeeway(-time.Second)},
		{"zero lifetime", verify.WithMaxTokenLifetime(0)},
		{"negative lifetime", verify.WithMaxTokenLifetime(-time.Minute)},
		{"zero revocation interval", verify.WithRevocationCheck(0)},
		{"nil client", verify.WithHTTPClient(nil)},
		{"nil clock", verify.WithClock(nil)},
	} {
		if _, err := verify.New(ctx, f.url, tt.opt); err == nil {
			t.Errorf("%s accepted", tt.name)
		}
	}

	g := newFakeIssuer(t)
	g.setDiscovery(map[string]any{"issuer": "https://other.example.com", "jwks_uri": g.url + "/.well-known/jwks.json"})
	if _, err := verify.New(ctx, g.url); err == nil || !strings.Contains(err.Error(), "names issuer") {
		t.Errorf("discovery naming another issuer: %v", err)
	}
	g.setDiscovery(map[string]any{"issuer": g.url, "jwks_uri": "ftp://keys.example.com/jwks"})
	if _, err := verify.New(ctx, g.url); err == nil {
		t.Error("jwks_uri on ftp accepted")
	}
	g.setDiscovery(map[string]any{"issuer": g.url, "jwks_uri": g.url + "/.well-known/jwks.json"})
	g.setJWKS()
	if _, err := verify.New(ctx, g.url); err == nil {
		t.Error("a JWKS without keys accepted")
	}
	huge := `{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	g.jwks.Store(&huge)
	if _, err := verify.New(ctx, g.url); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a 2 MiB JWKS: %v", err)
	}
	if _, err := verify.New(ctx, "http://127.0.0.1:1"); !errors.Is(err, verify.ErrUnavailable) {
		t.Errorf("no issuer there: %v, want ErrUnavailable", err)
	}
}

// staticVerifier returns a Verifier over the fake issuer's key without HTTP.
func staticVerifier(tb testing.TB, f *fakeIssuer, now time.Time) *verify.Verifier {
	tb.Helper()
	v, err := verify.NewWithKeys(f.url, staticKeys{f.kid: {ID: f.kid, Algorithm: "EdDSA", Public: f.priv.Public()}},
		verify.WithClock(func() time.Time { return now }))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// FuzzVerify feeds Verify arbitrary strings: it must never panic, and must
// accept (or call expired) only the exact strings the test signed.
func FuzzVerify(f *testing.F) {
	fi := &fakeIssuer{url: "https://auth.example.com", kid: "key-1"}
	seed := sha256.Sum256([]byte("verify fake issuer key"))
	fi.priv = ed25519.NewKeyFromSeed(seed[:])
	signed := map[string]bool{}
	for _, c := range []map[string]any{
		fi.claims(),
		{"iss": fi.url, "aud": fi.url, "sub": "u", "exp": t0.Add(time.Minute).Unix()},
		{"iss": fi.url, "aud": fi.url, "sub": "u", "exp": t0.Add(-time.Hour).Unix()},
	} {
		b, _ := json.Marshal(c)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: fi.priv, KeyID: fi.kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			f.Fatal(err)
		}
		jws, err := signer.Sign(b)
		if err != nil {
			f.Fatal(err)
		}
		tok, _ := jws.CompactSerialize()
		signed[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)/2])
		f.Add(tok + "=")
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJIUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiYXQrand0In0.e30.c2ln")
	v := staticVerifier(f, fi, t0)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		switch {
		case err == nil:
			if !signed[tok] || c == nil || c.Subject == "" {
				t.Fatalf("Verify(%q) accepted a string the test did not sign: %+v", tok, c)
			}
		case errors.Is(err, verify.ErrExpired):
			if !signed[tok] {
				t.Fatalf("Verify(%q) called a string the test did not sign expired", tok)
			}
		case !errors.Is(err, verify.ErrInvalid) || c != nil:
			t.Fatalf("Verify(%q) = %v, %v; want ErrInvalid", tok, c, err)
		}
	})
}
