package auth_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

func TestAllowedRedirect(t *testing.T) {
	t.Parallel()
	origins := []string{"https://app.example.com", "http://localhost:3000/"}
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		// What may be a target.
		{"/", true},
		{"/account?tab=mfa#security", true},
		{"https://app.example.com", true},
		{"https://app.example.com/after/sign-in?x=1", true},
		{"HTTPS://APP.EXAMPLE.COM/x", true},
		{"http://localhost:3000/", true},
		{"/%2F%2Fevil.example", true}, // a path here: browsers do not decode it first

		// Other origins.
		{"https://evil.example/", false},
		{"https://app.example.com.evil.example/", false},
		{"https://app.example.com:8443/", false},
		{"http://app.example.com/", false},
		{"https://evil.example/#https://app.example.com", false},
		{"https://evil.example?https://app.example.com", false},
		// Scheme-relative, in every spelling a browser accepts.
		{"//evil.example", false},
		{"///evil.example", false},
		{"//app.example.com", false},
		// Backslashes, which browsers read as slashes.
		{"/\\evil.example", false},
		{"\\\\evil.example", false},
		{"\\/evil.example", false},
		{"https://evil.example\\@app.example.com", false},
		// Control characters, which browsers strip.
		{"/\t/evil.example", false},
		{"/\n/evil.example", false},
		{"/\r\n/evil.example", false},
		{"/\x00", false},
		{"/\x7f", false},
		// User info.
		{"https://app.example.com@evil.example/", false},
		{"https://user:pass@app.example.com/", false},
		{"https://evil.example@app.example.com/", false},
		// Other schemes, opaque URLs, no host.
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"javascript://app.example.com/%0aalert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"https:evil.example", false},
		{"https:/evil.example", false},
		{"https://", false},
		{"ftp://app.example.com/", false},
		// Not a path.
		{"evil.example", false},
		{"evil.example/path", false},
		{" /path", false},
		{"", false},
		{"%2F%2Fevil.example", false},
		// Too long.
		{"/" + strings.Repeat("a", 2048), false},
	} {
		got := auth.AllowedRedirect(tc.target, origins)
		if tc.ok && got != tc.target || !tc.ok && got != "" {
			t.Errorf("AllowedRedirect(%q) = %q, want allowed %v", tc.target, got, tc.ok)
		}
	}
	if got := auth.AllowedRedirect("https://app.example.com/", nil); got != "" {
		t.Errorf("no origins allowed: %q", got)
	}
}

// FuzzAllowedRedirect holds AllowedRedirect to its promise whatever the
// target: what it allows is the target itself, and a browser on our page
// resolving it lands on our own origin or an allowed one, never elsewhere.
// The seeds in testdata/fuzz/FuzzAllowedRedirect are the tricks browsers
// and parsers disagree on.
//
//	go test -run '^$' -fuzz '^FuzzAllowedRedirect$' -fuzztime 30s ./auth/
func FuzzAllowedRedirect(f *testing.F) {
	for _, s := range []string{"/", "/account?x=1#y", "https://app.example.com/x", "//evil.example", "/\\evil.example",
		"/\t/evil.example", "https://app.example.com@evil.example/", "https:evil.example", "javascript:alert(1)"} {
		f.Add(s)
	}
	origins := []string{"https://app.example.com", "http://localhost:3000/"}
	allowedHosts := map[string]bool{"auth.example.test": true, "app.example.com": true, "localhost:3000": true}
	base, _ := url.Parse("https://auth.example.test/login")
	f.Fuzz(func(t *testing.T, target string) {
		got := auth.AllowedRedirect(target, origins)
		if got == "" {
			return
		}
		if got != target {
			t.Fatalf("AllowedRedirect(%q) = %q: not the target", target, got)
		}
		if len(got) > 2048 || strings.ContainsFunc(got, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
			t.Fatalf("AllowedRedirect(%q) allowed what a browser rewrites", target)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("AllowedRedirect(%q) allowed what does not parse: %v", target, err)
		}
		if to := base.ResolveReference(u); !allowedHosts[strings.ToLower(to.Host)] || to.User != nil ||
			(to.Scheme != "http" && to.Scheme != "https") {
			t.Fatalf("AllowedRedirect(%q) sends a browser to %s", target, to)
		}
	})
}

// TestAllowedRedirectWildcard: "https://*.example.com" allows every
// subdomain with that scheme and port, and nothing a browser would read
// as another origin.
func TestAllowedRedirectWildcard(t *testing.T) {
	t.Parallel()
	origins := []string{"https://*.example.com", "http://*.dev.test:8080"}
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"https://app.example.com/x", true},
		{"https://a.b.example.com/", true},
		{"HTTPS://APP.EXAMPLE.COM/x", true},
		{"http://app.dev.test:8080/", true},

		{"https://example.com/", false},           // the domain itself
		{"https://.example.com/", false},          // no label
		{"https://evilexample.com/", false},       // not a subdomain
		{"https://example.com.evil.test/", false}, // a suffix elsewhere
		{"http://app.example.com/", false},        // another scheme
		{"https://app.example.com:8443/", false},  // another port
		{"http://app.dev.test/", false},           // the pattern's port is part of it
		{"https://evil.test@app.example.com/", false},
		{"https://app.example.com@evil.test/", false},
		{"//app.example.com/", false},
	} {
		got := auth.AllowedRedirect(tc.target, origins)
		if tc.ok && got != tc.target || !tc.ok && got != "" {
			t.Errorf("AllowedRedirect(%q) = %q, want allowed %v", tc.target, got, tc.ok)
		}
	}
	for _, tc := range []struct {
		pattern, origin string
		ok              bool
	}{
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.example.com:443", false},
		{"https://*.example.com", "https://x:y@a.example.com", false},
		{"https://*.", "https://a.", false},
		{"https://*", "https://a.example.com", false},
		{"https://app.example.com/", "https://app.example.com", true},
	} {
		if got := auth.OriginMatches(tc.pattern, tc.origin); got != tc.ok {
			t.Errorf("OriginMatches(%q, %q) = %v", tc.pattern, tc.origin, got)
		}
	}
}
