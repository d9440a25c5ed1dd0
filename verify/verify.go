package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors from Verify; returned errors wrap one of them (errors.Is).
var (
	// ErrInvalid is any token that must not be trusted: malformed, a bad
	// signature, an unknown key, a wrong algorithm, type, issuer or
	// audience, no subject or no expiry, or not valid yet.
	ErrInvalid = errors.New("verify: invalid token")
	// ErrExpired is an authentic token meant for us whose exp (plus the
	// leeway) has passed. Only a token that passed every other check is
	// called expired, so a client may take it as "refresh".
	ErrExpired = errors.New("verify: token expired")
	// ErrRevoked is an authentic, unexpired token whose session the issuer
	// no longer accepts (WithRevocationCheck).
	ErrRevoked = errors.New("verify: session revoked")
	// ErrUnavailable is a failure to ask the issuer (its keys or its check
	// endpoint): the token was not judged, so nothing is cached.
	ErrUnavailable = errors.New("verify: issuer unavailable")
)

const (
	// maxTokenLen bounds the work done on garbage input; Gatehouse's tokens
	// are well under 1 KiB.
	maxTokenLen = 8 << 10
	// typAccess is the JWT "typ" of an access token (RFC 9068 §2.1). Only
	// tokens that say so are accepted, so no other JWT the issuer signs (an
	// ID token, one day) can be replayed as an access token.
	typAccess = "at+jwt"
)

// DefaultLeeway is how far the verifier's clock may be behind or ahead of
// the issuer's when exp and nbf are checked. A service's clock is not the
// issuer's, and NTP keeps hosts well within it.
const DefaultLeeway = 30 * time.Second

// DefaultMaxTokenLifetime is the longest exp − iat a token may claim unless
// WithMaxTokenLifetime says otherwise. Gatehouse signs tokens for 15
// minutes by default (GATEHOUSE_ACCESS_TOKEN_TTL); a service whose issuer
// is configured for longer must say so.
const DefaultMaxTokenLifetime = time.Hour

// issuedAheadLimit is how far in the verifier's future a token's iat may
// lie (or the leeway, if larger): a node whose clock runs a little ahead
// must not break others, but a token "issued" next week was not issued by
// the issuer's signer.
const issuedAheadLimit = time.Minute

// signatureAlgorithms are the only algorithms a token may be parsed with:
// asymmetric ones. HMAC is never accepted (a public key would become a
// shared secret) and neither is "none"; each key further narrows this to
// the one algorithm it names.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.EdDSA,
	jose.ES256, jose.ES384, jose.ES512,
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
}

// Key is a public key that verifies tokens.
type Key struct {
	// ID is the "kid" a token names in its header.
	ID string
	// Algorithm is the JWS "alg" the key is used with (EdDSA for
	// Gatehouse); a token with any other alg is refused.
	Algorithm string
	// Public is an ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey
	// matching Algorithm.
	Public crypto.PublicKey
}

// KeySet returns the keys that verify tokens, by id.
type KeySet interface {
	// Key returns the key named kid that may verify a token at now. For an
	// unknown kid, or a key no longer trusted, it returns an error wrapping
	// ErrInvalid; any other error means the keys could not be read.
	Key(ctx context.Context, kid string, now time.Time) (Key, error)
}

// Claims is what a verified access token says.
type Claims struct {
	// Subject is the user's id ("sub").
	Subject string
	// SessionID is the session the token belongs to ("sid").
	SessionID string
	// Email is the user's address when the token was signed ("email").
	Email string
	// EmailVerified says the user had proven Email when the token was
	// signed ("email_verified"); an address that is only typed is false.
	// Check it before trusting Email with anything that matters.
	EmailVerified bool
	// PhoneVerified says the user had proven a phone number when the token
	// was signed ("phone_verified"); false when there is none.
	PhoneVerified bool
	// AAL is the authenticator assurance level: "aal1", or "aal2" after a
	// second factor ("aal").
	AAL string
	// AMR lists the authentication methods used ("amr"), e.g. ["pwd","otp"].
	AMR []string
	// Roles are the user's role names when the token was signed ("roles"),
	// sorted; nil when the user had none (the claim is then absent). A role
	// given or taken away later shows in tokens signed after the change:
	// use WithRevocationCheck, or ask /v1/check, to see it sooner.
	Roles []string
	// ID is the token's unique id ("jti").
	ID string
	// IssuedAt is when the token was signed ("iat"); zero when absent.
	IssuedAt time.Time
	// Expiry is the end of the token's life ("exp").
	Expiry time.Time
	// KeyID is the "kid" of the key that verified the token.
	KeyID string
}

