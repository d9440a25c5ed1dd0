// Package oauth signs people in with other providers: OpenID Connect
// (Google, Microsoft, Apple, GitLab, and any provider with discovery) and
// GitHub's OAuth 2.0 with its user API. It turns the environment into
// providers (LoadConfigs, New) and runs the authorization code flow with
// PKCE (Start, Finish) or checks an ID token a native app got from the
// provider's SDK (VerifyIDToken), returning who the provider says the person
// is (Identity). Which account that identity signs in to is auth's decision;
// this package knows nothing of accounts, HTTP handlers or storage.
//
// The protocol is golang.org/x/oauth2's and the ID token checks are
// github.com/coreos/go-oidc's; this package adds what they leave to the
// caller: the nonce, several audiences, Microsoft's multi-tenant issuer,
// each provider's quirks about email_verified, and errors typed by what
// went wrong.
package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Identity is who a provider says the person is. Provider and Subject
// together are the stable key of a linked identity; the email may change at
// the provider and is evidence only when EmailVerified.
type Identity struct {
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	// Token is what the code exchange returned (access token, refresh
	// token, expiry), set by Finish only when the provider's StoreTokens is
	// on: the caller keeps it sealed. Never set by VerifyIDToken.
	Token *oauth2.Token
}

// AuthRequest is a started sign-in: send the browser to URL, and keep
// State, Nonce and Verifier for the callback (bound to the browser, never
// sent anywhere else: the verifier is PKCE's secret).
type AuthRequest struct {
	URL      string
	State    string
	Nonce    string
	Verifier string
}

// Provider is one configured provider. It is safe for concurrent use; an
// OpenID Connect provider discovers its endpoints and keys at first use
// (never at start-up, so a provider that is down does not stop the
// server) and keeps them.
type Provider struct {
	cfg     Config
	prof    profile
	client  *http.Client
	clock   func() time.Time
	timeout time.Duration

	// GitHub's endpoints (overridable for tests).
	ghWeb, ghAPI string

	mu   sync.Mutex
	disc *discovery // nil until discovered
}

// Option changes a Provider made by New.
type Option func(*Provider)

// WithHTTPClient sends every request to the provider through c (it should
// have a timeout). The default has a 10-second timeout.
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.client = c } }

// WithClock makes ID token expiry and Apple's client secret use now.
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.clock = now } }

// WithIssuer replaces an OpenID Connect provider's issuer (discovery from
// issuer + /.well-known/openid-configuration): tests point a built-in
// provider at a fake with it. For Microsoft's common, organizations and
// consumers tenants the discovered issuer is a template with {tenantid},
// as Microsoft's is.
func WithIssuer(issuer string) Option { return func(p *Provider) { p.prof.issuer = issuer } }

// WithGitHubURLs replaces github.com (web, for authorize and the token)
// and api.github.com (api) for tests.
func WithGitHubURLs(web, api string) Option {
	return func(p *Provider) { p.ghWeb, p.ghAPI = web, api }
}

// WithDiscoveryTimeout bounds discovery and the first key fetch (default
// 10 seconds).
func WithDiscoveryTimeout(d time.Duration) Option { return func(p *Provider) { p.timeout = d } }

// New returns the provider cfg sets up (from LoadConfigs).
func New(cfg Config, opts ...Option) (*Provider, error) {
	p := &Provider{
		cfg:     cfg,
		client:  &http.Client{Timeout: 10 * time.Second},
		clock:   time.Now,
		timeout: 10 * time.Second,
		ghWeb:   "https://github.com",
		ghAPI:   "https://api.github.com",
	}
	if p.cfg.Label == "" {
		p.cfg.Label = builtinLabels[cfg.Name]
		if p.cfg.Label == "" {
			p.cfg.Label = cfg.Name
		}
	}
	prof, err := profileOf(cfg)
	if err != nil {
		return nil, err
	}
	p.prof = prof
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Name is the provider's name in URLs and the environment.
func (p *Provider) Name() string { return p.cfg.Name }

// Label names its button.
func (p *Provider) Label() string { return p.cfg.Label }

// RedirectURI is the callback URL registered with the provider.
func (p *Provider) RedirectURI() string { return p.cfg.RedirectURI }

// FormPost reports whether the provider posts its answer to the callback
// (response_mode=form_post: Apple, when it is asked for the name or
// email). The callback must then take POST, and the cookie binding the
// state must be SameSite=None (a cross-site POST carries no Lax cookie).
func (p *Provider) FormPost() bool { return p.prof.formPost }

// IssuesIDTokens reports whether the provider issues ID tokens (OpenID
// Connect), so VerifyIDToken can check one; GitHub issues none.
func (p *Provider) IssuesIDTokens() bool { return p.prof.kind == kindOIDC }

// StoresTokens reports whether the provider's tokens are to be kept
// after a browser sign-in (Config.StoreTokens).
func (p *Provider) StoresTokens() bool { return p.cfg.StoreTokens }

// Scopes are the scopes asked for.
func (p *Provider) Scopes() []string { return slices.Clone(p.prof.scopes) }

// Start begins a sign-in: a fresh state, nonce (OpenID Connect) and PKCE
// verifier, and the provider's authorization URL asking for the code with
// the S256 challenge. An OpenID Connect provider is discovered first, so
// Start can fail with KindUnreachable.
func (p *Provider) Start(ctx context.Context) (AuthRequest, error) {
	ep, err := p.endpoint(ctx)
	if err != nil {
		return AuthRequest{}, err
	}
	r := AuthRequest{State: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier)}
	if p.prof.kind == kindOIDC {
		r.Nonce = rand.Text()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", r.Nonce))
	}
	if p.prof.formPost {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	if k := p.prof.offlineParam; p.cfg.StoreTokens && k[0] != "" {
		opts = append(opts, oauth2.SetAuthURLParam(k[0], k[1]))
	}
	r.URL = p.oauth2Config(ep, "").AuthCodeURL(r.State, opts...)
	return r, nil
}

// CallbackError is the error the provider sent to the callback (its
// query, or its form for a form post), or nil when it sent a code:
// KindDenied for access_denied, KindProviderError otherwise (or when
// neither came).
func (p *Provider) CallbackError(q url.Values) error {
	switch code := q.Get("error"); {
	case code == "access_denied":
		return &Error{Kind: KindDenied, Provider: p.cfg.Label, Code: code}
	case code != "":
		return &Error{Kind: KindProviderError, Provider: p.cfg.Label, Code: code}
	case q.Get("code") == "":
		return &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: errors.New("the callback has neither a code nor an error")}
	}
	return nil
}

