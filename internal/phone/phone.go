// Package phone validates phone numbers and normalises them to E.164, the
// one form Gatehouse stores, compares and sends to. It wraps
// github.com/nyaruka/phonenumbers (Google's libphonenumber metadata), so a
// number is accepted only when its country's numbering plan allows it.
package phone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInput bounds what is parsed at all: no real number written with
// spaces and punctuation comes near it, and the library's regular
// expressions need not see more.
const MaxInput = 64

// ErrInvalid is the one error Parse returns: the input is not a valid
// number in international form. Callers show it as a field error.
var ErrInvalid = errors.New("must be a valid phone number in international format, starting with + and the country code")

// Number is a parsed, valid phone number.
type Number struct {
	// E164 is the normalised form, e.g. +447911123456.
	E164 string
	// Region is the ISO 3166-1 alpha-2 country of the number, e.g. "GB";
	// "001" for non-geographic numbers.
	Region string
	// CallingCode is the country calling code without the plus, e.g. 44.
	CallingCode int
}

// Parse validates s and returns it normalised. It takes international
// numbers only (a leading + and the country code; spaces, dots, dashes and
// parentheses allowed): without a country to assume, a national number is
// ambiguous, and guessing one would send codes to the wrong country.
func Parse(s string) (Number, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxInput || !strings.HasPrefix(s, "+") {
		return Number{}, ErrInvalid
	}
	// The library reads letters as keypad digits (1-800-FLOWERS) and
	// extensions ("x123"); neither can receive a code by SMS.
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9', r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return Number{}, ErrInvalid
		}
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return Number{}, ErrInvalid
	}
	return Number{
		E164:        phonenumbers.Format(n, phonenumbers.E164),
		Region:      phonenumbers.GetRegionCodeForNumber(n),
		CallingCode: int(n.GetCountryCode()),
	}, nil
}

// ValidRegion reports whether code is a region the numbering metadata
// knows (an ISO 3166-1 alpha-2 code in upper case), so a configured
// allow-list with a typo stops start-up instead of refusing every number.
func ValidRegion(code string) bool {
	return phonenumbers.GetSupportedRegions()[code]
}
