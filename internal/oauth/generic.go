package oauth

// Any other provider: OpenID Connect with discovery from its issuer, the
// standard claims, email_verified as the standard says (absent is false).
func genericProfile(issuer string) profile {
	return profile{kind: kindOIDC, issuer: issuer, scopes: []string{"openid", "email", "profile"}}
}
