package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/verify"
)

// Errors from Keys.Verify; returned errors wrap one of them (errors.Is).
var (
	// ErrExpired: the token is authentic and meant for us, but its exp is
	// not after the time of the check. Clients should refresh. It wraps
	// auth.ErrTokenExpired, which is what the flows test for.
	ErrExpired = fmt.Errorf("token: %w", auth.ErrTokenExpired)
	// ErrInvalid: anything else (malformed, bad signature, unknown or no
	// longer trusted key, wrong issuer, audience or type).
	ErrInvalid = errors.New("token: invalid")
)

const (
	algEdDSA = string(jose.EdDSA)
	// purposeSigningKey is the seal purpose of a signing key's private half.
	purposeSigningKey = "signing-key"
	// typAccess is the JWT "typ" of an access token (RFC 9068 §2.1); package
	// verify insists on it so that no other JWT we might sign one day can be
	// replayed as an access token.
	typAccess = "at+jwt"
	// maxTokenLen bounds the work done on garbage input; our tokens are well
	// under 1 KiB.
	maxTokenLen = 8 << 10
	// kidReloadInterval limits reloads caused by unknown kids, so tokens with
	// made-up kids cannot turn into a flood of store reads.
	kidReloadInterval = 5 * time.Second
	// reloadRetry is how soon a failed periodic reload is tried again.
	reloadRetry = 5 * time.Second

	// defaultReloadEvery is Config.ReloadEvery's default. AccessTTL's is
	// auth's AccessTokenTTL: one setting, one default.
	defaultReloadEvery = time.Minute
)

// KeyStore is the part of auth.Store that Keys needs.
type KeyStore interface {
	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]auth.SigningKey, error)
	// AddSigningKey inserts k and retires every other unretired key at
	// k.CreatedAt, atomically.
	AddSigningKey(ctx context.Context, k *auth.SigningKey) error
}

// Config sets the claims Keys signs and checks, and its timing.
type Config struct {
	// Issuer is the "iss" claim: the server's public URL. Required.
	Issuer string
	// Audience is the single "aud" claim. Required.
	Audience string
	// AccessTTL is the longest lifetime of an access token (default: auth's
	// AccessTokenTTL, since auth decides how long the tokens it asks for
	// live). A
	// retired key stays trusted, and in the JWKS, for AccessTTL plus
	// ReloadEvery after its retirement: long enough for every token it
	// signed, including those signed by a node that had not yet reloaded.
	AccessTTL time.Duration
	// ReloadEvery is how often keys are re-read from the store to pick up
	// rotations made by other nodes (default 1m).
	ReloadEvery time.Duration
}

// KeyInfo describes one stored key for `gatehouse keys list`.
type KeyInfo struct {
	ID        string
	Algorithm string
	CreatedAt time.Time
	RetiredAt *time.Time
	// Signing is true for the one key that signs new tokens.
	Signing bool
	// InJWKS is true while the key is trusted for verification and published.
	InJWKS bool
}

// Keys signs and verifies access tokens with the signing keys in the store.
// It implements auth.TokenSigner and is safe for concurrent use. Call Load
// once before use.
type Keys struct {
	store KeyStore
	box   *seal.Box
	clock auth.Clock
	cfg   Config
	// grace is how long a retired key stays trusted.
	grace time.Duration

	set atomic.Pointer[keySet]
	// loadMu serialises loads and rotations.
	loadMu sync.Mutex
	// nextReload is when the key set is next re-read (Unix ns).
	nextReload atomic.Int64
	// lastKidReload is when an unknown kid last caused a reload (Unix ns).
	lastKidReload atomic.Int64

	// verifier checks tokens with the keys of set (nil when Issuer or
	// Audience is empty: Load refuses such a config).
	verifier *verify.Verifier
	cache    verifyCache
	noCache  bool // benchmarks of the uncached path
}