// Verifier checks Gatehouse access tokens. It is safe for concurrent use.
type Verifier struct {
	issuer   string
	audience string
	leeway   time.Duration
	maxLife  time.Duration
	now      func() time.Time
	client   *http.Client
	keys     KeySet
	// revocations is nil unless WithRevocationCheck was given.
	revocations *revocations
}

// Option configures a Verifier.
type Option func(*options) error

type options struct {
	audience      string
	leeway        time.Duration
	maxLife       time.Duration
	now           func() time.Time
	client        *http.Client
	checkInterval time.Duration
}

// WithAudience sets the "aud" a token must carry. The default is the issuer,
// which is what Gatehouse signs (its public URL).
func WithAudience(aud string) Option {
	return func(o *options) error {
		if aud == "" {
			return errors.New("verify: empty audience")
		}
		o.audience = aud
		return nil
	}
}

// WithHTTPClient sets the client that fetches the issuer's metadata and
// keys and asks its check endpoint. Every request also has its own timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("verify: nil HTTP client")
		}
		o.client = c
		return nil
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("verify: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithLeeway sets how far clocks may disagree when exp and nbf are checked
// (DefaultLeeway when not given; zero is allowed).
func WithLeeway(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("verify: negative leeway %v", d)
		}
		o.leeway = d
		return nil
	}
}

// WithMaxTokenLifetime sets the longest lifetime (exp − iat) a token may
// claim: the issuer's access-token lifetime (DefaultMaxTokenLifetime when
// not given). The issuer never signs a longer one, so a longer one was
// signed by someone else holding its key: refusing it keeps a leaked key
// from minting tokens that outlive the key's rotation unnoticed.
func WithMaxTokenLifetime(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("verify: token lifetime %v is not positive", d)
		}
		o.maxLife = d
		return nil
	}
}

// WithRevocationCheck asks the issuer's GET /v1/check about a token after
// its signature and claims passed, at most once per token per interval, so
// a session ended on the issuer (logout, revocation) is refused by this
// service within interval. Without it a token is good until it expires.
func WithRevocationCheck(interval time.Duration) Option {
	return func(o *options) error {
		if interval <= 0 {
			return fmt.Errorf("verify: revocation check interval %v is not positive", interval)
		}
		o.checkInterval = interval
		return nil
	}
}

// New returns a Verifier for the tokens issuer signs. It discovers the
// issuer's JWKS through <issuer>/.well-known/openid-configuration (whose
// "issuer" must be issuer) and fetches it once, failing if either fetch
// does; later fetch failures keep the keys already known. A trailing slash
// on issuer is ignored.
func New(ctx context.Context, issuer string, opts ...Option) (*Verifier, error) {
	issuer = strings.TrimSuffix(issuer, "/")
	if err := checkIssuerURL(issuer); err != nil {
		return nil, err
	}
	v, o, err := newVerifier(issuer, opts)
	if err != nil {
		return nil, err
	}
	jwksURL, err := discover(ctx, v.client, issuer)
	if err != nil {
		return nil, err
	}
	rk := &remoteKeys{url: jwksURL, client: v.client}
	if err := rk.fetch(ctx, v.now()); err != nil {
		return nil, err
	}
	v.keys = rk
	v.setRevocations(o)
	return v, nil
}

