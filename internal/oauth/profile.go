package oauth

import (
	"fmt"
	"slices"
	"time"
)

type providerKind int

const (
	kindOIDC providerKind = iota
	kindGitHub
)

// profile is what one provider's file says about it: the protocol, the
// issuer, the default scopes and its quirks.
type profile struct {
	kind   providerKind
	issuer string
	scopes []string
	// formPost asks for response_mode=form_post (Apple).
	formPost bool
	// multiTenant: the discovered issuer is a template with {tenantid},
	// checked against the token's tid (Microsoft's shared tenants).
	multiTenant bool
	// emailVerified reads the claims' verdict on the email; nil is the
	// standard email_verified claim.
	emailVerified func(c *idClaims) bool
	// clientSecret makes the secret for one exchange (Apple); nil is the
	// configured one.
	clientSecret func(now time.Time) (string, error)
	// offlineScope and offlineParam are how the provider is asked for a
	// refresh token, when tokens are kept (Config.StoreTokens); a provider
	// with neither sends one unasked (GitLab, Apple) or has none (GitHub's
	// tokens do not expire unless the app opts in).
	offlineScope string
	offlineParam [2]string
}

// profileOf picks the provider's file by its name; any other name is
// generic OpenID Connect.
func profileOf(c Config) (profile, error) {
	var p profile
	switch c.Name {
	case "google":
		p = googleProfile()
	case "microsoft":
		p = microsoftProfile(c.Tenant)
	case "apple":
		if c.AppleKey == nil || c.AppleTeamID == "" || c.AppleKeyID == "" {
			return p, fmt.Errorf("oauth apple: the team ID, key ID and key are needed to sign the client secret")
		}
		p = appleProfile(c)
	case "gitlab":
		p = gitlabProfile(c.Issuer)
	case "github":
		p = githubProfile()
	default:
		if c.Issuer == "" {
			return p, fmt.Errorf("oauth %s: an issuer is needed", c.Name)
		}
		p = genericProfile(c.Issuer)
	}
	if c.StoreTokens && p.offlineScope != "" {
		p.scopes = append(p.scopes, p.offlineScope)
	}
	for _, s := range c.Scopes {
		if !slices.Contains(p.scopes, s) {
			p.scopes = append(p.scopes, s)
		}
	}
	return p, nil
}