// Format prints a placeholder for every verb, so Keys logged by mistake
// shows neither the signing key nor cached bearer tokens.
func (*Keys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "token.Keys{redacted}") }

// keySet is an immutable snapshot of the keys loaded from the store.
type keySet struct {
	// fingerprint identifies the stored rows the set was built from, so an
	// unchanged store keeps the current set, its cache entries and its JWKS.
	fingerprint string
	keys        map[string]*verifyKey
	order       []*verifyKey // newest first
	signer      jose.Signer  // nil when no key can sign
	signKid     string
	grace       time.Duration
	jwks        atomic.Pointer[jwksBytes]
}

type verifyKey struct {
	id      string
	pub     ed25519.PublicKey
	created time.Time
	// trustEnd is the end of the key's trust (zero while unretired).
	trustEnd time.Time
}

// trusted reports whether tokens signed by vk are accepted at now.
func (vk *verifyKey) trusted(now time.Time) bool {
	return vk.trustEnd.IsZero() || now.Before(vk.trustEnd)
}

type jwksBytes struct {
	from, until time.Time // valid for now in [from, until); zero until: no end
	body        []byte
}

func (ks *keySet) key(kid string) *verifyKey {
	if ks == nil {
		return nil
	}
	return ks.keys[kid]
}

// NewKeys returns Keys over store, opening private keys with box. A nil
// clock means the system clock; zero durations in cfg take their defaults.
func NewKeys(store KeyStore, box *seal.Box, clock auth.Clock, cfg Config) *Keys {
	if clock == nil {
		clock = auth.SystemClock{}
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = auth.DefaultConfig().AccessTokenTTL
	}
	if cfg.ReloadEvery <= 0 {
		cfg.ReloadEvery = defaultReloadEvery
	}
	k := &Keys{
		store: store,
		box:   box,
		clock: clock,
		cfg:   cfg,
		grace: cfg.AccessTTL + cfg.ReloadEvery,
	}
	if cfg.Issuer != "" && cfg.Audience != "" {
		// No leeway: every node checks exp against the same store's keys
		// and its own clock, and exp is already truncated to the second.
		k.verifier, _ = verify.NewWithKeys(cfg.Issuer, keySource{k}, verify.WithAudience(cfg.Audience), verify.WithLeeway(0), verify.WithMaxTokenLifetime(cfg.AccessTTL))
	}
	return k
}

// Load reads the keys from the store and opens the signing key's private
// half. When no stored key can sign (an empty store), it generates an
// Ed25519 key and stores it first. It fails on a key it cannot open (a
// different GATEHOUSE_SECRET) or on an empty Issuer or Audience.
func (k *Keys) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	return k.load(ctx, true)
}

// Rotate stores a new key that signs from now on; the store retires the
// previous one, which stays trusted for verification for AccessTTL plus
// ReloadEvery. Other nodes pick the new key up on their next reload, or as
// soon as they see a token carrying its kid. When the key was stored but
// reading it back failed, Rotate returns its kid and an error.
func (k *Keys) Rotate(ctx context.Context) (kid string, err error) {
	if err := k.checkConfig(); err != nil {
		return "", err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	sk, err := newSigningKey(k.box, k.clock.Now())
	if err != nil {
		return "", err
	}
	if err := k.store.AddSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("token: store new signing key: %w", err)
	}
	if err := k.load(ctx, false); err != nil {
		return sk.ID, fmt.Errorf("token: key %s stored, reload failed: %w", sk.ID, err)
	}
	return sk.ID, nil
}

