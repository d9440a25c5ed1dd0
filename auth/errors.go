package auth

import (
	"errors"
	"time"
)

// Kind classifies an Error. Each kind is one stable `code` of the contract
// (docs/contract.md, /openapi.json); the
// api package maps kinds to HTTP statuses.
type Kind string

// The kinds of Error (docs/contract.md, "Conventions").
const (
	KindInvalidRequest     Kind = "invalid_request"
	KindEmailTaken         Kind = "email_taken"
	KindPhoneTaken         Kind = "phone_taken"
	KindInvalidCredentials Kind = "invalid_credentials"
	KindInvalidCode        Kind = "invalid_code"
	KindCodeExpired        Kind = "code_expired"
	KindTooManyAttempts    Kind = "too_many_attempts"
	KindRateLimited        Kind = "rate_limited"
	KindUnauthorized       Kind = "unauthorized"
	KindForbidden          Kind = "forbidden"
	KindNotFound           Kind = "not_found"
	KindWeakPassword       Kind = "weak_password"
	KindTokenExpired       Kind = "token_expired"
	KindTokenRevoked       Kind = "token_revoked"
	KindUnavailable        Kind = "unavailable"
	// KindEmailUnverified refuses a password sign-in while the account's
	// email is unproven and Config.RequireVerifiedEmail is on.
	KindEmailUnverified Kind = "email_unverified"
)

// FieldError is one invalid input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is the one error type flows return. Message is safe to show to the
// client; nothing internal goes into it.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	// RetryAfter is set for rate_limited and too_many_attempts.
	RetryAfter time.Duration
	// Cause, when set, is a sentinel naming the exact situation (such as
	// ErrNoEnrolment) for a surface that words it itself, naming its own
	// routes or pages; errors.Is finds it. It is never shown.
	Cause error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Kind)
	}
	return string(e.Kind) + ": " + e.Message
}

// Unwrap returns the Cause, so errors.Is(err, ErrNoEnrolment) holds.
func (e *Error) Unwrap() error { return e.Cause }

// Is makes errors.Is(err, ErrNotFound) and friends match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Message == ""
}

// Sentinels for errors.Is; stores return these (possibly wrapped).
var (
	ErrNotFound    = &Error{Kind: KindNotFound}
	ErrEmailTaken  = &Error{Kind: KindEmailTaken}
	ErrPhoneTaken  = &Error{Kind: KindPhoneTaken}
	ErrUnavailable = &Error{Kind: KindUnavailable}
)

// Causes: situations whose Error shares its kind with others, named so that
// the API and the pages can say what to do next in their own terms. They
// are matched with errors.Is on the *Error the flows return.
var (
	// ErrNoEnrolment: no authenticator set-up is waiting for a code; it
	// was never started, it expired (15 minutes), or it was confirmed.
	ErrNoEnrolment = errors.New("auth: no authenticator set-up is waiting for a code")
	// ErrNeedsAAL2: the session was signed in without the second factor
	// the account has, and this needs it; a step-up (StepUp) adds it to
	// the session.
	ErrNeedsAAL2 = errors.New("auth: this needs a session with the second factor (aal2)")
	// ErrNoSecondFactor: a step-up was asked of an account that has no
	// second factor it could step up with; it must set one up first.
	ErrNoSecondFactor = errors.New("auth: no second factor to step up with")
)

// KindOf returns the kind of err, or "" when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func fieldError(field, msg string) *Error {
	return &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: []FieldError{{field, msg}}}
}

// retryAfter returns a copy of e that says to wait d: the package's
// errors are shared values, never changed in place.
func retryAfter(e *Error, d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// collect gathers the field errors of every check of one request, so a
// client learns of every bad field at once (docs/contract.md: one errors
// entry per bad field). One failed check is returned as it is (a weak
// password stays weak_password); several become one invalid_request
// naming them all. None is nil.
func collect(errs ...*Error) *Error {
	var failed []*Error
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	}
	all := &Error{Kind: KindInvalidRequest, Message: "The request is not valid."}
	for _, e := range failed {
		all.Fields = append(all.Fields, e.Fields...)
	}
	return all
}
