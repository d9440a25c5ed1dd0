package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/verify"
)

// TestVerifyGoodToken: a token Gatehouse signed verifies, and its claims
// are the ones the issuer's own check endpoint reports.
func TestVerifyGoodToken(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	id := is.signUp("good@example.com")
	tok := is.signIn("good@example.com")
	v := is.verifier()

	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	var check struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	if st := is.call("GET", "/v1/check", tok, nil, &check); st != http.StatusOK {
		t.Fatalf("check: %d", st)
	}
	now := is.Clock.Now()
	if c.Subject != id || c.Email != "good@example.com" || c.SessionID != check.Session.ID || c.AAL != "aal1" ||
		!slices.Contains(c.AMR, "pwd") || c.ID == "" || c.KeyID != header(t, tok)["kid"] ||
		c.IssuedAt.After(now) || !c.Expiry.After(now) || c.Expiry.Sub(now) > 15*time.Minute {
		t.Errorf("claims %+v (user %s, session %s, now %s)", c, id, check.Session.ID, now)
	}
	if is.checkHits.Load() != 1 {
		t.Errorf("Verify without WithRevocationCheck asked /v1/check")
	}
}

// TestRotationWithoutRestart rotates the issuer's signing key from a second
// process on the same database, as `gatehouse keys rotate` does: the
// verifier, never restarted, accepts tokens of the new key and keeps
// accepting the old key's tokens until they expire.
func TestRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is, oldTok := newUser(t, "rot@example.com")
	v := is.verifier()
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("before rotation: %v", err)
	}

	newKid, err := is.Reopen(t).Keys().Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The serving node signs with the new key from its next reload.
	is.Clock.Advance(2 * time.Minute)
	newTok := is.signIn("rot@example.com")
	if got := header(t, newTok)["kid"]; got != newKid || got == header(t, oldTok)["kid"] {
		t.Fatalf("token after rotation has kid %v, want the new %s", got, newKid)
	}
	hits := is.jwksHits.Load()
	for _, tok := range []string{newTok, oldTok, newTok} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
	if got := is.jwksHits.Load() - hits; got != 1 {
		t.Errorf("the new kid fetched the JWKS %d times, want 1", got)
	}

	// The old token lives out its 15 minutes (and the leeway), no longer.
	is.Clock.Advance(13*time.Minute + verify.DefaultLeeway - time.Second)
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Errorf("old token just before its end: %v", err)
	}
	is.Clock.Advance(2 * time.Second)
	if _, err := v.Verify(ctx, oldTok); !errors.Is(err, verify.ErrExpired) {
		t.Errorf("old token after its end: %v, want ErrExpired", err)
	}
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Errorf("new token: %v", err)
	}
}

// TestOtherIssuer: a token of another Gatehouse is refused, even when its
// key becomes known.
func TestOtherIssuer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newIssuer(t), newIssuer(t)
	b.signUp("other@example.com")
	tok := b.signIn("other@example.com")
	if _, err := b.verifier().Verify(ctx, tok); err != nil {
		t.Fatalf("its own issuer refuses it: %v", err)
	}
	if _, err := a.verifier().Verify(ctx, tok); !errors.Is(err, verify.ErrInvalid) {
		t.Errorf("another issuer's token: %v, want ErrInvalid", err)
	}
	// Same keys, other names: a verifier for a's URL fed b's keys by a
	// static key set still wants a's iss.
	keys := fetchKeys(t, b.URL)
	v, err := verify.NewWithKeys(a.URL, keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrInvalid) || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("b's token checked for a's issuer with b's keys: %v, want ErrInvalid (issuer)", err)
	}
	// And a different audience.
	v, err = verify.NewWithKeys(b.URL, keys, verify.WithAudience("https://api.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrInvalid) || !strings.Contains(err.Error(), "audience") {
		t.Errorf("token for another audience: %v, want ErrInvalid (audience)", err)
	}
}

// staticKeys is a fixed KeySet.
type staticKeys map[string]verify.Key