// Sign returns a signed access token for c; c.ID, c.IssuedAt and c.Expiry
// come from the caller. exp and iat are whole seconds (truncated), so a
// token expires up to a second before c.Expiry, never after. A lifetime
// longer than AccessTTL is refused: the token would outlive its key's trust
// after a rotation.
func (k *Keys) Sign(ctx context.Context, c auth.AccessClaims) (string, error) {
	if c.Subject == "" || c.Expiry.IsZero() || c.IssuedAt.IsZero() {
		return "", errors.New("token: sign: subject, issued-at and expiry are required")
	}
	if life := c.Expiry.Sub(c.IssuedAt); life <= 0 || life > k.cfg.AccessTTL {
		return "", fmt.Errorf("token: sign: lifetime %v is not within (0, AccessTTL %v]", life, k.cfg.AccessTTL)
	}
	k.maybeReload(ctx)
	ks := k.set.Load()
	if ks == nil || ks.signer == nil {
		return "", errors.New("token: sign: no signing key loaded")
	}
	amr := c.AMR
	if amr == nil {
		amr = []string{}
	}
	// The claims are marshalled once by encoding/json and signed by
	// go-jose's JWS signer: jwt.Signed's builder would marshal them, read
	// them back into a map and marshal that again, about half of a
	// refresh's allocations. The fields are in name order, the order the
	// builder's map wrote them, so the tokens are the same bytes.
	payload, err := json.Marshal(accessClaims{
		AAL: c.AAL, AMR: amr, Audience: jwt.Audience{k.cfg.Audience},
		Email: c.Email, EmailVerified: c.EmailVerified,
		Expiry: jwt.NewNumericDate(c.Expiry), IssuedAt: jwt.NewNumericDate(c.IssuedAt),
		Issuer: k.cfg.Issuer, ID: c.ID, PhoneVerified: c.PhoneVerified, Roles: c.Roles,
		SessionID: c.SessionID, Subject: c.Subject,
	})
	if err != nil {
		return "", fmt.Errorf("token: sign: marshal claims: %w", err)
	}
	jws, err := ks.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: sign with key %s: %w", ks.signKid, err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("token: sign with key %s: %w", ks.signKid, err)
	}
	return tok, nil
}

