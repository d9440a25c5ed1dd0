package httpauth

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Proxies are the reverse proxies trusted to say who their client is
// (GATEHOUSE_TRUSTED_PROXIES). The client address for the limits, the
// audit and the sessions comes from X-Forwarded-For only when the request's
// peer is one of them: anyone else could write any address there, and
// spend another client's budget or escape their own.
type Proxies struct {
	nets []netip.Prefix
	log  *slog.Logger
	now  func() time.Time
	// warned is when (unix seconds) the last warning of an untrusted
	// forwarder was logged, so a busy proxy logs one a minute, not one a
	// request.
	warned atomic.Int64
}

// NewProxies returns the proxies in the ranges cidrs (an address alone is
// a range of one), logging to log and reading the time from now (both may
// be nil: no warnings). A bad entry is an error; config validates them
// first.
func NewProxies(cidrs []string, log *slog.Logger, now func() time.Time) (*Proxies, error) {
	p := &Proxies{log: log, now: now}
	for _, s := range cidrs {
		pfx, err := ParseProxy(s)
		if err != nil {
			return nil, err
		}
		p.nets = append(p.nets, pfx)
	}
	return p, nil
}

// ParseProxy parses one entry of GATEHOUSE_TRUSTED_PROXIES: a CIDR such
// as 10.0.0.0/8, or a single address.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return pfx.Masked(), nil
}

// trusted reports whether ip (an address as text) is in a trusted range.
func (p *Proxies) trusted(ip string) bool {
	if p == nil || len(p.nets) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// WithClient is the package's WithClient with the client address read
// through the trusted proxies.
func (p *Proxies) WithClient(r *http.Request) *http.Request {
	c := p.clientOf(r)
	return r.WithContext(auth.WithClient(r.Context(), c))
}

// clientOf returns the client r came from. Behind trusted proxies it is
// the rightmost X-Forwarded-For address that is not itself a trusted
// proxy: each proxy appends the peer it saw, so the entries to the left of
// the first untrusted one were written by the client and prove nothing.
func (p *Proxies) clientOf(r *http.Request) auth.Client {
	c := clientOf(r)
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return c
	}
	if !p.trusted(c.IP) {
		p.warnUntrusted(r.Context(), c.IP)
		return c
	}
	// Every header line in order, then every entry, read from the right.
	var hops []string
	for _, line := range xff {
		hops = append(hops, strings.Split(line, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := forwardedAddr(hops[i])
		if hop == "" {
			// An entry that is no address ends the chain a proxy vouches
			// for: the nearest trusted hop is all that can be said.
			return c
		}
		c.IP = hop
		if !p.trusted(hop) {
			return c
		}
	}
	return c // every hop was a trusted proxy: the leftmost one
}

// forwardedAddr returns the address of an X-Forwarded-For entry (with a
// port or brackets, as some proxies write it), or "" when it is none.
func forwardedAddr(s string) string {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	// A zone names an interface of the machine that wrote it, nothing of
	// the client's; kept, "::1%a" and "::1%b" would be two clients to every
	// per-client limit.
	return a.Unmap().WithZone("").String()
}

// warnUntrusted logs, at most once a minute, that a peer sent
// X-Forwarded-For without being trusted: behind a proxy that nobody
// declared, every client looks like the proxy and shares its limits.
func (p *Proxies) warnUntrusted(ctx context.Context, peer string) {
	if p == nil || p.log == nil || p.now == nil {
		return
	}
	now := p.now().Unix()
	last := p.warned.Load()
	if last != 0 && now-last < 60 || !p.warned.CompareAndSwap(last, now) {
		return
	}
	p.log.WarnContext(ctx, "X-Forwarded-For from a peer that is not a trusted proxy was ignored; if Gatehouse runs behind a reverse proxy, list it in GATEHOUSE_TRUSTED_PROXIES, or every client shares the proxy's address and limits",
		"peer", peer)
}
