package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
)

// memStore is an in-memory KeyStore with auth.Store's semantics.
type memStore struct {
	mu    sync.Mutex
	keys  []auth.SigningKey
	reads int
	err   error
}

func (s *memStore) SigningKeys(context.Context) ([]auth.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.err != nil {
		return nil, s.err
	}
	out := make([]auth.SigningKey, len(s.keys))
	for i, k := range s.keys {
		out[i] = copyKey(k)
	}
	return out, nil
}

func (s *memStore) AddSigningKey(_ context.Context, k *auth.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for i := range s.keys {
		if s.keys[i].RetiredAt == nil {
			at := k.CreatedAt
			s.keys[i].RetiredAt = &at
		}
	}
	s.keys = append(s.keys, copyKey(*k))
	return nil
}

func (s *memStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *memStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func copyKey(k auth.SigningKey) auth.SigningKey {
	k.Private = bytes.Clone(k.Private)
	k.Public = bytes.Clone(k.Public)
	if k.RetiredAt != nil {
		at := *k.RetiredAt
		k.RetiredAt = &at
	}
	return k
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "https://app.example.com"
	testSecret   = "test secret, at least 16 bytes"
)

func testConfig() Config {
	return Config{Issuer: testIssuer, Audience: testAudience, AccessTTL: 15 * time.Minute, ReloadEvery: time.Minute}
}

func testBox(t testing.TB) *seal.Box {
	t.Helper()
	box, err := seal.New(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func newTestKeys(t testing.TB, store KeyStore, clock auth.Clock, cfg Config) *Keys {
	t.Helper()
	k := NewKeys(store, testBox(t), clock, cfg)
	if err := k.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return k
}

func testClaims(now time.Time) auth.AccessClaims {
	return auth.AccessClaims{
		Subject:   "user-1",
		SessionID: "sess-1",
		Email:     "ada@example.com",
		AAL:       auth.AAL2,
		AMR:       []string{auth.MethodPassword, auth.MethodTOTP},
		ID:        "jti-1",
		IssuedAt:  now,
		Expiry:    now.Add(15 * time.Minute),
	}
}

func mustSign(t testing.TB, k *Keys, c auth.AccessClaims) string {
	t.Helper()
	tok, err := k.Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

// segment decodes part i of a compact JWS as a JSON object.
func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// signingPrivate opens the private key that signs now, as an attacker who
// stole it (or a test crafting odd tokens) would.
func signingPrivate(t testing.TB, store *memStore) (string, ed25519.PrivateKey) {
	t.Helper()
	keys, err := store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sk := keys[signingIndex(keys)]
	seed, err := testBox(t).Open(purposeSigningKey, sk.Private)
	if err != nil {
		t.Fatal(err)
	}
	return sk.ID, ed25519.NewKeyFromSeed(seed)
}

// craft signs claims with any key and header, to build tokens Verify must
// refuse.
func craft(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned builds an alg "none" token by hand.
func unsigned(header, claims any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// tamper changes one character in the middle of tok's signature.
func tamper(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func goodClaims(now time.Time) accessClaims {
	return accessClaims{
		Issuer:   testIssuer,
		Subject:  "user-1",
		Audience: jwt.Audience{testAudience},
		Expiry:   jwt.NewNumericDate(now.Add(time.Minute)),
		IssuedAt: jwt.NewNumericDate(now),
		ID:       "jti",
		AMR:      []string{},
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	store, clock := &memStore{}, clocktest.New(t0)
	k := newTestKeys(t, store, clock, testConfig())
	c := testClaims(t0)
	tok := mustSign(t, k, c)

	got, err := k.Verify(context.Background(), tok, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !reflect.DeepEqual(*got, c) {
		t.Errorf("claims = %+v, want %+v", *got, c)
	}

	kid, _ := signingPrivate(t, store)
	wantHeader := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}
	if h := segment(t, tok, 0); !reflect.DeepEqual(h, wantHeader) {
		t.Errorf("header = %v, want %v", h, wantHeader)
	}
	wantPayload := map[string]any{
		"iss": testIssuer, "sub": "user-1", "aud": testAudience,
		"exp": float64(t0.Add(15 * time.Minute).Unix()), "iat": float64(t0.Unix()),
		"jti": "jti-1", "sid": "sess-1", "email": "ada@example.com", "aal": "aal2",
		"amr": []any{"pwd", "totp"}, "email_verified": false, "phone_verified": false,
	}
	if p := segment(t, tok, 1); !reflect.DeepEqual(p, wantPayload) {
		t.Errorf("payload = %v, want %v", p, wantPayload)
	}
}

func TestSignValidates(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, &memStore{}, clocktest.New(t0), testConfig())
	tests := []struct {
		name   string
		change func(*auth.AccessClaims)
	}{
		{"no subject", func(c *auth.AccessClaims) { c.Subject = "" }},
		{"no expiry", func(c *auth.AccessClaims) { c.Expiry = time.Time{} }},
		{"no issued-at", func(c *auth.AccessClaims) { c.IssuedAt = time.Time{} }},
		{"expiry before issued-at", func(c *auth.AccessClaims) { c.Expiry = c.IssuedAt.Add(-time.Second) }},
		{"longer than AccessTTL", func(c *auth.AccessClaims) { c.Expiry = c.IssuedAt.Add(15*time.Minute + time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testClaims(t0)
			tt.change(&c)
			if _, err := k.Sign(context.Background(), c); err == nil {
				t.Error("Sign succeeded")
			}
		})
	}
	// Sign before Load has nothing to sign with.
	if _, err := NewKeys(&memStore{}, testBox(t), clocktest.New(t0), Config{}).Sign(context.Background(), testClaims(t0)); err == nil {
		t.Error("Sign with empty config and no keys succeeded")
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	store, clock := &memStore{}, clocktest.New(t0)
	k := newTestKeys(t, store, clock, testConfig())
	kid, priv := signingPrivate(t, store)
	pub := priv.Public().(ed25519.PublicKey)
	good := mustSign(t, k, testClaims(t0))
	parts := strings.Split(good, ".")
	now := t0.Add(time.Minute)

	otherAud := testConfig()
	otherAud.Audience = "https://other.example.com"
	otherIss := testConfig()
	otherIss.Issuer = "https://evil.example.com"
	// Same store, so same key: only the claims differ.
	tokOtherAud := mustSign(t, newTestKeys(t, store, clock, otherAud), testClaims(t0))
	tokOtherIss := mustSign(t, newTestKeys(t, store, clock, otherIss), testClaims(t0))
	// A different store: a key we never saw.
	tokOtherKey := mustSign(t, newTestKeys(t, &memStore{}, clock, testConfig()), testClaims(t0))

	expired := testClaims(t0.Add(-time.Hour))
	expiredOtherAud := mustSign(t, newTestKeys(t, store, clock, otherAud), expired)

	payload := segment(t, good, 1)
	payload["sub"] = "admin"
	tamperedPayload, _ := json.Marshal(payload)

	noExp := goodClaims(now)
	noExp.Expiry = nil
	noSub := goodClaims(now)
	noSub.Subject = ""
	notYet := goodClaims(now)
	notYet.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
	// With the signing key stolen: tokens longer than AccessTTL, or issued
	// in the future, were never signed by us.
	yearLong := goodClaims(now)
	yearLong.Expiry = jwt.NewNumericDate(now.AddDate(1, 0, 0))
	justTooLong := goodClaims(now)
	justTooLong.Expiry = jwt.NewNumericDate(now.Add(testConfig().AccessTTL + 2*time.Second))
	futureIAT := goodClaims(now)
	futureIAT.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute + time.Second))
	noIAT := goodClaims(now)
	noIAT.IssuedAt = nil
	audList := goodClaims(now)
	audList.Audience = jwt.Audience{"https://other.example.com", "https://third.example.com"}

	flipLast := func(s string) string {
		b := []byte(s)
		if b[len(b)-1] == 'A' {
			b[len(b)-1] = 'B'
		} else {
			b[len(b)-1] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"expired", mustSign(t, k, expired), ErrExpired},
		{"expired and wrong audience", expiredOtherAud, ErrInvalid},
		{"wrong audience", tokOtherAud, ErrInvalid},
		{"audience list without ours", craft(t, jose.EdDSA, priv, kid, "at+jwt", audList), ErrInvalid},
		{"wrong issuer", tokOtherIss, ErrInvalid},
		{"unknown kid", tokOtherKey, ErrInvalid},
		{"kid of another key", parts[0] + "." + strings.Join(strings.Split(tokOtherKey, ".")[1:], "."), ErrInvalid},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2], ErrInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipLast(parts[2][:len(parts[2])-2]) + parts[2][len(parts[2])-2:], ErrInvalid},
		{"signature from another token", parts[0] + "." + parts[1] + "." + strings.Split(tokOtherAud, ".")[2], ErrInvalid},
		{"no signature", parts[0] + "." + parts[1] + ".", ErrInvalid},
		{"alg none", unsigned(map[string]string{"alg": "none", "kid": kid, "typ": "at+jwt"}, goodClaims(now)), ErrInvalid},
		{"alg none, good signature kept", unsigned(map[string]string{"alg": "none", "kid": kid, "typ": "at+jwt"}, goodClaims(now)) + parts[2], ErrInvalid},
		{"HS256 with public key as secret", craft(t, jose.HS256, []byte(pub), kid, "at+jwt", goodClaims(now)), ErrInvalid},
		{"HS256 with a random secret", craft(t, jose.HS256, bytes.Repeat([]byte{7}, 32), kid, "at+jwt", goodClaims(now)), ErrInvalid},
		{"typ JWT", craft(t, jose.EdDSA, priv, kid, "JWT", goodClaims(now)), ErrInvalid},
		{"no typ", craft(t, jose.EdDSA, priv, kid, "", goodClaims(now)), ErrInvalid},
		{"no exp", craft(t, jose.EdDSA, priv, kid, "at+jwt", noExp), ErrInvalid},
		{"no sub", craft(t, jose.EdDSA, priv, kid, "at+jwt", noSub), ErrInvalid},
		{"nbf in the future", craft(t, jose.EdDSA, priv, kid, "at+jwt", notYet), ErrInvalid},
		{"stolen key, a year long", craft(t, jose.EdDSA, priv, kid, "at+jwt", yearLong), ErrInvalid},
		{"stolen key, longer than AccessTTL", craft(t, jose.EdDSA, priv, kid, "at+jwt", justTooLong), ErrInvalid},
		{"stolen key, issued in the future", craft(t, jose.EdDSA, priv, kid, "at+jwt", futureIAT), ErrInvalid},
		{"no iat", craft(t, jose.EdDSA, priv, kid, "at+jwt", noIAT), ErrInvalid},
		{"non-canonical base64", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + string(parts[2][len(parts[2])-1]+1), ErrInvalid},
		{"trailing newline", good + "\n", ErrInvalid},
		{"leading space", " " + good, ErrInvalid},
		{"newline inside", parts[0] + "." + parts[1][:10] + "\n" + parts[1][10:] + "." + parts[2], ErrInvalid},
		{"padding", good + "==", ErrInvalid},
		{"four parts", good + ".abcd", ErrInvalid},
		{"two parts", parts[0] + "." + parts[1], ErrInvalid},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrInvalid},
		{"empty", "", ErrInvalid},
		{"dots", "..", ErrInvalid},
		{"garbage", "not a token", ErrInvalid},
		{"huge", strings.Repeat("a", maxTokenLen) + "." + parts[1] + "." + parts[2], ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := k.Verify(context.Background(), tt.tok, now)
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("Verify = %v, %v; want nil, %v", c, err, tt.want)
			}
			if tt.want == ErrInvalid && (errors.Is(err, ErrExpired) || errors.Is(err, auth.ErrTokenExpired)) {
				t.Fatalf("error %v matches ErrExpired too", err)
			}
			if tt.want == ErrExpired && !errors.Is(err, auth.ErrTokenExpired) {
				t.Fatalf("error %v does not match auth.ErrTokenExpired", err)
			}
		})
	}
	if _, err := k.Verify(context.Background(), good, now); err != nil {
		t.Fatalf("the untampered token no longer verifies: %v", err)
	}
}

func TestVerifyExpiryBoundary(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, &memStore{}, clocktest.New(t0), testConfig())
	c := testClaims(t0)
	c.Expiry = t0.Add(10*time.Minute + 700*time.Millisecond) // exp is truncated to ...:00
	exp := t0.Add(10 * time.Minute)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"long before", t0, nil},
		{"1ns before exp", exp.Add(-time.Nanosecond), nil},
		{"at exp", exp, ErrExpired},
		{"at caller's expiry", c.Expiry, ErrExpired},
		{"long after", exp.Add(time.Hour), ErrExpired},
	}
	for _, cached := range []bool{false, true} {
		tok := mustSign(t, k, c)
		if cached {
			if _, err := k.Verify(context.Background(), tok, t0); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tests {
			if !cached {
				tok = mustSign(t, k, c)
				c.ID += "x" // a new string each time: never cached
			}
			_, err := k.Verify(context.Background(), tok, tt.now)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("cached %v, %s: Verify error %v, want %v", cached, tt.name, err, tt.want)
			}
		}
	}
}

