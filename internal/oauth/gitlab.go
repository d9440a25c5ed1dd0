package oauth

// GitLab: OpenID Connect at https://gitlab.com, or a self-hosted
// instance's URL from _ISSUER
// (https://docs.gitlab.com/integration/openid_connect_provider/). Its ID
// token carries the standard email_verified.
func gitlabProfile(issuer string) profile {
	if issuer == "" {
		issuer = "https://gitlab.com"
	}
	return profile{kind: kindOIDC, issuer: issuer, scopes: []string{"openid", "email", "profile"}}
}
