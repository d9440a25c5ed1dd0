package oauthtest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Bad is a defect the OpenID Connect fake puts in an ID token.
type Bad string

// The defects.
const (
	Good         Bad = ""
	BadNonce     Bad = "nonce"       // another sign-in's nonce
	BadAudience  Bad = "audience"    // issued to another client
	BadIssuer    Bad = "issuer"      // iss another provider's
	Expired      Bad = "expired"     // exp an hour ago
	UnknownKey   Bad = "unknown"     // signed by a key not in the JWKS
	AlgNone      Bad = "none"        // alg none, no signature
	BadSignature Bad = "signature"   // the signature altered
	NoIDToken    Bad = "no_id_token" // the token response without id_token
)

// User is who the OpenID Connect fake signs in. EmailVerified is sent as
// is (nil leaves the claim out; Apple's "true" is a string); Extra adds
// claims (Microsoft's tid and xms_edov).
type User struct {
	Subject       string
	Email         string
	EmailVerified any
	Name          string
	Extra         map[string]any
}

// OIDCOptions set up the OpenID Connect fake.
type OIDCOptions struct {
	ClientID     string
	ClientSecret string
	// AuthMethod is client_secret_basic (the default) or
	// client_secret_post: the only one the token endpoint accepts, and the
	// one discovery lists.
	AuthMethod string
	// RedirectURI is the registered redirect URI, matched exactly.
	RedirectURI string
	// IssuerPath is appended to the server's URL to make the issuer, as
	// discovery gives it: "/{tenantid}/v2.0" fakes Microsoft's
	// multi-tenant template (tokens then carry the tid claim's issuer).
	IssuerPath string
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
	// Apple, when set, makes the client secret Apple's signed JWT, checked
	// as Apple does, instead of ClientSecret.
	Apple *AppleSecret
	// RefreshTokens makes the token endpoint send a refresh token at each
	// subject's first exchange only, as Google does at the first consent.
	RefreshTokens bool
}

// AppleSecret is what Apple knows to check a client secret: the team, and
// the public half of the key with its ID.
type AppleSecret struct {
	TeamID string
	KeyID  string
	Key    *ecdsa.PublicKey
}

// check accepts a client secret signed as Apple documents: ES256 with the
// key's ID, iss the team, sub the client ID, aud https://appleid.apple.com,
// issued and not expired now, at most six months long.
func (a *AppleSecret) check(secret, clientID string, now time.Time) bool {
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID != a.KeyID {
		return false
	}
	var c jwt.Claims
	if err := tok.Claims(a.Key, &c); err != nil || c.IssuedAt == nil || c.Expiry == nil {
		return false
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()) > 15777000*time.Second {
		return false
	}
	return c.ValidateWithLeeway(jwt.Expected{Issuer: a.TeamID, Subject: clientID, AnyAudience: jwt.Audience{"https://appleid.apple.com"}, Time: now}, time.Minute) == nil
}

// OIDC is a fake OpenID Connect provider over httptest: discovery at
// {URL}{IssuerPath}/.well-known/openid-configuration, /authorize, /token,
// /jwks.
type OIDC struct {
	// URL is the server's base URL; Issuer the discovered issuer.
	URL    string
	Issuer string
	opts   OIDCOptions
	codes  codes
	key    *rsa.PrivateKey
	other  *rsa.PrivateKey // signs UnknownKey tokens

	mu          sync.Mutex
	user        User
	deny        bool
	bad         Bad
	outages     outages
	discoveries int
	consented   map[string]bool // subjects that got a refresh token
	issued      Issued
}

// Issued is what the token endpoint sent last: the access token, and the
// refresh token ("" when none was sent).
type Issued struct{ AccessToken, RefreshToken string }

// LastIssued returns what the token endpoint sent last.
func (f *OIDC) LastIssued() Issued { f.mu.Lock(); defer f.mu.Unlock(); return f.issued }

// NewOIDC starts a fake provider that signs in u until SetUser; it stops
// when the test ends.
func NewOIDC(t testing.TB, o OIDCOptions, u User) *OIDC {
	t.Helper()
	if o.AuthMethod == "" {
		o.AuthMethod = "client_secret_basic"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &OIDC{opts: o, user: u, key: newRSAKey(t), other: newRSAKey(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /authorize", f.authorize)
	mux.HandleFunc("/token", f.token)
	mux.HandleFunc("GET /jwks", f.jwks)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != strings.TrimPrefix(f.Issuer, f.URL)+"/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		f.discovery(w)
	})
	srv := httptest.NewServer(f.outages.serve("fake provider", mux))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.Issuer = srv.URL + o.IssuerPath
	return f
}

// Down makes every endpoint answer 503, as a provider having an outage
// (false brings it back).
func (f *OIDC) Down(down bool) { f.outages.set("", down) }

// DownAt makes only the endpoint at path ("/token", "/jwks") answer 503
// (false brings it back): an outage of one part of the provider.
func (f *OIDC) DownAt(path string, down bool) { f.outages.set(path, down) }

// Discoveries counts the discovery documents served.
func (f *OIDC) Discoveries() int { f.mu.Lock(); defer f.mu.Unlock(); return f.discoveries }

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// SetUser changes who the next authorizations sign in.
func (f *OIDC) SetUser(u User) { f.mu.Lock(); f.user = u; f.mu.Unlock() }

// Deny makes the next authorizations answer error=access_denied, as when
// the person declines consent (false undoes it).
func (f *OIDC) Deny(deny bool) { f.mu.Lock(); f.deny = deny; f.mu.Unlock() }

// NextBad puts b in the next ID token the token endpoint issues.
func (f *OIDC) NextBad(b Bad) { f.mu.Lock(); f.bad = b; f.mu.Unlock() }

func (f *OIDC) discovery(w http.ResponseWriter) {
	f.mu.Lock()
	f.discoveries++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                f.Issuer,
		"authorization_endpoint":                f.URL + "/authorize",
		"token_endpoint":                        f.URL + "/token",
		"jwks_uri":                              f.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "form_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{f.opts.AuthMethod},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (f *OIDC) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &f.key.PublicKey, KeyID: "good", Algorithm: "RS256", Use: "sig"},
	}})
}

