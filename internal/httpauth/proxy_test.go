package httpauth_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// TestProxiesClient is the attack on the client address: a forwarding
// header counts only when the peer is a trusted proxy, and then only its
// rightmost entry that is not itself a trusted proxy, so what a client
// writes at the left of the chain changes nothing.
func TestProxiesClient(t *testing.T) {
	t.Parallel()
	p, err := httpauth.NewProxies([]string{"10.0.0.0/8", "192.0.2.10", "2001:db8:1::/48"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no header", "10.0.0.1:1", nil, "10.0.0.1"},
		{"spoofed header from an untrusted peer", "198.51.100.7:1", []string{"203.0.113.9"}, "198.51.100.7"},
		{"trusted proxy", "10.0.0.1:1", []string{"203.0.113.9"}, "203.0.113.9"},
		{"single trusted address", "192.0.2.10:1", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed leftmost entry behind a chain", "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"chain over header lines", "10.0.0.1:1", []string{"6.6.6.6", "203.0.113.9", "10.1.2.3"}, "203.0.113.9"},
		{"every hop trusted", "10.0.0.1:1", []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},
		{"garbage entry ends the chain", "10.0.0.1:1", []string{"203.0.113.9, unknown"}, "10.0.0.1"},
		{"entry with a port", "10.0.0.1:1", []string{"203.0.113.9:5555"}, "203.0.113.9"},
		{"ipv6 entry", "[2001:db8:1::5]:443", []string{"[2001:db8:2::7]:80"}, "2001:db8:2::7"},
		{"ipv4-mapped peer", "[::ffff:10.0.0.1]:1", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := auth.ClientFrom(p.WithClient(r).Context()).IP; got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
	// No proxies at all (and a nil *Proxies): the peer, always.
	var none *httpauth.Proxies
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := auth.ClientFrom(none.WithClient(r).Context()).IP; got != "10.0.0.1" {
		t.Errorf("nil proxies: client %q", got)
	}
}

func TestParseProxy(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"10.0.0.0/8", " 192.0.2.1 ", "2001:db8::/32", "::1", "10.1.2.3/8"} {
		if _, err := httpauth.ParseProxy(s); err != nil {
			t.Errorf("ParseProxy(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "10.0.0.0/33", "example.com", "10.0.0/8", "*"} {
		if _, err := httpauth.ParseProxy(s); err == nil {
			t.Errorf("ParseProxy(%q): no error", s)
		}
	}
	if _, err := httpauth.NewProxies([]string{"10.0.0.0/8", "nope"}, nil, nil); err == nil {
		t.Error("NewProxies with a bad entry: no error")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

// TestProxiesWarn: an untrusted peer that forwards is logged at most once
// a minute, naming the setting to fix.
func TestProxiesWarn(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, err := httpauth.NewProxies(nil, slog.New(slog.NewTextHandler(&logs, nil)), clock)
	if err != nil {
		t.Fatal(err)
	}
	send := func(xff bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if xff {
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
		}
		p.WithClient(r)
	}
	send(false)
	if n := logs.count("GATEHOUSE_TRUSTED_PROXIES"); n != 0 {
		t.Fatalf("no header: %d warnings", n)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { send(true) })
	}
	wg.Wait()
	if n := logs.count("GATEHOUSE_TRUSTED_PROXIES"); n != 1 {
		t.Fatalf("20 requests in a minute: %d warnings, want 1", n)
	}
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	send(true)
	if n := logs.count("GATEHOUSE_TRUSTED_PROXIES"); n != 1 {
		t.Fatalf("59 s later: %d warnings, want 1", n)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	send(true)
	if n := logs.count("GATEHOUSE_TRUSTED_PROXIES"); n != 2 {
		t.Fatalf("a minute later: %d warnings, want 2", n)
	}
}
