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