func (s staticKeys) Key(_ context.Context, kid string, _ time.Time) (verify.Key, error) {
	k, ok := s[kid]
	if !ok {
		return verify.Key{}, fmt.Errorf("%w: unknown kid", verify.ErrInvalid)
	}
	return k, nil
}

// fetchKeys reads an issuer's JWKS into a static key set.
func fetchKeys(t *testing.T, issuerURL string) staticKeys {
	t.Helper()
	set := jwks(t, issuerURL)
	keys := staticKeys{}
	for _, k := range set.Keys {
		keys[k.KeyID] = verify.Key{ID: k.KeyID, Algorithm: k.Algorithm, Public: k.Key}
	}
	return keys
}

func jwks(t *testing.T, issuerURL string) jose.JSONWebKeySet {
	t.Helper()
	res, err := http.Get(issuerURL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestAlgorithmConfusion forges tokens the classic ways, with the claims of
// a real token and the kid of the issuer's real key.
func TestAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is, good := newUser(t, "alg@example.com")
	parts := strings.Split(good, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	set := jwks(t, is.URL)
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "EdDSA" {
		t.Fatalf("JWKS %+v", set.Keys)
	}
	kid := set.Keys[0].KeyID
	pub := set.Keys[0].Key.(ed25519.PublicKey)
	pubJWK, _ := json.Marshal(set.Keys[0])
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ownEd, _ := ed25519.GenerateKey(nil)

	tests := []struct {
		name string
		tok  string
	}{
		{"HS256 keyed with the public key", sign(t, jose.HS256, []byte(pub), kid, "at+jwt", payload)},
		{"HS256 keyed with the JWK", sign(t, jose.HS256, pubJWK, kid, "at+jwt", payload)},
		{"HS512 keyed with the public key", sign(t, jose.HS512, append([]byte(pub), pub...), kid, "at+jwt", payload)},
		{"alg none", unsigned(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, payload)},
		{"alg none, real signature kept", unsigned(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, payload) + parts[2]},
		{"alg None", unsigned(map[string]any{"alg": "None", "kid": kid, "typ": "at+jwt"}, payload)},
		{"RS256 naming the real kid", sign(t, jose.RS256, rsaKey, kid, "at+jwt", payload)},
		{"RS256 with a kid not in the JWKS", sign(t, jose.RS256, rsaKey, "rsa-1", "at+jwt", payload)},
		{"ES256 naming the real kid", sign(t, jose.ES256, ecKey, kid, "at+jwt", payload)},
		{"EdDSA with another key, real kid", sign(t, jose.EdDSA, ownEd, kid, "at+jwt", payload)},
		{"real header, forged signature", parts[0] + "." + parts[1] + "." + strings.Split(sign(t, jose.EdDSA, ownEd, kid, "at+jwt", payload), ".")[2]},
		{"no kid", sign(t, jose.EdDSA, ownEd, "", "at+jwt", payload)},
	}
	v := is.verifier()
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatalf("the real token: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(ctx, tt.tok)
			if !errors.Is(err, verify.ErrInvalid) || c != nil {
				t.Errorf("Verify = %+v, %v; want ErrInvalid", c, err)
			}
		})
	}
}

