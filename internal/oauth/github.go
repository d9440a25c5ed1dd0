package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// GitHub: OAuth 2.0, not OpenID Connect
// (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).
// It issues no ID token; the identity comes from its REST API with the
// access token: GET /user (the numeric id is the subject, as the login
// can be renamed and reused) and GET /user/emails (only the primary
// address, and only when GitHub marks it verified, counts as verified).
func githubProfile() profile {
	return profile{kind: kindGitHub, scopes: []string{"read:user", "user:email"}}
}

// githubIdentity reads the person from GitHub's API.
func (p *Provider) githubIdentity(ctx context.Context, accessToken string) (Identity, error) {
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := p.githubGet(ctx, accessToken, "/user", &user); err != nil {
		return Identity{}, err
	}
	if user.ID <= 0 {
		return Identity{}, &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: errors.New("GET /user gave no id")}
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.githubGet(ctx, accessToken, "/user/emails", &emails); err != nil {
		return Identity{}, err
	}
	id := Identity{Provider: p.cfg.Name, Subject: strconv.FormatInt(user.ID, 10), Name: strings.TrimSpace(user.Name)}
	if id.Name == "" {
		id.Name = user.Login
	}
	for _, e := range emails {
		// A verified address that is not the primary one is not the
		// person's address of record at GitHub; an unverified primary is
		// anyone's claim. Neither may match an account.
		if e.Primary {
			id.Email, id.EmailVerified = strings.TrimSpace(e.Email), e.Verified
		}
	}
	if id.Email == "" {
		return Identity{}, &Error{Kind: KindNoEmail, Provider: p.cfg.Label, Err: errors.New("no primary email")}
	}
	return id, nil
}

// githubGet GETs one API resource as GitHub documents the call.
func (p *Provider) githubGet(ctx context.Context, accessToken, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ghAPI+path, nil)
	if err != nil {
		return &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: err}
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := p.client.Do(req)
	if err != nil {
		return &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: err}
	}
	if resp.StatusCode >= 500 {
		return &Error{Kind: KindUnreachable, Provider: p.cfg.Label, Err: fmt.Errorf("GET %s: %s", path, resp.Status)}
	}
	if resp.StatusCode != http.StatusOK {
		return &Error{Kind: KindProviderError, Provider: p.cfg.Label, Code: strconv.Itoa(resp.StatusCode), Err: fmt.Errorf("GET %s: %s", path, resp.Status)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Kind: KindProviderError, Provider: p.cfg.Label, Err: fmt.Errorf("GET %s: %v", path, err)}
	}
	return nil
}
