package gatehousetest

import (
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// clientHeader carries the client address a request pretends to come
// from; FromClients strips it before the server sees the request.
const clientHeader = "X-Gatehouse-Test-Client"

// FromClients lets a request choose the client address the server counts
// it from (From), so one test can play many clients: an attacker spread
// over addresses, an owner on another network. Every test server is
// reached from 127.0.0.1, which would otherwise put every request in one
// per-client budget. Give it after WithMiddleware, which it wraps.
func FromClients() Option {
	return func(s *setup) {
		inner := s.wrap
		s.wrap = func(h http.Handler) http.Handler {
			if inner != nil {
				h = inner(h)
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ip := r.Header.Get(clientHeader); ip != "" {
					r.Header.Del(clientHeader)
					r.RemoteAddr = net.JoinHostPort(ip, "40000")
				}
				h.ServeHTTP(w, r)
			})
		}
	}
}

// From sends a request as if from the client address ip, on a server
// started with FromClients (elsewhere the address stays 127.0.0.1).
func From(ip string) RequestOption { return Header(clientHeader, ip) }

// RoomyClientLimits raises the per-client limits on wrong codes, on sends
// and on passkey ceremonies, and the global send ceiling, to the most the configuration
// accepts, for a test that sends many requests from 127.0.0.1 and is not
// about those limits (one server's tests share one client budget: 30
// sends and 50 wrong codes an hour by default). The limits themselves
// stay as they are for every other test.
func RoomyClientLimits() Option {
	return WithConfig(func(c *gatehouse.Config) {
		c.ClientCodeFailureLimit, c.ClientSendLimit, c.GlobalSendLimit = 10_000, 10_000, 10_000_000
		c.ClientCeremonyLimit = 10_000
	})
}
