package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// discovery is what an OpenID Connect provider's discovery document says,
// kept once fetched.
type discovery struct {
	// issuer is the discovered issuer: the configured one, or Microsoft's
	// {tenantid} template.
	issuer   string
	endpoint oauth2.Endpoint
	algs     []jose.SignatureAlgorithm
	keys     *oidc.RemoteKeySet
	verifier *oidc.IDTokenVerifier
}

// go-oidc's list of the algorithms it verifies; "none" is never among
// them.
var oidcAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// discover fetches the discovery document once, bounded by the discovery
// timeout. A failure is not kept: the next sign-in tries again.
func (p *Provider) discover(ctx context.Context) (*discovery, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	dctx := oidc.ClientContext(ctx, p.client)
	if p.prof.multiTenant {
		// The discovered issuer is a template that cannot equal the URL;
		// verify checks each token's issuer against it with its tid.
		dctx = oidc.InsecureIssuerURLContext(dctx, p.prof.issuer)
	}
	op, err := oidc.NewProvider(dctx, p.prof.issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: err}
		}
		return nil, &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
	}
	var doc struct {
		Issuer      string   `json:"issuer"`
		JWKSURL     string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := op.Claims(&doc); err != nil || doc.JWKSURL == "" {
		return nil, &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: fmt.Errorf("discovery document without jwks_uri: %v", err)}
	}
	d := &discovery{issuer: p.prof.issuer, endpoint: op.Endpoint()}
	if p.prof.multiTenant {
		// common and organizations give the {tenantid} template;
		// consumers gives the issuer of its one tenant (Microsoft
		// accounts), which the same check with the token's tid matches.
		d.issuer = doc.Issuer
	}
	// The client authentication the provider documents. Discovery's
	// default is client_secret_basic; Apple lists only client_secret_post.
	// Never auto-detect: it would try twice with a single-use code.
	d.endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if len(doc.AuthMethods) > 0 && !slices.Contains(doc.AuthMethods, "client_secret_basic") && slices.Contains(doc.AuthMethods, "client_secret_post") {
		d.endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	var algs []string
	for _, a := range doc.Algs {
		if slices.Contains(oidcAlgs, a) {
			algs = append(algs, a)
			d.algs = append(d.algs, jose.SignatureAlgorithm(a))
		}
	}
	if len(algs) == 0 {
		algs, d.algs = []string{oidc.RS256}, []jose.SignatureAlgorithm{jose.RS256}
	}
	// The key set fetches with our client; its context is kept for later
	// fetches, so it must not be the request's.
	d.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), doc.JWKSURL)
	d.verifier = oidc.NewVerifier(d.issuer, d.keys, &oidc.Config{
		// The audience is checked in verify, against several client IDs
		// (go-oidc takes one).
		SkipClientIDCheck: true,
		// The template issuer is checked in verify, with the token's tid.
		SkipIssuerCheck:      p.prof.multiTenant,
		SupportedSigningAlgs: algs,
		Now:                  p.clock,
	})
	p.disc = d
	return d, nil
}

