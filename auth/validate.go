package auth

import (
	"github.com/google/uuid"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailLength is RFC 5321's limit on a forward path.
const maxEmailLength = 254

// maxNameLength bounds a display name, in characters.
const maxNameLength = 200

// NormalizeEmail trims and lower-cases an address, and returns false when
// it is not a plain address (no display name, one @, a dotted domain).
func NormalizeEmail(s string) (string, bool) {
	// ToLower would turn invalid UTF-8 into U+FFFD, so that different
	// inputs would name one account.
	if !utf8.ValidString(s) {
		return "", false
	}
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" || len(e) > maxEmailLength {
		return "", false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return "", false
	}
	at := strings.LastIndexByte(e, '@')
	domain := e[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	return e, true
}

func emailField(field, email string) (string, *Error) {
	if strings.TrimSpace(email) == "" {
		return "", fieldError(field, "is required")
	}
	e, ok := NormalizeEmail(email)
	if !ok {
		return "", fieldError(field, "must be a valid email address")
	}
	return e, nil
}

func nameField(name string) (string, *Error) {
	n := strings.TrimSpace(name)
	if utf8.RuneCountInString(n) > maxNameLength {
		return "", fieldError("name", "must be at most 200 characters")
	}
	if !utf8.ValidString(n) || strings.ContainsFunc(n, unicode.IsControl) {
		return "", fieldError("name", "must not contain control characters")
	}
	return n, nil
}

// validID reports whether id can be one of ours (a UUID in canonical
// form). Anything else gets not_found without asking the store, so
// bytes PostgreSQL refuses in text never reach it.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// checkPassword applies the policy to a new password.
func (s *Service) checkPassword(field, pw string) *Error {
	if msg := s.policy.Check(pw); msg != "" {
		return &Error{Kind: KindWeakPassword, Message: "The password is too weak.", Fields: []FieldError{{field, msg}}}
	}
	return nil
}