// Finish ends a sign-in with the code from the callback and the verifier
// and nonce Start made: it exchanges the code (with PKCE's verifier and
// the client authentication the provider documents), then for OpenID
// Connect verifies the ID token (signature against the provider's keys,
// iss, aud is our client ID, exp, and the nonce) and reads the identity
// from it; for GitHub it reads the identity from its API. The state must
// have been checked by the caller before.
func (p *Provider) Finish(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	ep, err := p.endpoint(ctx)
	if err != nil {
		return Identity{}, err
	}
	secret := p.cfg.ClientSecret
	if p.prof.clientSecret != nil {
		if secret, err = p.prof.clientSecret(p.clock()); err != nil {
			return Identity{}, &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: err}
		}
	}
	tok, err := p.oauth2Config(ep, secret).Exchange(p.httpContext(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, p.exchangeError(err)
	}
	id, err := p.identityFromToken(ctx, tok, nonce)
	if err == nil && p.cfg.StoreTokens {
		id.Token = tok
	}
	return id, err
}

// identityFromToken reads who the exchange's answer is: GitHub's user
// API, or the ID token.
func (p *Provider) identityFromToken(ctx context.Context, tok *oauth2.Token, nonce string) (Identity, error) {
	if p.prof.kind == kindGitHub {
		return p.githubIdentity(ctx, tok.AccessToken)
	}
	if nonce == "" {
		// Start always makes one: a missing nonce is a caller's bug that
		// would silently drop the replay check.
		return Identity{}, p.badToken(CheckNonce, errors.New("no nonce to check the ID token against"))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, p.badToken(CheckMissing, errors.New("the token response has no id_token"))
	}
	return p.verify(ctx, raw, nonce, []string{p.cfg.ClientID}, tok.AccessToken)
}

// VerifyIDToken checks an ID token a native app got from the provider's
// own SDK (the id_token grant): everything Finish checks, with the
// audience any of the provider's client IDs (ClientID and ClientIDs), and
// the nonce checked when one is given.
func (p *Provider) VerifyIDToken(ctx context.Context, raw, nonce string) (Identity, error) {
	if p.prof.kind != kindOIDC {
		return Identity{}, &Error{Kind: KindUnsupported, Provider: p.cfg.Label, Err: errors.New("the provider issues no ID tokens")}
	}
	return p.verify(ctx, raw, nonce, append([]string{p.cfg.ClientID}, p.cfg.ClientIDs...), "")
}

func (p *Provider) oauth2Config(ep oauth2.Endpoint, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: secret, Endpoint: ep,
		RedirectURL: p.cfg.RedirectURI, Scopes: p.prof.scopes,
	}
}

// httpContext carries our client to x/oauth2 and go-oidc, which take it
// from the context.
func (p *Provider) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.client)
}

// endpoint is GitHub's fixed endpoint, or the discovered one.
func (p *Provider) endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	if p.prof.kind == kindGitHub {
		return oauth2.Endpoint{
			AuthURL: p.ghWeb + "/login/oauth/authorize", TokenURL: p.ghWeb + "/login/oauth/access_token",
			// GitHub documents client_id and client_secret as parameters.
			AuthStyle: oauth2.AuthStyleInParams,
		}, nil
	}
	d, err := p.discover(ctx)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	return d.endpoint, nil
}

func (p *Provider) exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
		}
		return &Error{Kind: KindCodeRejected, Provider: p.cfg.Label, Code: re.ErrorCode, Err: err}
	}
	return &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
}

func (p *Provider) badToken(c Check, err error) error {
	return &Error{Kind: KindBadToken, Provider: p.cfg.Label, Check: c, Err: err}
}