func TestCachedVerify(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, &memStore{}, clocktest.New(t0), testConfig())
	c := testClaims(t0)
	tok := mustSign(t, k, c)
	ctx := context.Background()

	first, err := k.Verify(ctx, tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if n := k.cache.len(); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
	first.AMR[0] = "changed by caller"
	first.Subject = "changed by caller"

	second, err := k.Verify(ctx, tok, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*second, c) {
		t.Errorf("cached claims = %+v, want %+v (a caller's change leaked into the cache?)", *second, c)
	}
	if _, err := k.Verify(ctx, tok, c.Expiry); !errors.Is(err, ErrExpired) {
		t.Errorf("cached token at expiry: %v, want ErrExpired", err)
	}
	if _, err := k.Verify(ctx, tok, t0.Add(time.Minute)); err != nil {
		t.Errorf("cached token before expiry again: %v", err)
	}
	// A failed verification is never cached.
	bad := tamper(tok)
	for range 2 {
		if _, err := k.Verify(ctx, bad, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("tampered token: %v, want ErrInvalid", err)
		}
	}
	if n := k.cache.len(); n != 1 {
		t.Errorf("cache holds %d entries, want 1", n)
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := &memStore{}, clocktest.New(t0)
	cfg := testConfig()
	k := newTestKeys(t, store, clock, cfg)
	oldKid, _ := signingPrivate(t, store)
	oldTok := mustSign(t, k, testClaims(t0))

	clock.Advance(time.Minute)
	retiredAt := clock.Now()
	newKid, err := k.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid {
		t.Fatal("Rotate kept the kid")
	}
	newTok := mustSign(t, k, testClaims(clock.Now()))
	if got := segment(t, newTok, 0)["kid"]; got != newKid {
		t.Errorf("new token kid = %v, want %s", got, newKid)
	}
	for _, tok := range []string{oldTok, newTok} {
		if _, err := k.Verify(ctx, tok, clock.Now()); err != nil {
			t.Errorf("Verify after rotation: %v", err)
		}
	}

	grace := cfg.AccessTTL + cfg.ReloadEvery
	tests := []struct {
		at   time.Time
		want []string
	}{
		{retiredAt, []string{newKid, oldKid}},
		{retiredAt.Add(grace - time.Second), []string{newKid, oldKid}},
		{retiredAt.Add(grace), []string{newKid}},
		{retiredAt.Add(24 * time.Hour), []string{newKid}},
		{retiredAt, []string{newKid, oldKid}}, // the cached bytes follow now both ways
	}
	for _, tt := range tests {
		if got := jwksKids(t, k.JWKS(tt.at)); !slices.Equal(got, tt.want) {
			t.Errorf("JWKS at retirement%+v = %v, want %v", tt.at.Sub(retiredAt), got, tt.want)
		}
	}

	// A token of the old key that outlives the key's trust dies with it.
	// (One longer than AccessTTL would be refused for that alone.)
	iat := retiredAt.Add(grace - time.Minute)
	longTok := craft(t, jose.EdDSA, mustPrivate(t, store, oldKid), oldKid, "at+jwt", accessClaims{
		Issuer: testIssuer, Subject: "u", Audience: jwt.Audience{testAudience},
		Expiry: jwt.NewNumericDate(iat.Add(cfg.AccessTTL)), IssuedAt: jwt.NewNumericDate(iat),
	})
	if _, err := k.Verify(ctx, longTok, retiredAt.Add(grace-time.Second)); err != nil {
		t.Errorf("old key inside its grace: %v", err)
	}
	if _, err := k.Verify(ctx, longTok, retiredAt.Add(grace)); !errors.Is(err, ErrInvalid) {
		t.Errorf("old key after its grace (cached): %v, want ErrInvalid", err)
	}
	k.cache.reset()
	if _, err := k.Verify(ctx, longTok, retiredAt.Add(grace)); !errors.Is(err, ErrInvalid) {
		t.Errorf("old key after its grace: %v, want ErrInvalid", err)
	}

	infos, err := k.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].ID != oldKid || infos[1].ID != newKid ||
		infos[0].Signing || !infos[1].Signing || !infos[0].InJWKS || !infos[1].InJWKS ||
		infos[0].RetiredAt == nil || !infos[0].RetiredAt.Equal(retiredAt) || infos[1].RetiredAt != nil {
		t.Errorf("List = %+v", infos)
	}
	clock.Advance(grace)
	infos, err = k.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].InJWKS || !infos[1].InJWKS {
		t.Errorf("List after grace = %+v, want only the new key in the JWKS", infos)
	}
}

