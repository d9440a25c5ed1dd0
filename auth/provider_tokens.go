package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// A provider's own OAuth tokens (for an app that calls the provider's API
// for the user: a user's GitHub repositories, their Google calendar) are
// kept only when the provider's setting asks for them, sealed as TOTP
// secrets are and bound to the identity they belong to, and given out
// only through the admin API. They are the provider's, not ours: Gatehouse
// never uses them, never refreshes them, and forgets them when the
// identity is unlinked or the setting is turned off.

// AuditProviderTokensRead records that the admin API read an identity's
// provider tokens; the detail names the provider.
const AuditProviderTokensRead = "provider_tokens_read"

// ProviderTokens are the tokens a provider's code exchange returned for
// one linked identity.
type ProviderTokens struct {
	// Provider is the identity's provider, filled in when read.
	Provider     string `json:"-"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	// Expiry is when the access token expires, zero when the provider
	// did not say.
	Expiry time.Time `json:"expiry,omitzero"`
	// ObtainedAt is when the sign-in that brought them ended.
	ObtainedAt time.Time `json:"obtained_at"`
}

var errNoProviderTokens = &Error{Kind: KindNotFound,
	Message: "No provider tokens are kept for this sign-in: they are kept only when GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS=true, from the next sign-in with the provider."}

// tokenSealPurpose binds sealed tokens to the identity they were kept for:
// a sealed value copied onto another identity's row does not open.
func tokenSealPurpose(identityID string) string { return "provider-tokens:" + identityID }

// keepTokens does with the user's identity identityID's stored tokens what id asks:
// keeps the new ones (sealed; a refresh token the provider did not send
// again is kept from before, as Google sends one only at the first
// consent), forgets any when the setting is off, or leaves them when id
// says nothing (a native app's ID token brings none). had says whether
// some are stored now.
func (s *Service) keepTokens(ctx context.Context, userID, identityID string, id ProviderIdentity, had bool) error {
	switch {
	case id.Tokens != nil:
		t := *id.Tokens
		t.ObtainedAt = s.now()
		if t.RefreshToken == "" && had {
			if old, err := s.providerTokens(ctx, userID, identityID); err == nil {
				t.RefreshToken = old.RefreshToken
			}
		}
		if s.sealer == nil {
			return storeErr("keep provider tokens", errors.New("no sealer to keep them with"))
		}
		plain, err := json.Marshal(t)
		if err != nil {
			return storeErr("keep provider tokens", err)
		}
		sealed, err := s.sealer.Seal(tokenSealPurpose(identityID), plain)
		if err != nil {
			return storeErr("seal provider tokens", err)
		}
		if err := s.identities.SetIdentityTokens(ctx, identityID, sealed); err != nil {
			return storeErr("keep provider tokens", err)
		}
	case id.ForgetTokens && had:
		if err := s.identities.SetIdentityTokens(ctx, identityID, nil); err != nil {
			return storeErr("forget provider tokens", err)
		}
	}
	return nil
}

// AdminProviderTokens returns the provider tokens kept for the user's
// identity identityID (not found when the identity is not the user's, or
// when none are kept: the setting was off at its last sign-in), and
// audits the read: whoever holds the admin key can act as the user at
// the provider with them.
func (s *Service) AdminProviderTokens(ctx context.Context, userID, identityID string, c Client) (*ProviderTokens, error) {
	if s.identities == nil {
		return nil, errIdentityNotFound
	}
	t, err := s.providerTokens(ctx, userID, identityID)
	if err != nil {
		return nil, err
	}
	if list, err := s.identities.Identities(ctx, userID); err == nil {
		for _, i := range list {
			if i.ID == identityID {
				t.Provider = i.Provider
			}
		}
	}
	s.audit(ctx, userID, AuditProviderTokensRead, c, t.Provider)
	return t, nil
}

// providerTokens opens the tokens kept for the user's identity
// identityID.
func (s *Service) providerTokens(ctx context.Context, userID, identityID string) (*ProviderTokens, error) {
	sealed, err := s.identities.IdentityTokens(ctx, userID, identityID)
	if errors.Is(err, ErrNotFound) {
		return nil, errIdentityNotFound
	} else if err != nil {
		return nil, storeErr("read provider tokens", err)
	}
	if sealed == nil {
		return nil, errNoProviderTokens
	}
	if s.sealer == nil {
		return nil, storeErr("open provider tokens", errors.New("no sealer"))
	}
	plain, err := s.sealer.Open(tokenSealPurpose(identityID), sealed)
	if err != nil {
		return nil, storeErr("open provider tokens", err)
	}
	var t ProviderTokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, storeErr("read provider tokens", err)
	}
	return &t, nil
}
