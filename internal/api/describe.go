package api

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// settings returns the flows' effective configuration, which the OpenAPI
// descriptions quote (tries, grace period, lifetimes) so the document says
// what this server does rather than what the defaults would. A server
// built without flows (tests of the document alone) describes the defaults.
func (s *Server) settings() auth.Config {
	if s.auth == nil {
		return auth.DefaultConfig()
	}
	return s.auth.Config()
}

// span returns d in words for a description: "10 seconds", "15 minutes",
// "7 days"; a duration that is not a whole number of its largest unit
// falls back to the smaller one, then to Go's form ("1.5s").
func span(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d >= u.d && d%u.d == 0 {
			return plural(int(d/u.d), u.name)
		}
	}
	return d.String()
}

// plural returns n and noun as in "1 wrong code" or "5 wrong codes" (for
// nouns whose plural adds an s).
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sendLimits describes the per-client send limit and the global ceiling
// of the routes that send messages, whose over-limit answer is the same
// for every address (so it reveals nothing about one).
func sendLimits(cfg auth.Config) string {
	return fmt.Sprintf("429 rate_limited with Retry-After, the same for every address, once this client address asked for %s in the last hour (GATEHOUSE_CLIENT_SEND_LIMIT) or the server sent %s in the last hour (GATEHOUSE_GLOBAL_SEND_LIMIT). ",
		plural(cfg.ClientSendLimit, "message"), plural(cfg.GlobalSendLimit, "message"))
}

// codeLimits describes the limits on wrong codes across sign-ins: the
// account's second factors and the client address's codes of any kind.
// Both refuse whatever the code, the right one too.
func codeLimits(cfg auth.Config) string {
	return fmt.Sprintf("Whatever the code: 429 too_many_attempts with Retry-After (15 minutes, doubling up to a day) for grant_type mfa once the account had %s in the last hour, across sign-ins and factors (GATEHOUSE_MFA_FAILURE_LIMIT; the owner is told by email); "+
		"429 rate_limited with Retry-After (the same wait) for the code grants once this client address sent %s, links, authenticator or backup codes in the last hour, across accounts (GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT). ",
		plural(cfg.MFAFailureLimit, "wrong second-factor code"), plural(cfg.ClientCodeFailureLimit, "wrong code"))
}