// NewWithKeys returns a Verifier that takes its keys from keys instead of a
// JWKS: for a program that holds the issuer's keys itself (Gatehouse does,
// to verify its own tokens with this same code).
func NewWithKeys(issuer string, keys KeySet, opts ...Option) (*Verifier, error) {
	if issuer == "" {
		return nil, errors.New("verify: empty issuer")
	}
	if keys == nil {
		return nil, errors.New("verify: nil key set")
	}
	v, o, err := newVerifier(issuer, opts)
	if err != nil {
		return nil, err
	}
	v.keys = keys
	v.setRevocations(o)
	return v, nil
}

func newVerifier(issuer string, opts []Option) (*Verifier, *options, error) {
	o := &options{audience: issuer, leeway: DefaultLeeway, maxLife: DefaultMaxTokenLifetime, now: time.Now}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, nil, err
		}
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: fetchTimeout}
	}
	return &Verifier{issuer: issuer, audience: o.audience, leeway: o.leeway, maxLife: o.maxLife, now: o.now, client: o.client}, o, nil
}

func (v *Verifier) setRevocations(o *options) {
	if o.checkInterval > 0 {
		c := *v.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		v.revocations = &revocations{url: v.issuer + "/v1/check", client: &c, interval: o.checkInterval}
	}
}

// checkIssuerURL accepts an absolute http(s) URL without query, fragment or
// user info: the form an issuer has (OpenID Connect Discovery §3).
func checkIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("verify: issuer must be an http(s) URL such as https://auth.example.com, got %q", issuer)
	}
	return nil
}

// Verify checks tok now: see VerifyAt.
func (v *Verifier) Verify(ctx context.Context, tok string) (*Claims, error) {
	return v.VerifyAt(ctx, tok, v.now())
}

// VerifyAt checks tok at now and returns its claims. It accepts only a
// compact, canonically encoded JWS with one signature, typ at+jwt, a kid
// the key set knows, the alg that key names (never none or HMAC), a valid
// signature, the issuer's iss, our aud among its audiences, a subject, and
// an exp after now-leeway; nbf, when present, must not be after
// now+leeway; iat must be present, not more than a minute (or the leeway,
// if larger) after now, and at most the maximum lifetime
// (WithMaxTokenLifetime) before exp. With WithRevocationCheck the issuer is
// then asked whether the session still stands. Errors wrap ErrExpired
// (only for an otherwise valid token), ErrRevoked, ErrUnavailable or
// ErrInvalid.
//
// VerifyAt exists for callers that keep their own clock; others call
// Verify.
func (v *Verifier) VerifyAt(ctx context.Context, tok string, now time.Time) (*Claims, error) {
	c, err := v.check(ctx, tok, now)
	if err != nil {
		return nil, err
	}
	if v.revocations != nil {
		if err := v.revocations.check(ctx, tok, now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// accessClaims is the JSON payload of a Gatehouse access token: the
// registered claims as go-jose reads them, and Gatehouse's own.
type accessClaims struct {
	jwt.Claims
	SessionID string   `json:"sid"`
	Email     string   `json:"email"`
	AAL       string   `json:"aal"`
	AMR       []string `json:"amr"`
	Roles     []string `json:"roles"`

	EmailVerified bool `json:"email_verified"`
	PhoneVerified bool `json:"phone_verified"`
}

// check is VerifyAt without the revocation check.
func (v *Verifier) check(ctx context.Context, tok string, now time.Time) (*Claims, error) {
	if !wellFormed(tok) {
		return nil, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	parsed, err := jwt.ParseSigned(tok, signatureAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %v", ErrInvalid, err)
	}
	if len(parsed.Headers) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalid)
	}
	h := parsed.Headers[0]
	if !isAccessType(h.ExtraHeaders[jose.HeaderType]) {
		return nil, fmt.Errorf("%w: typ is not %s", ErrInvalid, typAccess)
	}
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no key id", ErrInvalid)
	}
	key, err := v.keys.Key(ctx, h.KeyID, now)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: keys: %w", ErrUnavailable, err)
	}
	// The token's alg must be the one its key names: a key published for
	// EdDSA must not verify an RS256 or HS256 token that names its kid.
	if h.Algorithm != key.Algorithm || !slices.Contains(signatureAlgorithms, jose.SignatureAlgorithm(key.Algorithm)) ||
		!keyFits(key.Algorithm, key.Public) {
		return nil, fmt.Errorf("%w: alg %q with key %s (%s)", ErrInvalid, h.Algorithm, key.ID, key.Algorithm)
	}
	var c accessClaims
	if err := parsed.Claims(key.Public, &c); err != nil {
		return nil, fmt.Errorf("%w: signature or claims: %v", ErrInvalid, err)
	}
	switch {
	case c.Issuer != v.issuer:
		return nil, fmt.Errorf("%w: issuer", ErrInvalid)
	case !c.Audience.Contains(v.audience):
		return nil, fmt.Errorf("%w: audience", ErrInvalid)
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no subject", ErrInvalid)
	case c.Expiry == nil:
		return nil, fmt.Errorf("%w: no expiry", ErrInvalid)
	case c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()):
		return nil, fmt.Errorf("%w: not valid yet", ErrInvalid)
	case c.IssuedAt == nil:
		// Without iat the lifetime cannot be measured.
		return nil, fmt.Errorf("%w: no iat", ErrInvalid)
	case c.IssuedAt.Time().After(now.Add(max(v.leeway, issuedAheadLimit))):
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalid)
	// exp and iat are whole seconds, each rounded down from the signer's
	// clock, so an honest token may claim up to a second more than the
	// lifetime it was signed for.
	case c.Expiry.Time().Sub(c.IssuedAt.Time()) > v.maxLife+time.Second:
		return nil, fmt.Errorf("%w: lifetime %v exceeds %v", ErrInvalid, c.Expiry.Time().Sub(c.IssuedAt.Time()), v.maxLife)
	}
	exp := c.Expiry.Time().UTC()
	if !now.Before(exp.Add(v.leeway)) {
		return nil, fmt.Errorf("%w at %s", ErrExpired, exp.Format(time.RFC3339))
	}
	out := &Claims{
		Subject:   c.Subject,
		SessionID: c.SessionID,
		Email:     c.Email,
		AAL:       c.AAL,
		AMR:       c.AMR,
		Roles:     c.Roles,
		ID:        c.ID,
		Expiry:    exp,
		KeyID:     key.ID,

		EmailVerified: c.EmailVerified,
		PhoneVerified: c.PhoneVerified,
	}
	out.IssuedAt = c.IssuedAt.Time().UTC()
	return out, nil
}