// authorize checks the authorization request (OpenID Connect Core 3.1.2.1
// on top of OAuth's): scope with openid, and a nonce, which this fake
// requires as the implicit flow's rule is the only defence of a code flow
// without one.
func (f *OIDC) authorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	q := r.Form
	if err := checkAuthorize(q, f.opts.ClientID, f.opts.RedirectURI); err != nil {
		http.Error(w, "fake provider: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		http.Error(w, "fake provider: scope without openid", http.StatusBadRequest)
		return
	}
	if q.Get("nonce") == "" {
		http.Error(w, "fake provider: no nonce", http.StatusBadRequest)
		return
	}
	formPost := q.Get("response_mode") == "form_post"
	if m := q.Get("response_mode"); m != "" && m != "query" && !formPost {
		http.Error(w, "fake provider: response_mode "+m, http.StatusBadRequest)
		return
	}
	// Apple requires a form post when the name or email is asked for.
	scope := " " + q.Get("scope") + " "
	if f.opts.Apple != nil && (strings.Contains(scope, " name ") || strings.Contains(scope, " email ")) && !formPost {
		http.Error(w, "fake Apple: response_mode must be form_post when name or email is requested", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	deny, user := f.deny, f.user
	f.mu.Unlock()
	if deny {
		answer(w, r, f.opts.RedirectURI, map[string][]string{"error": {"access_denied"}, "state": {q.Get("state")}}, formPost)
		return
	}
	code := f.codes.issue(&grant{
		clientID: f.opts.ClientID, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), scope: q.Get("scope"), user: user,
	})
	answer(w, r, f.opts.RedirectURI, map[string][]string{"code": {code}, "state": {q.Get("state")}}, formPost)
}

func (f *OIDC) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		(&tokenError{http.StatusBadRequest, "invalid_request", err.Error()}).write(w)
		return
	}
	secretOK := equalSecret(f.opts.ClientSecret)
	if a := f.opts.Apple; a != nil {
		secretOK = func(s string) bool { return a.check(s, f.opts.ClientID, f.opts.Now()) }
	}
	if terr := checkClient(r, f.opts.AuthMethod, f.opts.ClientID, secretOK); terr != nil {
		terr.write(w)
		return
	}
	g, terr := f.codes.redeem(r, f.opts.ClientID)
	if terr != nil {
		terr.write(w)
		return
	}
	access := rand.Text()
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	f.mu.Lock()
	bad := f.bad
	f.bad = Good
	f.issued = Issued{AccessToken: access}
	if sub := g.user.(User).Subject; f.opts.RefreshTokens && !f.consented[sub] {
		if f.consented == nil {
			f.consented = map[string]bool{}
		}
		f.consented[sub] = true
		f.issued.RefreshToken = rand.Text()
		resp["refresh_token"] = f.issued.RefreshToken
	}
	f.mu.Unlock()
	if bad != NoIDToken {
		resp["id_token"] = f.mint(g.user.(User), f.opts.ClientID, g.nonce, access, bad)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

// IDToken mints an ID token for u as the provider's SDK would give a
// native app: audience aud, the nonce when not "", and the defect bad.
func (f *OIDC) IDToken(u User, aud, nonce string, bad Bad) string {
	return f.mint(u, aud, nonce, "", bad)
}

func (f *OIDC) mint(u User, aud, nonce, accessToken string, bad Bad) string {
	now := f.opts.Now()
	iss := f.Issuer
	if tid, ok := u.Extra["tid"].(string); ok {
		iss = strings.ReplaceAll(iss, "{tenantid}", tid)
	}
	claims := map[string]any{
		"iss": iss, "sub": u.Subject, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if u.Email != "" {
		claims["email"] = u.Email
	}
	if u.EmailVerified != nil {
		claims["email_verified"] = u.EmailVerified
	}
	if u.Name != "" {
		claims["name"] = u.Name
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	for k, v := range u.Extra {
		claims[k] = v
	}
	switch bad {
	case BadNonce:
		claims["nonce"] = rand.Text()
	case BadAudience:
		claims["aud"] = "another-client"
	case BadIssuer:
		claims["iss"] = "https://evil.example"
	case Expired:
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	payload, _ := json.Marshal(claims)
	if bad == AlgNone {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
	}
	key, kid := f.key, "good"
	if bad == UnknownKey {
		key, kid = f.other, "unknown"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, _ := jws.CompactSerialize()
	if bad == BadSignature {
		// Change the payload under the signature: another subject.
		parts := strings.Split(s, ".")
		claims["sub"] = "someone-else"
		other, _ := json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(other)
		s = strings.Join(parts, ".")
	}
	return s
}
