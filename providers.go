package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/web"
)

// newProviders builds the providers of cfg.OAuth, for the pages and the
// API. Nothing is fetched here: an OpenID Connect provider discovers
// itself at its first sign-in, so a provider that is down does not stop
// start-up.
func newProviders(cfg Config) ([]provider, error) {
	out := make([]provider, 0, len(cfg.OAuth))
	for _, c := range cfg.OAuth {
		opts := []oauth.Option{oauth.WithClock(cfg.Clock.Now)}
		if cfg.OAuthHTTPClient != nil {
			opts = append(opts, oauth.WithHTTPClient(cfg.OAuthHTTPClient))
		}
		opts = append(opts, cfg.OAuthOptions[c.Name]...)
		p, err := oauth.New(c, opts...)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_OAUTH_%s: %w", upper(c.Name), err)
		}
		out = append(out, provider{p})
	}
	return out, nil
}

// logProviders writes the one start-up line naming the sign-in providers
// that are on, by name and button label — google ("Google"), github
// ("GitHub") —, or "none", so an operator sees at once whether a
// provider's variables were read. Nothing else of their settings is
// logged: client secrets and Apple's key stay out of the log.
func logProviders(ctx context.Context, log *slog.Logger, ps []provider) {
	list := "none"
	if len(ps) > 0 {
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = fmt.Sprintf("%s (%q)", p.Name(), p.Label())
		}
		list = strings.Join(names, ", ")
	}
	log.InfoContext(ctx, "sign-in providers: "+list)
}

// upper is name as the environment spells it.
func upper(name string) string {
	b := []byte(name)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// provider is an oauth.Provider as the pages (web.Provider) and the API
// (api.Provider) use it: the one place where what a provider says becomes
// what auth decides on.
type provider struct{ *oauth.Provider }

var (
	_ web.Provider = provider{}
	_ api.Provider = provider{}
)

// webProviders and apiProviders are ps as each surface takes them.
func webProviders(ps []provider) []web.Provider {
	out := make([]web.Provider, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func apiProviders(ps []provider) []api.Provider {
	out := make([]api.Provider, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Start begins a sign-in at the provider.
func (p provider) Start(ctx context.Context) (web.ProviderRequest, error) {
	r, err := p.Provider.Start(ctx)
	return web.ProviderRequest{URL: r.URL, State: r.State, Nonce: r.Nonce, Verifier: r.Verifier}, err
}

// Finish redeems the answer's code and returns who the provider vouched
// for. Apple gives the person's name only in its first form post's user
// field, unsigned: it is used only as the profile name of the identity the
// ID token proved.
func (p provider) Finish(ctx context.Context, answer url.Values, verifier, nonce string) (auth.ProviderIdentity, error) {
	id, err := p.Provider.Finish(ctx, answer.Get("code"), verifier, nonce)
	if err != nil {
		return auth.ProviderIdentity{}, err
	}
	if id.Name == "" && p.FormPost() {
		id.Name = oauth.AppleName(answer.Get("user"))
	}
	out := p.identityOf(id)
	if t := id.Token; t != nil {
		out.Tokens = &auth.ProviderTokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.Type(), Expiry: t.Expiry}
	} else {
		// Kept ones go when the setting is turned off: the operator asked
		// for none.
		out.ForgetTokens = !p.StoresTokens()
	}
	return out, nil
}

// VerifyIDToken checks an ID token a native app got from the provider's
// SDK (the id_token grant). Its errors are as api.Provider's contract
// says: the provider unreachable is auth's unavailable, a token without
// an email a request error in the provider's words; any other failure is
// the token's, worded by its kind and check alone (go-oidc's messages
// quote claims, and nothing of the token is logged).
func (p provider) VerifyIDToken(ctx context.Context, raw, nonce string) (auth.ProviderIdentity, error) {
	id, err := p.Provider.VerifyIDToken(ctx, raw, nonce)
	if err == nil {
		return p.identityOf(id), nil
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return auth.ProviderIdentity{}, errors.New("unclassified")
	}
	switch oe.Kind {
	case oauth.KindUnreachable:
		return auth.ProviderIdentity{}, &auth.Error{Kind: auth.KindUnavailable, Message: oe.Words(), Cause: err}
	case oauth.KindNoEmail:
		return auth.ProviderIdentity{}, &auth.Error{Kind: auth.KindInvalidRequest, Message: oe.Words()}
	case oauth.KindBadToken:
		return auth.ProviderIdentity{}, fmt.Errorf("%s (%s)", oe.Kind, oe.Check)
	}
	return auth.ProviderIdentity{}, errors.New(string(oe.Kind))
}

// identityOf is what a provider vouched for, as auth takes it.
func (p provider) identityOf(id oauth.Identity) auth.ProviderIdentity {
	return auth.ProviderIdentity{
		Provider: id.Provider, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name,
		Label: p.Label(),
	}
}