// isAccessType accepts "at+jwt" and its media-type form, case-insensitive
// (RFC 9068 §4; RFC 7515 §4.1.9).
func isAccessType(v any) bool {
	s, ok := v.(string)
	return ok && (strings.EqualFold(s, typAccess) || strings.EqualFold(s, "application/"+typAccess))
}

// minRSABits refuses RSA keys too short to trust (NIST SP 800-131A).
const minRSABits = 2048

// keyFits reports whether pub is a key of the type alg needs.
func keyFits(alg string, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA) && len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		switch alg {
		case string(jose.ES256):
			return k.Curve == elliptic.P256()
		case string(jose.ES384):
			return k.Curve == elliptic.P384()
		case string(jose.ES512):
			return k.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && k.N.BitLen() >= minRSABits
	}
	return false
}

// b64 maps a base64url character to its value, and everything else to -1.
var b64 = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// wellFormed reports whether s is three non-empty, canonical base64url
// segments (no padding, no whitespace, zero unused bits). The decoder in
// go-jose is lenient (it skips newlines and ignores unused bits), so without
// this several strings would verify as one token; with it, exactly one
// string is accepted per signed token, which lets callers cache by string.
func wellFormed(s string) bool {
	if len(s) == 0 || len(s) > maxTokenLen {
		return false
	}
	segs, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if b64[s[i]] < 0 {
				return false
			}
			continue
		}
		if segs++; segs > 3 || !canonicalSegment(s[start:i]) {
			return false
		}
		start = i + 1
	}
	return segs == 3
}

func canonicalSegment(seg string) bool {
	n := len(seg)
	if n == 0 {
		return false
	}
	last := b64[seg[n-1]]
	switch n % 4 {
	case 1:
		return false
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}
