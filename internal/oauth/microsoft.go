package oauth

// Microsoft identity platform v2.0
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc):
// the issuer is https://login.microsoftonline.com/{tenant}/v2.0. For the
// shared tenants (common, organizations, consumers) discovery answers the
// template https://login.microsoftonline.com/{tenantid}/v2.0, which no
// token carries as is: each token is checked against the template with its
// own tid claim, so a token still names the tenant that issued it.
func microsoftProfile(tenant string) profile {
	if tenant == "" {
		tenant = "common"
	}
	return profile{
		kind:          kindOIDC,
		issuer:        "https://login.microsoftonline.com/" + tenant + "/v2.0",
		scopes:        []string{"openid", "email", "profile"},
		multiTenant:   tenant == "common" || tenant == "organizations" || tenant == "consumers",
		emailVerified: microsoftEmailVerified,
		// A refresh token comes only with the offline_access scope.
		offlineScope: "offline_access",
	}
}

// microsoftEmailVerified: Microsoft's ID token has no email_verified, and
// its email claim is whatever the tenant's administrator typed: any tenant
// can give a user someone else's address, and servers that matched
// accounts on it were taken over that way ("nOAuth", 2023). So the email
// counts as verified only with xms_edov (an optional claim the app
// registration must ask for) saying the email's domain owner is verified.
// Without it the person signs in to a linked identity or a new account,
// never into an account matched by email.
func microsoftEmailVerified(c *idClaims) bool { return bool(c.EmailDomainOwnerVerified) }