func mustPrivate(t testing.TB, store *memStore, kid string) ed25519.PrivateKey {
	t.Helper()
	keys, _ := store.SigningKeys(context.Background())
	for _, sk := range keys {
		if sk.ID == kid {
			seed, err := testBox(t).Open(purposeSigningKey, sk.Private)
			if err != nil {
				t.Fatal(err)
			}
			return ed25519.NewKeyFromSeed(seed)
		}
	}
	t.Fatalf("no key %s", kid)
	return nil
}

func jwksKids(t testing.TB, body []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Algorithm != "EdDSA" || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("JWKS key %+v: want a public EdDSA signing key", k)
		}
		if _, ok := k.Key.(ed25519.PublicKey); !ok {
			t.Errorf("JWKS key is %T", k.Key)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

// TestJWKSVerifiesTokens checks what another service does: verify a token
// with the published key set alone, and recompute the kid (RFC 7638).
func TestJWKSVerifiesTokens(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, &memStore{}, clocktest.New(t0), testConfig())
	tok := mustSign(t, k, testClaims(t0))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(k.JWKS(t0), &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var cl jwt.Claims
	if err := parsed.Claims(&set, &cl); err != nil {
		t.Fatalf("verify with JWKS: %v", err)
	}
	if err := cl.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{testAudience}, Time: t0}, 0); err != nil {
		t.Error(err)
	}
	tp, err := set.Keys[0].Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if kid := base64.RawURLEncoding.EncodeToString(tp); kid != set.Keys[0].KeyID {
		t.Errorf("kid %s is not the RFC 7638 thumbprint %s", set.Keys[0].KeyID, kid)
	}
	// Callers may keep (and scribble on) what JWKS returns.
	b := k.JWKS(t0)
	clear(b)
	if !json.Valid(k.JWKS(t0)) {
		t.Error("changing the answer of JWKS changed the cache")
	}
	if got := string(NewKeys(&memStore{}, testBox(t), nil, testConfig()).JWKS(t0)); got != `{"keys":[]}` {
		t.Errorf("JWKS before Load = %s", got)
	}
}

func TestSecondNodePicksUpRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := &memStore{}, clocktest.New(t0)
	a := newTestKeys(t, store, clock, testConfig())
	b := newTestKeys(t, store, clock, testConfig())
	if kidA, kidB := segment(t, mustSign(t, a, testClaims(t0)), 0)["kid"], segment(t, mustSign(t, b, testClaims(t0)), 0)["kid"]; kidA != kidB {
		t.Fatalf("two nodes on one store sign with %v and %v", kidA, kidB)
	}

	newKid, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok := mustSign(t, a, testClaims(t0))
	reads := store.readCount()
	if _, err := b.Verify(ctx, tok, t0); err != nil {
		t.Fatalf("node b, token with the new kid: %v", err)
	}
	if got := store.readCount() - reads; got != 1 {
		t.Errorf("unknown kid caused %d store reads, want 1", got)
	}
	// b signs with the new key only once it reloads (ReloadEvery).
	if kid := segment(t, mustSign(t, b, testClaims(t0)), 0)["kid"]; kid != newKid {
		t.Errorf("node b signs with %v after reloading for the kid, want %s", kid, newKid)
	}

	// Tokens with made-up kids reload at most once per interval.
	stranger := newTestKeys(t, &memStore{}, clock, testConfig())
	reads = store.readCount()
	for range 50 {
		c := testClaims(t0)
		c.ID = strings.Repeat("j", 1+len(c.ID))
		if _, err := b.Verify(ctx, mustSign(t, stranger, c), t0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("stranger's token: %v", err)
		}
	}
	if got := store.readCount() - reads; got > 1 {
		t.Errorf("50 unknown kids within %v caused %d store reads, want at most 1", kidReloadInterval, got)
	}
}

func TestPeriodicReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := &memStore{}, clocktest.New(t0)
	cfg := testConfig()
	a := newTestKeys(t, store, clock, cfg)
	b := newTestKeys(t, store, clock, cfg)
	newKid, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kid := segment(t, mustSign(t, b, testClaims(t0)), 0)["kid"]; kid == newKid {
		t.Fatal("node b picked up the rotation before ReloadEvery")
	}
	clock.Advance(cfg.ReloadEvery)
	if kid := segment(t, mustSign(t, b, testClaims(t0)), 0)["kid"]; kid != newKid {
		t.Errorf("node b signs with %v after ReloadEvery, want %s", kid, newKid)
	}
	if got := jwksKids(t, b.JWKS(clock.Now())); len(got) != 2 || got[0] != newKid {
		t.Errorf("node b JWKS = %v, want the new key first, then the old", got)
	}

	// A store that is down keeps the current keys working.
	store.setErr(errors.New("database is down"))
	clock.Advance(cfg.ReloadEvery)
	tok := mustSign(t, b, testClaims(clock.Now()))
	if _, err := b.Verify(ctx, tok, clock.Now()); err != nil {
		t.Errorf("Verify while the store is down: %v", err)
	}
	reads := store.readCount()
	for range 10 {
		mustSign(t, b, testClaims(clock.Now()))
	}
	if got := store.readCount() - reads; got != 0 {
		t.Errorf("a failing store was read %d more times before the retry delay", got)
	}
	store.setErr(nil)
	clock.Advance(reloadRetry)
	mustSign(t, b, testClaims(clock.Now()))
	if got := store.readCount() - reads; got != 1 {
		t.Errorf("reload after the retry delay: %d reads, want 1", got)
	}
}

