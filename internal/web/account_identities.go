package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// cardIdentities is the "Sign-in methods" card: the providers linked to
// the account, each with Unlink, and a "Link {Label}" link for each
// configured provider (GET /v1/oauth/{name}/start?link=true, oauth.go).
const cardIdentities = "identities"

// identitiesCard is the card of the linked providers.
type identitiesCard struct {
	card
	// On: providers are configured, or the account has linked ones.
	On   bool
	List []identityRow
	// Links are the "Link {Label}" links of the configured providers.
	Links []providerButton
}

// identityRow is one linked provider.
type identityRow struct {
	ID, Label, Email string
	Linked           moment
	LastUsed         *moment
}

// identitiesView fills the card: what is linked, and what can be.
func (s *Server) identitiesView(ctx context.Context, p *auth.Principal, now time.Time) (identitiesCard, error) {
	var c identitiesCard
	if len(s.o.Providers) == 0 || s.o.Sealer == nil {
		return c, nil
	}
	list, err := s.auth.Identities(ctx, p)
	if err != nil {
		return c, fmt.Errorf("account page: %w", err)
	}
	labels := s.providerLabels()
	for _, pr := range s.o.Providers {
		c.Links = append(c.Links, providerButton{
			Label: pr.Label(), Href: s.path("/v1/oauth/" + url.PathEscape(pr.Name()) + "/start?link=true"),
		})
	}
	for _, li := range list {
		row := identityRow{ID: li.ID, Label: labels[li.Provider], Email: li.Email, Linked: when(li.CreatedAt, now)}
		if row.Label == "" {
			row.Label = li.Provider // a provider no longer configured
		}
		if li.LastUsedAt != nil {
			m := when(*li.LastUsedAt, now)
			row.LastUsed = &m
		}
		c.List = append(c.List, row)
	}
	c.On = true
	return c, nil
}

// accountUnlink removes one linked provider: never the last way in (409,
// said in the card), and with a second factor on only from a session that
// passed it.
func (s *Server) accountUnlink(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := s.auth.UnlinkIdentity(r.Context(), p, r.PathValue("id"), client(r)); err != nil {
		s.accountFail(w, r, p, cardIdentities, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	s.accountDone(w, r, p, "identity_removed")
}
