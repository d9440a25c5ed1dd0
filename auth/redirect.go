package auth

import (
	"net/url"
	"strings"
)

// maxRedirect bounds a redirect target; a longer one is refused.
const maxRedirect = 2048

// AllowedRedirect returns target when a browser may be sent there after
// signing in, else "": a path on this server, or an http(s) URL whose
// origin is one of origins (GATEHOUSE_ALLOWED_REDIRECTS; see
// OriginMatches for "https://*.example.com"). It is the one
// rule for every redirect the flows and the pages make, so a link, a
// sign-in form and a forwarded request can never disagree about where a
// browser may go. It refuses whatever a browser could read as another
// origin, whatever Go's parser makes of it:
//   - "//evil.example" and "///evil.example" (scheme-relative), and any
//     backslash, which browsers read as a slash ("/\evil.example");
//   - control characters and DEL, which browsers strip ("/\t/evil.example"
//     becomes "//evil.example");
//   - user info ("https://allowed@evil.example"), opaque URLs
//     ("https:evil.example", "javascript:…") and schemes other than http
//     and https, and an absolute URL without a host.
//
// Percent-encoded tricks ("/%2F%2Fevil.example") stay paths on this server:
// a browser does not decode a path before resolving it.
func AllowedRedirect(target string, origins []string) string {
	if target == "" || len(target) > maxRedirect ||
		strings.ContainsFunc(target, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
		return ""
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" {
		return ""
	}
	if u.Scheme == "" && u.Host == "" {
		if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
			return ""
		}
		return target // a path on this server
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return ""
	}
	origin := u.Scheme + "://" + u.Host
	for _, allowed := range origins {
		if OriginMatches(allowed, origin) {
			return target
		}
	}
	return ""
}

// OriginMatches reports whether origin (scheme://host[:port], as a
// browser sends it) is pattern: the same origin, case aside, or for a
// pattern "https://*.example.com[:port]" any subdomain of example.com at
// any depth (not example.com itself) with the same scheme and port. A
// pattern is checked when configured; here a malformed one matches
// nothing.
func OriginMatches(pattern, origin string) bool {
	pattern = strings.TrimSuffix(pattern, "/")
	if strings.EqualFold(pattern, origin) {
		return true
	}
	scheme, rest, ok := strings.Cut(pattern, "://*.")
	if !ok || rest == "" {
		return false
	}
	oScheme, oHost, ok := strings.Cut(origin, "://")
	if !ok || !strings.EqualFold(scheme, oScheme) {
		return false
	}
	// "app.example.com:8443" against "example.com:8443": the host part
	// must end in "." + the pattern's domain and port, with a label of
	// its own before it.
	suffix := "." + rest
	return len(oHost) > len(suffix) && strings.EqualFold(oHost[len(oHost)-len(suffix):], suffix) &&
		!strings.ContainsAny(oHost[:len(oHost)-len(suffix)], ":/@[]")
}

// allowedRedirect is AllowedRedirect on the configured origins.
func (s *Service) allowedRedirect(target string) string {
	return AllowedRedirect(target, s.cfg.AllowedRedirects)
}