// sign makes a JWS over payload with the given alg, key, kid and typ
// (empty: no such header).
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid, typ string, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	var k any = key
	if kid != "" {
		k = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func unsigned(h map[string]any, payload []byte) string {
	hb, _ := json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}

// TestUnknownKidRefetch: tokens naming kids the JWKS does not have fetch
// it once per 30 s however many arrive, and never for a known kid.
func TestUnknownKidRefetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is, good := newUser(t, "kid@example.com")
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(good, ".")[1])
	_, own, _ := ed25519.GenerateKey(nil)
	forged := func(i int) string { return sign(t, jose.EdDSA, own, fmt.Sprintf("made-up-%d", i), "at+jwt", payload) }
	v := is.verifier()
	if n := is.jwksHits.Load(); n != 1 {
		t.Fatalf("New fetched the JWKS %d times, want 1", n)
	}

	burst := func(from int) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if _, err := v.Verify(ctx, forged(from+i)); !errors.Is(err, verify.ErrInvalid) {
					t.Errorf("made-up kid: %v, want ErrInvalid", err)
				}
			})
		}
		wg.Wait()
	}
	steps := []struct {
		name    string
		advance time.Duration
		run     func()
		want    int64 // JWKS fetches after the step, in all
	}{
		{"known kid", 0, func() { _, _ = v.Verify(ctx, good) }, 1},
		{"a burst of unknown kids", time.Second, func() { burst(0) }, 2},
		{"more unknown kids within 30 s", 30*time.Second - time.Millisecond, func() { burst(100) }, 2},
		{"30 s after the last fetch", time.Millisecond, func() { burst(200) }, 3},
		{"known kid again", time.Second, func() { _, _ = v.Verify(ctx, good) }, 3},
	}
	for _, st := range steps {
		is.Clock.Advance(st.advance)
		st.run()
		if got := is.jwksHits.Load(); got != st.want {
			t.Errorf("%s: %d JWKS fetches in all, want %d", st.name, got, st.want)
		}
	}
	if _, err := v.Verify(ctx, good); err != nil {
		t.Errorf("the real token after the bursts: %v", err)
	}
}

// TestFetchFailureKeepsKeys: a JWKS that cannot be fetched leaves the keys
// already known in place.
func TestFetchFailureKeepsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is, tok := newUser(t, "down@example.com")
	v := is.verifier()
	is.jwksDown.Store(true)
	_, own, _ := ed25519.GenerateKey(nil)
	if _, err := v.Verify(ctx, sign(t, jose.EdDSA, own, "unknown", "at+jwt", []byte(`{}`))); !errors.Is(err, verify.ErrInvalid) {
		t.Errorf("unknown kid while the JWKS is down: %v", err)
	}
	is.Clock.Advance(6 * time.Minute) // past the periodic refresh, which fails too
	hits := is.jwksHits.Load()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("known key while the JWKS is down: %v", err)
	}
	if is.jwksHits.Load() != hits+1 {
		t.Errorf("the periodic refresh did not try the JWKS")
	}
	if _, err := v.Verify(ctx, tok); err != nil || is.jwksHits.Load() != hits+1 {
		t.Errorf("a failed refresh is retried at once (%d fetches) or poisons the keys: %v", is.jwksHits.Load()-hits, err)
	}
}

// TestRevocationCheck: with WithRevocationCheck a logged-out session is
// refused within the interval, and /v1/check hears about a token at most
// once per interval.
func TestRevocationCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is, tok := newUser(t, "rev@example.com")
	other := is.signIn("rev@example.com")
	v := is.verifier(verify.WithRevocationCheck(time.Minute))
	plain := is.verifier()

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Errorf("live session: %v", err)
			}
		})
	}
	wg.Wait()
	if n := is.checkHits.Load(); n != 1 {
		t.Errorf("10 concurrent checks of one token asked /v1/check %d times, want 1", n)
	}

	is.logout(tok)
	is.Clock.Advance(time.Minute - time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("inside the interval the last answer holds: %v", err)
	}
	if n := is.checkHits.Load(); n != 1 {
		t.Errorf("/v1/check asked %d times inside the interval, want 1", n)
	}
	is.Clock.Advance(time.Second)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrRevoked) {
		t.Errorf("logged out, after the interval: %v, want ErrRevoked", err)
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrRevoked) || is.checkHits.Load() != 2 {
		t.Errorf("the refusal is remembered too: %v, %d checks", err, is.checkHits.Load())
	}
	if _, err := plain.Verify(ctx, tok); err != nil {
		t.Errorf("without the check a revoked token is good until it expires: %v", err)
	}
	if _, err := v.Verify(ctx, other); err != nil {
		t.Errorf("the user's other session: %v", err)
	}

	// An issuer that cannot answer fails closed, and the failure is not
	// remembered.
	is.checkDown.Store(true)
	is.Clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, other); !errors.Is(err, verify.ErrUnavailable) {
		t.Errorf("check endpoint down: %v, want ErrUnavailable", err)
	}
	is.checkDown.Store(false)
	if _, err := v.Verify(ctx, other); err != nil {
		t.Errorf("check endpoint back: %v", err)
	}
}
