// Package sms holds the text-message senders of the outbox: console (dev)
// and Twilio's Messages API, chosen by the URL in GATEHOUSE_SMS_URL.
package sms

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// DefaultTwilioAPIURL is Twilio's API base, used when
// GATEHOUSE_TWILIO_API_URL is not set.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// DefaultTimeout bounds one delivery (one HTTP request to Twilio), well
// under the worker's lease.
const DefaultTimeout = 30 * time.Second

// Options carries what the URL cannot: test hooks and the places output
// goes. The zero value is right for production.
type Options struct {
	// Console receives console: messages (os.Stdout when nil).
	Console io.Writer
	// TwilioAPIURL is GATEHOUSE_TWILIO_API_URL (DefaultTwilioAPIURL when
	// empty); tests point it at a local server such as twiliotest.
	TwilioAPIURL string
	// HTTPClient sends Twilio requests (a client with Timeout when nil).
	HTTPClient *http.Client
	// Timeout bounds one delivery (DefaultTimeout when zero).
	Timeout time.Duration
}

// New returns the sender GATEHOUSE_SMS_URL names:
//
//	console:                                               print messages (dev mode)
//	twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+15550100        Twilio, from a number
//	twilio://ACCOUNT_SID:AUTH_TOKEN@?from=Gatehouse        ... an alphanumeric sender ID
//	twilio://ACCOUNT_SID:AUTH_TOKEN@?messaging_service_sid=MG…   ... or a messaging service
//
// The + of an E.164 number may be written as is: it is kept, not read as a
// space. A space in an alphanumeric sender ID is written %20. Errors name
// GATEHOUSE_SMS_URL and never repeat the auth token.
func New(smsURL string, opts Options) (notify.SMSSender, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	u, err := url.Parse(smsURL)
	if err != nil {
		// url.Error repeats the whole URL, token included, and some of
		// its reasons quote the part that failed (a port that is really
		// the token): keep only the reason, without the quotes.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("sms: GATEHOUSE_SMS_URL: cannot parse: %s; %s", unquote(err.Error()), twilioUsage)
	}
	switch strings.ToLower(u.Scheme) {
	case "console":
		if u.Opaque != "" || u.User != nil || u.Host != "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("sms: GATEHOUSE_SMS_URL: console: takes nothing after the colon")
		}
		w := opts.Console
		if w == nil {
			w = os.Stdout
		}
		return newConsole(w), nil
	case "twilio":
		cfg, err := parseTwilio(u)
		if err != nil {
			return nil, err
		}
		return newTwilio(cfg, opts)
	case "":
		return nil, errors.New("sms: GATEHOUSE_SMS_URL: missing scheme; want console: or twilio://")
	default:
		return nil, fmt.Errorf("sms: GATEHOUSE_SMS_URL: unknown scheme %q; want console: or twilio://", u.Scheme)
	}
}

// quoted matches a Go-quoted string, as strconv.Quote writes it.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// unquote blanks out the quoted input in a parser's error, which may be
// (part of) the auth token.
func unquote(s string) string { return quoted.ReplaceAllLiteralString(s, `"…"`) }

// twilioConfig is what a twilio:// URL says.
type twilioConfig struct {
	accountSID string
	authToken  string
	from       string // a number or alphanumeric sender ID, or ""
	serviceSID string // a messaging service, or ""
}

// twilioUsage ends errors about the URL's shape with the shape wanted.
const twilioUsage = "want twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+15550100 (or ?messaging_service_sid=MG…)"

func parseTwilio(u *url.URL) (twilioConfig, error) {
	var c twilioConfig
	if u.Opaque != "" || u.User == nil {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// needs the account SID and auth token; %s", twilioUsage)
	}
	// Neither the SID nor the token is quoted back: someone who swapped
	// them would see their token in the log.
	c.accountSID = u.User.Username()
	token, ok := u.User.Password()
	if !ok || token == "" {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// needs an auth token after the account SID and a colon; %s", twilioUsage)
	}
	c.authToken = token
	if !strings.HasPrefix(c.accountSID, "AC") || !isAlnum(c.accountSID) {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: the account SID (before the colon) must start with AC and hold only letters and digits; %s", twilioUsage)
	}
	if u.Host != "" {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// takes no host after the @ (GATEHOUSE_TWILIO_API_URL sets the API); %s", twilioUsage)
	}
	if u.Path != "" || u.RawPath != "" {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// takes no path; %s", twilioUsage)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// takes no #fragment; %s", twilioUsage)
	}
	// url.Query reads + as a space, which would turn +15550100 into an
	// invalid " 15550100": keep the plus.
	q, err := url.ParseQuery(strings.ReplaceAll(u.RawQuery, "+", "%2B"))
	if err != nil {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: bad query: %s", unquote(err.Error()))
	}
	for key, vals := range q {
		if len(vals) > 1 {
			return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: %s given %d times", paramName(key), len(vals))
		}
		switch key {
		case "from":
			c.from = vals[0]
			if !validSender(c.from) {
				return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: from=%q is neither an E.164 number (+ and 8 to 15 digits) nor an alphanumeric sender ID (1 to 11 letters, digits or spaces, at least one letter)", c.from)
			}
		case "messaging_service_sid":
			c.serviceSID = vals[0]
			if !strings.HasPrefix(c.serviceSID, "MG") || !isAlnum(c.serviceSID) {
				return c, errors.New("sms: GATEHOUSE_SMS_URL: messaging_service_sid must start with MG and hold only letters and digits")
			}
		default:
			return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: unknown parameter %s; want from or messaging_service_sid", paramName(key))
		}
	}
	if (c.from == "") == (c.serviceSID == "") {
		return c, fmt.Errorf("sms: GATEHOUSE_SMS_URL: twilio:// needs exactly one of from and messaging_service_sid; %s", twilioUsage)
	}
	return c, nil
}

// paramName quotes a query parameter's name for an error, cut short: a
// mistyped URL can put anything there.
func paramName(key string) string {
	const n = 40
	if r := []rune(key); len(r) > n {
		key = string(r[:n]) + "…"
	}
	return fmt.Sprintf("%q", key)
}

// validSender reports whether from is a sender Twilio accepts in From: an
// E.164 number, or an alphanumeric sender ID (allowed in some countries).
func validSender(from string) bool {
	return isE164(from) || isAlphanumericID(from)
}

// isE164 reports whether s is + and 8 to 15 digits, the first not 0 (no
// country code starts with 0).
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isAlphanumericID reports whether s is an alphanumeric sender ID as Twilio
// defines it: 1 to 11 ASCII letters, digits and spaces, at least one
// letter.
func isAlphanumericID(s string) bool {
	if len(s) < 1 || len(s) > 11 {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9', r == ' ':
		default:
			return false
		}
	}
	return letter
}

// isAlnum reports whether s is only ASCII letters and digits, as Twilio's
// SIDs are: the account SID becomes part of the request's path.
func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