// verify checks an ID token and reads the identity from it. go-oidc does
// the checks (signature against the provider's keys, iss, exp); the
// signature is verified on its own first so that a failure can be told
// apart (go-oidc's errors are not typed), and the payload is read only
// after the signature holds. The audience, the nonce, Microsoft's
// template issuer and at_hash are checked here, as go-oidc leaves them to
// the caller.
func (p *Provider) verify(ctx context.Context, raw, nonce string, audiences []string, accessToken string) (Identity, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	if _, err := jose.ParseSignedCompact(raw, d.algs); err != nil {
		return Identity{}, p.badToken(CheckMalformed, err)
	}
	payload, err := d.keys.VerifySignature(ctx, raw)
	if err != nil {
		var nerr net.Error
		var uerr *url.Error
		// go-oidc wraps a failed key fetch as "fetching keys ..." without
		// a type when the provider answers an error status: that is the
		// provider down, not a bad token.
		if errors.As(err, &nerr) || errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded) || strings.HasPrefix(err.Error(), "fetching keys") {
			return Identity{}, &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
		}
		return Identity{}, p.badToken(CheckSignature, err)
	}
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Identity{}, p.badToken(CheckClaims, err)
	}
	tok, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return Identity{}, p.badToken(CheckExpired, err)
		case !p.prof.multiTenant && c.Issuer != d.issuer:
			return Identity{}, p.badToken(CheckIssuer, err)
		case c.NotBefore != nil && time.Unix(int64(*c.NotBefore), 0).After(p.clock()):
			return Identity{}, p.badToken(CheckNotYetValid, err)
		}
		return Identity{}, p.badToken(checkUnclassified, err)
	}
	if p.prof.multiTenant {
		if !tenantRE.MatchString(c.TenantID) || c.Issuer != strings.ReplaceAll(d.issuer, "{tenantid}", c.TenantID) {
			return Identity{}, p.badToken(CheckIssuer, fmt.Errorf("issuer %q is not %q for tenant %q", c.Issuer, d.issuer, c.TenantID))
		}
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		return Identity{}, p.badToken(CheckAudience, fmt.Errorf("audience %q is none of our client IDs", []string(c.Audience)))
	}
	// azp names the client the token was issued to when it has several
	// audiences (OpenID Connect Core 3.1.3.7): it must be ours too.
	if c.AuthorizedParty != "" && !slices.Contains(audiences, c.AuthorizedParty) {
		return Identity{}, p.badToken(CheckAudience, fmt.Errorf("authorized party %q is not one of our client IDs", c.AuthorizedParty))
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return Identity{}, p.badToken(CheckNonce, errors.New("the nonce is not this sign-in's"))
	}
	if accessToken != "" && tok.AccessTokenHash != "" {
		if err := tok.VerifyAccessToken(accessToken); err != nil {
			return Identity{}, p.badToken(CheckAccessToken, err)
		}
	}
	if c.Subject == "" {
		return Identity{}, p.badToken(CheckSubject, errors.New("no sub"))
	}
	id := Identity{Provider: p.cfg.Name, Subject: c.Subject, Email: strings.TrimSpace(c.Email), Name: strings.TrimSpace(c.Name)}
	if id.Email == "" {
		return Identity{}, &Error{Kind: KindNoEmail, Provider: p.cfg.Label, Err: errors.New("the ID token has no email (was the email scope granted?)")}
	}
	if p.prof.emailVerified != nil {
		id.EmailVerified = p.prof.emailVerified(&c)
	} else {
		id.EmailVerified = bool(c.EmailVerified)
	}
	return id, nil
}

// idClaims are the ID token claims read, with the providers' spellings.
type idClaims struct {
	Issuer          string    `json:"iss"`
	Subject         string    `json:"sub"`
	Audience        audience  `json:"aud"`
	AuthorizedParty string    `json:"azp"`
	Nonce           string    `json:"nonce"`
	NotBefore       *float64  `json:"nbf"`
	Email           string    `json:"email"`
	EmailVerified   looseBool `json:"email_verified"`
	Name            string    `json:"name"`
	// Microsoft's tenant, and its "email domain owner verified".
	TenantID                 string    `json:"tid"`
	EmailDomainOwnerVerified looseBool `json:"xms_edov"`
}

// audience is aud, a string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// looseBool is a boolean claim as providers send it: true, or the string
// "true" (Apple's email_verified sometimes, Microsoft's xms_edov as "1").
// Anything else is false: a claim we cannot read proves nothing.
type looseBool bool

func (b *looseBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = looseBool(v)
	case string:
		*b = looseBool(v == "true" || v == "1")
	case float64:
		*b = looseBool(v == 1)
	default:
		*b = false
	}
	return nil
}
