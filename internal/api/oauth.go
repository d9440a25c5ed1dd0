package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// The token endpoint speaks to RFC 6749 clients (golang.org/x/oauth2 and
// the like) as well as to Gatehouse's own: besides the problem fields, its
// errors carry the §5.2 members `error` and `error_description`, which is
// all such a client reads.

// tokenOperation is the OperationID of POST /v1/token.
const tokenOperation = "token"

// oauthErrors give the RFC 6749 §5.2 error of a problem code. A code not
// listed gets none: nothing in RFC 6749 or its registry says it.
var oauthErrors = map[string]string{
	string(auth.KindInvalidRequest):     "invalid_request",
	string(auth.KindInvalidCredentials): "invalid_grant",
	"invalid_credential":                "invalid_grant",
	string(auth.KindInvalidCode):        "invalid_grant",
	string(auth.KindCodeExpired):        "invalid_grant",
	string(auth.KindTokenExpired):       "invalid_grant",
	string(auth.KindTokenRevoked):       "invalid_grant",
	string(auth.KindForbidden):          "invalid_grant",
	string(auth.KindEmailUnverified):    "invalid_grant",
	"conflict":                          "invalid_grant",
	// The code or mfa_token is dead, or the account's second factors are
	// locked: retrying the grant as it is cannot succeed.
	string(auth.KindTooManyAttempts): "invalid_grant",
	// This client must wait (Retry-After): RFC 8628's token endpoint error
	// for a client that polls too fast says just that.
	string(auth.KindRateLimited): "slow_down",
	string(auth.KindUnavailable): "temporarily_unavailable",
	"internal":                   "server_error",
}

// withOAuthError is a huma transformer: on the token endpoint, every
// problem gains the RFC 6749 members; other operations' answers pass
// through untouched.
func withOAuthError(ctx huma.Context, _ string, v any) (any, error) {
	p, ok := v.(*Problem)
	if !ok || p.OAuthError != "" {
		return v, nil
	}
	if op := ctx.Operation(); op == nil || op.OperationID != tokenOperation {
		return v, nil
	}
	c := *p
	c.OAuthError = oauthErrors[p.Code]
	if c.OAuthError == "" {
		return v, nil
	}
	if unsupportedGrant(p) {
		c.OAuthError = "unsupported_grant_type"
	}
	c.OAuthErrorDescription = oauthDescription(p)
	return &c, nil
}

// unsupportedGrant reports whether the problem is about a grant_type that
// was given but is none of ours (a missing one is invalid_request).
func unsupportedGrant(p *Problem) bool {
	for _, f := range p.Errors {
		if f.Field == "grant_type" && f.Message != "is required" {
			return true
		}
	}
	return false
}

// oauthDescription is the problem's detail and field errors in the
// characters RFC 6749 allows an error_description (printable ASCII but
// '"' and '\'): what a client that shows only this member needs.
func oauthDescription(p *Problem) string {
	var b strings.Builder
	b.WriteString(p.Detail)
	for i, f := range p.Errors {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\' || r < 0x20 || r > 0x7e:
			return -1
		}
		return r
	}, b.String())
}

// Resolve reads the client authentication an RFC 6749 client may send in
// the Authorization header: Basic with its client ID and an empty password
// (golang.org/x/oauth2 sends that for a client without a secret). Any
// other header is left to the grant, which does not read it.
func (in *tokenInput) Resolve(ctx huma.Context) []error {
	h := ctx.Header("Authorization")
	if scheme, _, _ := strings.Cut(h, " "); !strings.EqualFold(scheme, "Basic") {
		return nil
	}
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	_, secret, ok := r.BasicAuth()
	in.basicSecret = !ok || secret != ""
	return nil
}

// clientProblem refuses a client that authenticates with a secret:
// Gatehouse has no client secrets, so it can verify none, and saying yes
// would tell a confidential client it had authenticated. Through the
// Authorization header the answer names the scheme (RFC 6749 §5.2).
func clientProblem(basic bool) *Problem {
	p := newProblem(http.StatusUnauthorized, string(auth.KindUnauthorized),
		"Gatehouse has no client secrets: send client_id alone, or Basic authentication with an empty password.")
	p.OAuthError = "invalid_client"
	if basic {
		p.headers = http.Header{"Www-Authenticate": {`Basic realm="gatehouse"`}}
	} else {
		p.Errors = []FieldError{{Field: "client_secret", Message: "must be empty: clients have no secrets"}}
	}
	p.OAuthErrorDescription = oauthDescription(p)
	return p
}

// identity is the account a password or otp grant names: username (RFC
// 6749's name for it, an email or a phone) or email or phone.
func (in *tokenInput) identity() (auth.Identity, error) {
	b := &in.Body
	if b.Username == "" {
		return auth.Identity{Email: b.Email, Phone: b.Phone}, nil
	}
	if b.Email != "" || b.Phone != "" {
		return auth.Identity{}, fieldProblem("username", "give username or email or phone, not two of them")
	}
	if strings.Contains(b.Username, "@") {
		return auth.Identity{Email: b.Username}, nil
	}
	return auth.Identity{Phone: b.Username}, nil
}

// byUsername names username in the field errors of an account given by
// username, where the flow named email or phone.
func (in *tokenInput) byUsername(err error) error {
	var ae *auth.Error
	if in.Body.Username == "" || !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	c := *ae
	c.Fields = slices.Clone(ae.Fields)
	for i, f := range c.Fields {
		if f.Field == "email" || f.Field == "phone" {
			c.Fields[i].Field = "username"
		}
	}
	return &c
}
