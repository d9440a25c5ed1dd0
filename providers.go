package gatehouse

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/web"
)

// newProviders builds the providers of cfg.OAuth for the pages. Nothing is
// fetched here: an OpenID Connect provider discovers itself at its first
// sign-in, so a provider that is down does not stop start-up.
func newProviders(cfg Config) ([]web.Provider, error) {
	out := make([]web.Provider, 0, len(cfg.OAuth))
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

// provider is an oauth.Provider as the pages use it (web.Provider): the
// one place where what a provider says becomes what auth decides on.
type provider struct{ *oauth.Provider }

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
	return auth.ProviderIdentity{
		Provider: id.Provider, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name,
	}, nil
}
