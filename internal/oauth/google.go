package oauth

// Google: OpenID Connect at https://accounts.google.com
// (https://developers.google.com/identity/openid-connect/openid-connect).
// email_verified is a boolean claim and Google's own verdict; for a Google
// Workspace address it says the domain's administrator manages the account.
//
// Google sends a refresh token only when the authorization request says
// access_type=offline, and only at the first consent: a later sign-in
// that brings none keeps the one stored.
func googleProfile() profile {
	return profile{
		kind: kindOIDC, issuer: "https://accounts.google.com", scopes: []string{"openid", "email", "profile"},
		offlineParam: [2]string{"access_type", "offline"},
	}
}
