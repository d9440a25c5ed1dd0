package httpauth_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// FuzzProxiesClient feeds the client-address rule any peer address and
// any X-Forwarded-For lines. Whatever they hold: nothing panics; an
// untrusted peer's header changes nothing; and a client taken from the
// header is one address, written in the chain, that is not a trusted
// proxy unless every hop was one — never a list, a port or a name that a
// limit or an audit line would key on.
func FuzzProxiesClient(f *testing.F) {
	for _, seed := range []struct{ remote, xff string }{
		{"10.0.0.1:1", "203.0.113.9"},
		{"198.51.100.7:1", "203.0.113.9"},
		{"10.0.0.1:1", "6.6.6.6, 203.0.113.9, 10.1.2.3"},
		{"10.0.0.1:1", "6.6.6.6\n203.0.113.9\n10.1.2.3"},
		{"10.0.0.1:1", "203.0.113.9, unknown"},
		{"10.0.0.1:1", "[2001:db8:2::7]:80, 10.9.9.9"},
		{"[::ffff:10.0.0.1]:1", "::ffff:203.0.113.9"},
		{"10.0.0.1", "10.9.9.9,,10.1.1.1"},
		{"", " , "},
		{"10.0.0.1:1", "203.0.113.9%eth0"},
	} {
		f.Add(seed.remote, seed.xff)
	}
	p, err := httpauth.NewProxies([]string{"10.0.0.0/8", "2001:db8:1::/48"}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	trusted := func(ip string) bool {
		a, err := netip.ParseAddr(ip)
		return err == nil && (netip.MustParsePrefix("10.0.0.0/8").Contains(a.Unmap()) || netip.MustParsePrefix("2001:db8:1::/48").Contains(a.Unmap()))
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		plain := httptest.NewRequest(http.MethodGet, "/", nil)
		plain.RemoteAddr = remote
		peer := auth.ClientFrom(p.WithClient(plain).Context()).IP

		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		for line := range strings.SplitSeq(xff, "\n") {
			r.Header.Add("X-Forwarded-For", line)
		}
		got := auth.ClientFrom(p.WithClient(r).Context()).IP
		if !trusted(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %q with X-Forwarded-For %q: client %q, want the peer", remote, xff, got)
			}
			return
		}
		if got == peer {
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.String() != got || a.Zone() != "" {
			t.Fatalf("peer %q, X-Forwarded-For %q: client %q is not one plain address", remote, xff, got)
		}
		if !inChain(xff, a) {
			t.Fatalf("peer %q, X-Forwarded-For %q: client %q is not in the chain", remote, xff, got)
		}
	})
}

// inChain reports whether one entry of the X-Forwarded-For lines xff, read
// in any of the ways proxies write an address (bare, bracketed, with a
// port, with a zone), is the address a.
func inChain(xff string, a netip.Addr) bool {
	for _, line := range strings.Split(xff, "\n") {
		for _, hop := range strings.Split(line, ",") {
			hop = strings.TrimSpace(hop)
			forms := []string{hop}
			if host, _, err := net.SplitHostPort(hop); err == nil {
				forms = append(forms, host)
			}
			for _, s := range forms {
				for _, s := range []string{s, strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")} {
					if b, err := netip.ParseAddr(s); err == nil && b.Unmap().WithZone("") == a.Unmap() {
						return true
					}
				}
			}
		}
	}
	return false
}
