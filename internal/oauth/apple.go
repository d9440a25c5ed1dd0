package oauth

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// appleAudience is the aud of Apple's client secret.
const appleAudience = "https://appleid.apple.com"

// appleSecretLifetime is how long a signed client secret is good for.
// Apple accepts up to six months; each exchange signs a new one, so a few
// minutes is enough and a leaked one is soon useless.
const appleSecretLifetime = 5 * time.Minute

// Sign in with Apple (https://developer.apple.com/documentation/signinwithapplerestapi):
// OpenID Connect at https://appleid.apple.com. The client ID is the
// Services ID; the client secret is an ES256 JWT signed with the key from
// Apple. Asking for name or email makes Apple post the answer to the
// callback (response_mode=form_post). The name comes only in that post's
// user field, the first time (AppleName); the ID token's email_verified is
// sometimes the string "true".
func appleProfile(c Config) profile {
	return profile{
		kind:     kindOIDC,
		issuer:   appleAudience,
		scopes:   []string{"openid", "email", "name"},
		formPost: true,
		clientSecret: func(now time.Time) (string, error) {
			return appleClientSecret(c, now)
		},
	}
}

// appleClientSecret signs the client secret as Apple documents it
// (https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret):
// header alg ES256 and kid the key ID; claims iss the team ID, iat, exp
// (at most six months later), aud https://appleid.apple.com, sub the
// client ID.
func appleClientSecret(c Config, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.AppleKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.AppleKeyID))
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer: c.AppleTeamID, Subject: c.ClientID, Audience: jwt.Audience{appleAudience},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(appleSecretLifetime)),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// AppleName reads the person's name from the user field Apple posts to
// the callback the first time they authorise the app
// ({"name":{"firstName":..,"lastName":..},"email":..}); "" when absent.
// It is not signed: use it only as the profile name of the identity the
// verified ID token proves.
func AppleName(user string) string {
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if user == "" || json.Unmarshal([]byte(user), &u) != nil {
		return ""
	}
	return strings.TrimSpace(u.Name.FirstName + " " + u.Name.LastName)
}