// accessClaims is the JSON payload of an access token (docs/contract.md, "Credentials").
type accessClaims struct {
	// In the order of their JSON names (see Sign).
	AAL      string       `json:"aal"`
	AMR      []string     `json:"amr"`
	Audience jwt.Audience `json:"aud"`
	Email    string       `json:"email,omitempty"`
	// Both always present, false for an address the user only typed (or
	// has not got), so an app need not know what absence means.
	EmailVerified bool             `json:"email_verified"`
	Expiry        *jwt.NumericDate `json:"exp"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	Issuer        string           `json:"iss"`
	ID            string           `json:"jti"`
	NotBefore     *jwt.NumericDate `json:"nbf,omitempty"`
	PhoneVerified bool             `json:"phone_verified"`
	// Roles is absent when the user has none: most users have none, and
	// their tokens stay as short as they were.
	Roles     []string `json:"roles,omitempty"`
	SessionID string   `json:"sid"`
	Subject   string   `json:"sub"`
}

// Verify checks tok at now and returns its claims. It accepts only a
// compact, canonically encoded JWS with alg EdDSA, typ at+jwt, a kid of a
// key trusted at now, a valid signature, our iss and aud, and an exp
// strictly after now. There is no leeway: exp is whole seconds, so a token
// is refused at most one second earlier than the caller's Expiry. nbf, when
// present, must not be after now; iat may be up to a minute after now, so a
// node whose clock runs a little ahead does not break others, and exp − iat
// must not exceed AccessTTL: we never sign longer, so a token that claims
// more was signed with a stolen key. Errors match ErrExpired (only for an
// otherwise valid token) or ErrInvalid.
//
// The checks are package verify's, the same code other services run on our
// tokens, with our keys in memory as its key set (keySource). A successful
// verification is cached until the token's exp, so checking the same token
// again costs a map lookup rather than a signature check.
func (k *Keys) Verify(ctx context.Context, tok string, now time.Time) (*auth.AccessClaims, error) {
	if len(tok) > maxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	k.maybeReload(ctx)
	ks := k.set.Load()
	if ks == nil || k.verifier == nil {
		return nil, fmt.Errorf("%w: no keys loaded", ErrInvalid)
	}
	if !k.noCache {
		if e, ok := k.cache.get(tok); ok && e.set == ks {
			return e.check(now)
		}
	}
	c, err := k.verifier.VerifyAt(ctx, tok, now)
	switch {
	case errors.Is(err, verify.ErrExpired):
		return nil, fmt.Errorf("%w: %v", ErrExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// The cache entry records the set the key is in now and the end of the
	// key's trust. kid names one stored row, whose public half never
	// changes, so the key found here is the one that verified the token;
	// if a reload dropped it meanwhile, the token is no longer trusted.
	ks = k.set.Load()
	vk := ks.key(c.KeyID)
	if vk == nil {
		return nil, fmt.Errorf("%w: key %s no longer trusted", ErrInvalid, c.KeyID)
	}
	e := cacheEntry{
		set: ks,
		claims: auth.AccessClaims{
			Subject:   c.Subject,
			SessionID: c.SessionID,
			Email:     c.Email,
			AAL:       c.AAL,
			AMR:       c.AMR,
			Roles:     c.Roles,
			ID:        c.ID,
			IssuedAt:  c.IssuedAt,
			Expiry:    c.Expiry,

			EmailVerified: c.EmailVerified,
			PhoneVerified: c.PhoneVerified,
		},
		trustEnd: vk.trustEnd,
	}
	if !k.noCache {
		k.cache.put(tok, e, now)
	}
	return e.check(now)
}

// keySource is the loaded key set as package verify sees it.
type keySource struct{ k *Keys }

// Key implements verify.KeySet: the key kid of the current set, trusted at
// now. An unknown kid reloads the store first, at most once per
// kidReloadInterval.
func (s keySource) Key(ctx context.Context, kid string, now time.Time) (verify.Key, error) {
	ks := s.k.set.Load()
	vk := ks.key(kid)
	if vk == nil {
		ks = s.k.reloadForKid(ctx, ks, kid)
		if vk = ks.key(kid); vk == nil {
			return verify.Key{}, fmt.Errorf("%w: unknown key id", verify.ErrInvalid)
		}
	}
	if !vk.trusted(now) {
		return verify.Key{}, fmt.Errorf("%w: key %s no longer trusted", verify.ErrInvalid, vk.id)
	}
	return verify.Key{ID: vk.id, Algorithm: algEdDSA, Public: vk.pub}, nil
}

// JWKS returns the JSON Web Key Set (RFC 7517) of every key trusted at now,
// newest first, for GET /.well-known/jwks.json. The bytes are built once per
// key set and trust window and copied out, so callers may keep them.
func (k *Keys) JWKS(now time.Time) []byte {
	ks := k.set.Load()
	if ks == nil {
		return []byte(`{"keys":[]}`)
	}
	if c := ks.jwks.Load(); c != nil && !now.Before(c.from) && (c.until.IsZero() || now.Before(c.until)) {
		return bytes.Clone(c.body)
	}
	var from, until time.Time
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, vk := range ks.order {
		if end := vk.trustEnd; !end.IsZero() {
			if !now.Before(end) {
				if end.After(from) {
					from = end
				}
				continue
			}
			if until.IsZero() || end.Before(until) {
				until = end
			}
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: vk.pub, KeyID: vk.id, Algorithm: algEdDSA, Use: "sig"})
	}
	body, err := json.Marshal(set)
	if err != nil {
		// Only a broken key could fail to marshal, and Load parsed them all.
		return []byte(`{"keys":[]}`)
	}
	ks.jwks.Store(&jwksBytes{from: from, until: until, body: body})
	return bytes.Clone(body)
}

// List returns every stored key, oldest first, as the store has them now
// (it reads the store and does not touch the loaded set).
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list signing keys: %w", err)
	}
	now := k.clock.Now()
	signing := signingIndex(stored)
	out := make([]KeyInfo, len(stored))
	for i, sk := range stored {
		out[i] = KeyInfo{
			ID:        sk.ID,
			Algorithm: sk.Algorithm,
			CreatedAt: sk.CreatedAt,
			RetiredAt: sk.RetiredAt,
			Signing:   i == signing,
			InJWKS:    sk.Algorithm == algEdDSA && (sk.RetiredAt == nil || now.Before(sk.RetiredAt.Add(k.grace))),
		}
	}
	return out, nil
}

// maybeReload re-reads the store when the key set is older than ReloadEvery.
// Exactly one caller reloads; the others go on with the current set. A
// failed reload keeps the current set and is retried after a few seconds.
func (k *Keys) maybeReload(ctx context.Context) {
	now := k.clock.Now().UnixNano()
	if now < k.nextReload.Load() || !k.loadMu.TryLock() {
		return
	}
	defer k.loadMu.Unlock()
	if now < k.nextReload.Load() {
		return // reloaded while we got the lock
	}
	if err := k.load(ctx, false); err != nil {
		k.nextReload.Store(now + int64(min(reloadRetry, k.cfg.ReloadEvery)))
	}
}

// reloadForKid re-reads the store for a kid that ks does not know, at most
// once per kidReloadInterval, and returns the newest key set.
func (k *Keys) reloadForKid(ctx context.Context, ks *keySet, kid string) *keySet {
	if !k.kidReloadDue() {
		return ks
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	if cur := k.set.Load(); cur.key(kid) != nil || !k.kidReloadDue() {
		return cur // another caller reloaded while we waited
	}
	k.lastKidReload.Store(k.clock.Now().UnixNano())
	_ = k.load(ctx, false) // on failure the current set stays
	return k.set.Load()
}

func (k *Keys) kidReloadDue() bool {
	last := k.lastKidReload.Load()
	since := k.clock.Now().UnixNano() - last
	return last == 0 || since < 0 || since >= int64(kidReloadInterval)
}

func (k *Keys) checkConfig() error {
	if k.cfg.Issuer == "" || k.cfg.Audience == "" {
		return errors.New("token: config needs an Issuer and an Audience")
	}
	return nil
}

// load reads the store and installs the key set; with create, it first adds
// a new key when none can sign. The caller holds loadMu.
func (k *Keys) load(ctx context.Context, create bool) error {
	if err := k.checkConfig(); err != nil {
		return err
	}
	now := k.clock.Now()
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: read signing keys: %w", err)
	}
	if create && signingIndex(stored) < 0 {
		sk, err := newSigningKey(k.box, now)
		if err != nil {
			return err
		}
		if err := k.store.AddSigningKey(ctx, sk); err != nil {
			return fmt.Errorf("token: store first signing key: %w", err)
		}
		// Read back: another node starting at the same moment may have
		// added its own key, and the store decides which one signs.
		if stored, err = k.store.SigningKeys(ctx); err != nil {
			return fmt.Errorf("token: read signing keys: %w", err)
		}
	}
	cur := k.set.Load()
	fp := fingerprint(stored)
	if cur == nil || cur.fingerprint != fp {
		ks, err := k.build(stored, fp, now)
		if err != nil {
			return err
		}
		k.set.Store(ks)
		k.cache.reset()
	}
	k.nextReload.Store(now.Add(k.cfg.ReloadEvery).UnixNano())
	return nil
}

// build makes a key set of the stored keys still trusted at now, opening the
// private half of the signing key only.
func (k *Keys) build(stored []auth.SigningKey, fp string, now time.Time) (*keySet, error) {
	ks := &keySet{fingerprint: fp, keys: make(map[string]*verifyKey, len(stored)), grace: k.grace}
	signing := signingIndex(stored)
	for i, sk := range stored {
		vk := &verifyKey{id: sk.ID, created: sk.CreatedAt}
		if sk.RetiredAt != nil {
			vk.trustEnd = sk.RetiredAt.Add(k.grace)
		}
		if i != signing && (sk.Algorithm != algEdDSA || !vk.trusted(now)) {
			continue // a key we cannot use for anything
		}
		if sk.Algorithm != algEdDSA {
			return nil, fmt.Errorf("token: signing key %s: unsupported algorithm %q", sk.ID, sk.Algorithm)
		}
		pub, err := parsePublic(sk.Public)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
		}
		vk.pub = pub
		if i == signing {
			if ks.signer, err = openSigner(k.box, &sk, pub); err != nil {
				return nil, err
			}
			ks.signKid = sk.ID
		}
		ks.keys[sk.ID] = vk
		ks.order = append(ks.order, vk)
	}
	slices.Reverse(ks.order) // the store returns oldest first
	slices.SortStableFunc(ks.order, func(a, b *verifyKey) int { return b.created.Compare(a.created) })
	return ks, nil
}

// signingIndex returns the index of the newest unretired key, or -1. The
// store keeps only one unretired key; the newest wins should there be more.
func signingIndex(stored []auth.SigningKey) int {
	idx := -1
	for i, sk := range stored {
		if sk.RetiredAt == nil && (idx < 0 || !sk.CreatedAt.Before(stored[idx].CreatedAt)) {
			idx = i
		}
	}
	return idx
}

// fingerprint identifies the stored rows, to skip rebuilding an unchanged set.
func fingerprint(stored []auth.SigningKey) string {
	var b strings.Builder
	for _, sk := range stored {
		b.WriteString(sk.ID)
		b.WriteByte(0)
		b.WriteString(sk.Algorithm)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(sk.CreatedAt.UnixNano(), 10))
		b.WriteByte(0)
		if sk.RetiredAt != nil {
			b.WriteString(strconv.FormatInt(sk.RetiredAt.UnixNano(), 10))
		}
		b.WriteByte(0)
		b.Write(sk.Public)
		b.WriteByte(0)
		b.Write(sk.Private)
		b.WriteByte(0)
	}
	return b.String()
}

func parsePublic(der []byte) (ed25519.PublicKey, error) {
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := pk.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want Ed25519", pk)
	}
	return pub, nil
}

// openSigner unseals sk's private half and checks it belongs to pub, so a
// row whose halves were mixed up fails loudly instead of signing tokens
// nobody can verify.
func openSigner(box *seal.Box, sk *auth.SigningKey, pub ed25519.PublicKey) (jose.Signer, error) {
	seed, err := box.Open(purposeSigningKey, sk.Private)
	if err != nil {
		return nil, fmt.Errorf("token: open signing key %s (is GATEHOUSE_SECRET the one it was sealed with?): %w", sk.ID, err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("token: signing key %s: sealed seed has %d bytes", sk.ID, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("token: signing key %s: private half does not match public half", sk.ID)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: sk.ID}},
		(&jose.SignerOptions{}).WithType(typAccess),
	)
	if err != nil {
		return nil, fmt.Errorf("token: signer for key %s: %w", sk.ID, err)
	}
	return signer, nil
}

// newSigningKey generates an Ed25519 key as stored: kid is the RFC 7638
// thumbprint, the public half PKIX DER, the private half the sealed seed.
func newSigningKey(box *seal.Box, now time.Time) (*auth.SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("token: generate signing key: %w", err)
	}
	return sealSigningKey(box, priv, now)
}

func sealSigningKey(box *seal.Box, priv ed25519.PrivateKey, now time.Time) (*auth.SigningKey, error) {
	pub := priv.Public().(ed25519.PublicKey)
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("token: key thumbprint: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("token: marshal public key: %w", err)
	}
	sealed, err := box.Seal(purposeSigningKey, priv.Seed())
	if err != nil {
		return nil, fmt.Errorf("token: seal signing key: %w", err)
	}
	return &auth.SigningKey{
		ID:        base64.RawURLEncoding.EncodeToString(tp),
		Algorithm: algEdDSA,
		Private:   sealed,
		Public:    der,
		CreatedAt: now,
	}, nil
}