func TestPrivateKeysSealed(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	newTestKeys(t, store, clocktest.New(t0), testConfig())
	keys, _ := store.SigningKeys(context.Background())
	if len(keys) != 1 {
		t.Fatalf("store holds %d keys after the first Load, want 1", len(keys))
	}
	sk := keys[0]
	kid, priv := signingPrivate(t, store)
	if sk.ID != kid || sk.Algorithm != "EdDSA" || !sk.CreatedAt.Equal(t0) || sk.RetiredAt != nil {
		t.Errorf("stored key %+v", sk)
	}
	if bytes.Contains(sk.Private, priv.Seed()) || bytes.Contains(sk.Private, priv) {
		t.Error("the store holds the raw private key")
	}
	if pub, err := parsePublic(sk.Public); err != nil || !pub.Equal(priv.Public()) {
		t.Errorf("stored public half: %v", err)
	}

	tests := []struct {
		name   string
		secret string
		change func(*memStore)
	}{
		{"another secret", "another secret, 16 bytes or more", nil},
		{"private half of another key", testSecret, func(s *memStore) {
			other := &memStore{}
			newTestKeys(t, other, clocktest.New(t0), testConfig())
			s.keys[0].Private = other.keys[0].Private
		}},
		{"public half garbled", testSecret, func(s *memStore) { s.keys[0].Public = []byte("garbage") }},
		{"unknown algorithm", testSecret, func(s *memStore) { s.keys[0].Algorithm = "RS256" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &memStore{keys: []auth.SigningKey{copyKey(sk)}}
			if tt.change != nil {
				tt.change(s)
			}
			box, err := seal.New(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := NewKeys(s, box, clocktest.New(t0), testConfig()).Load(context.Background()); err == nil {
				t.Error("Load succeeded")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := clocktest.New(t0)
	store := &memStore{}
	newTestKeys(t, store, clock, testConfig())
	newTestKeys(t, store, clock, testConfig())
	if n := len(store.keys); n != 1 {
		t.Errorf("two Loads on one store made %d keys, want 1", n)
	}

	// Every key retired (say by hand): Load makes a new signer.
	at := t0
	store.keys[0].RetiredAt = &at
	k := newTestKeys(t, store, clock, testConfig())
	if n := len(store.keys); n != 2 {
		t.Errorf("Load with no unretired key: %d keys, want 2", n)
	}
	mustSign(t, k, testClaims(t0))

	tests := []struct {
		name string
		cfg  Config
		err  error
	}{
		{"no issuer", Config{Audience: testAudience}, nil},
		{"no audience", Config{Issuer: testIssuer}, nil},
		{"store down", testConfig(), errors.New("down")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &memStore{err: tt.err}
			k := NewKeys(s, testBox(t), clock, tt.cfg)
			if err := k.Load(ctx); err == nil {
				t.Error("Load succeeded")
			}
			if _, err := k.Rotate(ctx); err == nil {
				t.Error("Rotate succeeded")
			}
			if _, err := k.Verify(ctx, "a.b.c", t0); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify without keys: %v", err)
			}
		})
	}
}

func TestKeysDoNotPrintSecrets(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	k := newTestKeys(t, store, clocktest.New(t0), testConfig())
	tok := mustSign(t, k, testClaims(t0))
	if _, err := k.Verify(context.Background(), tok, t0); err != nil {
		t.Fatal(err)
	}
	_, priv := signingPrivate(t, store)
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		s := fmt.Sprintf(format, k)
		if strings.Contains(s, tok[len(tok)-20:]) || strings.Contains(s, fmt.Sprint(priv.Seed())) ||
			strings.Contains(s, fmt.Sprintf("%x", priv.Seed())) {
			t.Errorf("Sprintf(%q, keys) shows a secret: %s", format, s)
		}
	}
}

// TestConcurrentUse is for the race detector: signing, verifying (cached and
// not), rotating and serving the JWKS at once.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := &memStore{}, clocktest.New(t0)
	a := newTestKeys(t, store, clock, testConfig())
	b := newTestKeys(t, store, clock, testConfig())
	shared := mustSign(t, a, testClaims(t0))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := a
				if g%2 == 1 {
					k = b
				}
				switch i % 5 {
				case 0:
					if g == 0 {
						if _, err := a.Rotate(ctx); err != nil {
							t.Error(err)
						}
					}
					clock.Advance(time.Second)
				case 1:
					k.JWKS(clock.Now())
				case 2:
					if _, err := k.Verify(ctx, shared, t0); err != nil {
						t.Error(err)
					}
				default:
					tok := mustSign(t, k, testClaims(t0))
					if _, err := a.Verify(ctx, tok, t0); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestSignWritesWhatTheBuilderWrote: Sign marshals the claims once and
// signs them with go-jose's JWS signer; the token is, byte for byte, the
// one go-jose's jwt builder writes for the same key and claims (Ed25519
// is deterministic): header, claim order and escaping, for every claim.
func TestSignWritesWhatTheBuilderWrote(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	k := newTestKeys(t, store, clocktest.New(t0), testConfig())
	kid, priv := signingPrivate(t, store)
	builder := func(c accessClaims) string {
		return craft(t, jose.EdDSA, priv, kid, typAccess, c)
	}
	full := testClaims(t0)
	full.Email, full.Roles = "ann+<tag>&\u2028\"q\"@example.com", []string{"admin", "editor"}
	full.EmailVerified, full.PhoneVerified = true, true
	noAMR := testClaims(t0)
	noAMR.AMR, noAMR.Email, noAMR.AAL = nil, "", auth.AAL1
	for name, c := range map[string]auth.AccessClaims{"usual": testClaims(t0), "full": full, "bare": noAMR} {
		amr := c.AMR
		if amr == nil {
			amr = []string{}
		}
		want := builder(accessClaims{
			Issuer: testIssuer, Subject: c.Subject, Audience: jwt.Audience{testAudience},
			Expiry: jwt.NewNumericDate(c.Expiry), IssuedAt: jwt.NewNumericDate(c.IssuedAt), ID: c.ID,
			SessionID: c.SessionID, Email: c.Email, AAL: c.AAL, AMR: amr, Roles: c.Roles,
			EmailVerified: c.EmailVerified, PhoneVerified: c.PhoneVerified,
		})
		if got := mustSign(t, k, c); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
