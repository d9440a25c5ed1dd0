package oauth

import (
	"errors"
	"fmt"
)

// Kind says which part of a provider sign-in failed, so the wiring can tell
// the person in words they understand and pick a status without parsing
// messages.
type Kind string

// The kinds of failure.
const (
	// KindDenied: the person said no at the provider (error=access_denied on
	// the callback). Nothing went wrong; they changed their mind.
	KindDenied Kind = "denied"
	// KindProviderError: the provider sent another error to the callback
	// (invalid_request, server_error, ...), or answered its API with one.
	KindProviderError Kind = "provider_error"
	// KindUnreachable: the provider could not be reached or did not answer
	// in time (discovery, keys, token endpoint, API).
	KindUnreachable Kind = "unreachable"
	// KindCodeRejected: the token endpoint refused the authorization code
	// (used, expired, PKCE verifier or client authentication wrong).
	KindCodeRejected Kind = "code_rejected"
	// KindBadToken: the ID token failed a check; Error.Check says which.
	KindBadToken Kind = "bad_token"
	// KindNoEmail: the provider gave no email address for the person.
	KindNoEmail Kind = "no_email"
	// KindUnsupported: the provider cannot do what was asked (an ID token
	// from GitHub, which issues none).
	KindUnsupported Kind = "unsupported"
)

// Check names the ID token check that failed, for KindBadToken.
type Check string

// The ID token checks.
const (
	CheckMissing      Check = "missing"       // the token response had no id_token
	CheckMalformed    Check = "malformed"     // not a JWS, or signed with an algorithm not accepted (alg none among them)
	CheckSignature    Check = "signature"     // no key of the provider's JWKS verifies it (unknown key, bad signature)
	CheckIssuer       Check = "issuer"        // iss is not the provider
	CheckAudience     Check = "audience"      // aud (or azp) is not one of our client IDs
	CheckExpired      Check = "expired"       // exp has passed
	CheckNotYetValid  Check = "not_yet_valid" // nbf is in the future
	CheckNonce        Check = "nonce"         // nonce is not the one this sign-in sent
	CheckSubject      Check = "subject"       // no sub
	CheckClaims       Check = "claims"        // the claims do not parse
	CheckAccessToken  Check = "at_hash"       // at_hash does not match the access token it came with
	checkUnclassified Check = "invalid"
)

// Error is every failure of a provider sign-in: a Kind for the wiring, the
// provider's name, the ID token Check for KindBadToken, and the cause.
type Error struct {
	Kind     Kind
	Provider string
	Check    Check
	// Code is the provider's error code when it sent one (access_denied,
	// invalid_grant, ...).
	Code string
	Err  error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("oauth %s: %s", e.Provider, e.Kind)
	if e.Check != "" {
		msg += " (" + string(e.Check) + ")"
	}
	if e.Code != "" {
		msg += " [" + e.Code + "]"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Words is what a person signing in should read about the failure: no
// codes, and nothing the provider said that could be phished through (the
// provider's error_description is not shown).
func (e *Error) Words() string {
	name := e.Provider
	switch e.Kind {
	case KindDenied:
		return "You did not allow the sign-in at " + name + ", so you were not signed in."
	case KindUnreachable:
		return name + " did not answer; try again in a moment."
	case KindCodeRejected:
		return name + " did not accept this sign-in (it may have expired or been used already). Start again."
	case KindBadToken:
		return name + "'s answer could not be trusted, so you were not signed in. Start again."
	case KindNoEmail:
		return name + " did not give us an email address for your account, so we cannot sign you in with it."
	case KindUnsupported:
		return "This sign-in is not possible with " + name + "."
	}
	return name + " reported a problem with this sign-in. Start again."
}

// Outage reports a failure of the provider's own service (unreachable,
// timed out, or a 5xx from its token endpoint, keys or API), not of this
// sign-in: the pages answer it 502 (bad gateway), the API 503.
func (e *Error) Outage() bool { return e.Kind == KindUnreachable }

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// BadTokenCheck returns the failed check when err is a KindBadToken
// *Error, or "".
func BadTokenCheck(err error) Check {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindBadToken {
		return e.Check
	}
	return ""
}
