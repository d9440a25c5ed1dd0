package oauth

// Google: OpenID Connect at https://accounts.google.com
// (https://developers.google.com/identity/openid-connect/openid-connect).
// email_verified is a boolean claim and Google's own verdict; for a Google
// Workspace address it says the domain's administrator manages the account.
func googleProfile() profile {
	return profile{kind: kindOIDC, issuer: "https://accounts.google.com", scopes: []string{"openid", "email", "profile"}}
}
