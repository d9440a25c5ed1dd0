// Package access decides who may reach the apps behind the proxy: an
// ordered list of rules (GATEHOUSE_ACCESS_RULES_FILE, YAML) that the check
// (/v1/check) applies to the forwarded host and URI. The first rule whose
// host and paths match decides: anyone may pass, no one may, or the
// signed-in user must meet requirements (a second factor, a proven email,
// one of some roles). With no matching rule, being signed in is enough.
//
// The package knows nothing of sessions, HTTP handlers or storage: the
// check hands it the request's host and URI and who is asking (Subject),
// and gets a Decision back. Decide runs on every check, so it allocates
// nothing for a clean path and looks only at the rules that can match
// the host.
package access

import (
	"net/url"
	"path"
	"slices"
	"strings"
)

// Rule is one entry of the rules file.
type Rule struct {
	// N is the rule's position in the file (1 for the first) and Line its
	// line, to name it in errors and logs.
	N, Line int
	// Host is "" for any host, "*.example.com" for every subdomain of
	// example.com (at any depth, not example.com itself), or one host
	// name; lower case, no port.
	Host string
	// Paths are prefixes, matched on whole segments ("/billing" matches
	// /billing and /billing/x, not /billingx); none matches every path.
	Paths []string
	// Exactly one of Anyone, Deny or Require decides.
	Anyone  bool
	Deny    bool
	Require Require
}

// Require is what a signed-in user must have to pass a rule.
type Require struct {
	// AAL2 asks for a session that passed a second factor.
	AAL2 bool
	// EmailVerified asks for a proven email address.
	EmailVerified bool
	// Roles, when not empty, asks for at least one of them.
	Roles []string
}

// Subject is who asks: what a session says about its user.
type Subject struct {
	AAL2          bool
	EmailVerified bool
	Roles         []string
}

// Outcome is what the check answers.
type Outcome int

const (
	// Allow lets the request through.
	Allow Outcome = iota
	// SignIn: no one is signed in and the rule needs someone (401; a
	// browser goes to sign in and back).
	SignIn
	// StepUp: the signed-in user meets everything but the second factor
	// (401; a browser goes to the step-up page and back).
	StepUp
	// Forbid: a requirement the user cannot meet by signing in again, or
	// a deny rule (403).
	Forbid
)

// Unmet names the requirement a Forbid failed, for the page and the
// problem that explain it.
type Unmet string

// The requirements a Forbid can name.
const (
	UnmetDeny          Unmet = "deny"
	UnmetRoles         Unmet = "roles"
	UnmetEmailVerified Unmet = "email_verified"
	UnmetPath          Unmet = "path" // a path that cannot be read safely
)

// Decision is Decide's answer: the outcome, the rule that decided (nil
// when none matched) and, for Forbid, what was missing.
type Decision struct {
	Outcome Outcome
	Rule    *Rule
	Unmet   Unmet
}

// Rules is a parsed rules file. It is immutable and safe for concurrent
// use. The zero value (or nil) has no rules: signed in is enough.
type Rules struct {
	rules []Rule
	// byHost lists, for each host named exactly by some rule, the
	// indexes of the rules that can match it (its exact rules and every
	// wildcard or any-host rule) in file order; generic is that list for
	// every other host.
	byHost  map[string][]int
	generic []int
}

// Len returns the number of rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// Rules returns a copy of the rules, in order.
func (r *Rules) Rules() []Rule {
	if r == nil {
		return nil
	}
	return slices.Clone(r.rules)
}

// Decide applies the rules to a request for uri (path and query, as the
// proxy forwards it in X-Forwarded-Uri or X-Original-URI) on host (as in
// X-Forwarded-Host: any case, maybe a port) by s (nil when no one is
// signed in).
//
// The path is decoded and cleaned before it is matched, so
// /public/../admin and /%61dmin are /admin here as they are to the app;
// a path that does not decode is refused (UnmetPath) rather than guessed
// at.
func (r *Rules) Decide(host, uri string, s *Subject) Decision {
	if r.Len() == 0 {
		return r.unmatched(s)
	}
	p, ok := cleanPath(uri)
	if !ok {
		return Decision{Outcome: Forbid, Unmet: UnmetPath}
	}
	rule := r.match(canonicalHost(host), p)
	if rule == nil {
		return r.unmatched(s)
	}
	switch {
	case rule.Anyone:
		return Decision{Outcome: Allow, Rule: rule}
	case rule.Deny:
		return Decision{Outcome: Forbid, Rule: rule, Unmet: UnmetDeny}
	case s == nil:
		return Decision{Outcome: SignIn, Rule: rule}
	}
	// What no new sign-in changes comes first: stepping up would not help
	// a user without the role.
	req := &rule.Require
	if len(req.Roles) > 0 && !anyOf(s.Roles, req.Roles) {
		return Decision{Outcome: Forbid, Rule: rule, Unmet: UnmetRoles}
	}
	if req.EmailVerified && !s.EmailVerified {
		return Decision{Outcome: Forbid, Rule: rule, Unmet: UnmetEmailVerified}
	}
	if req.AAL2 && !s.AAL2 {
		return Decision{Outcome: StepUp, Rule: rule}
	}
	return Decision{Outcome: Allow, Rule: rule}
}

// unmatched is the decision when no rule matches: signed in is enough.
func (r *Rules) unmatched(s *Subject) Decision {
	if s == nil {
		return Decision{Outcome: SignIn}
	}
	return Decision{Outcome: Allow}
}

// match returns the first rule matching host and the clean path p.
func (r *Rules) match(host, p string) *Rule {
	if r == nil {
		return nil
	}
	candidates, ok := r.byHost[host]
	if !ok {
		candidates = r.generic
	}
	for _, i := range candidates {
		rule := &r.rules[i]
		if hostMatches(rule.Host, host) && pathMatches(rule.Paths, p) {
			return rule
		}
	}
	return nil
}

func hostMatches(pattern, host string) bool {
	switch {
	case pattern == "":
		return true
	case pattern[0] == '*':
		// "*.example.com": host ends in ".example.com" with something
		// before it.
		suffix := pattern[1:]
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return pattern == host
}

func pathMatches(prefixes []string, p string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, pre := range prefixes {
		if pre == "/" || p == pre || strings.HasPrefix(p, pre) && (pre[len(pre)-1] == '/' || p[len(pre)] == '/') {
			return true
		}
	}
	return false
}

func anyOf(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// canonicalHost is host in lower case without its port. It allocates only
// when host has upper-case letters.
func canonicalHost(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(host)
}

// cleanPath is uri's path, decoded and cleaned (no query, no dot
// segments, no doubled slashes), and whether it could be read. A clean
// path without escapes is returned as it is, without allocating.
func cleanPath(uri string) (string, bool) {
	p, _, _ := strings.Cut(uri, "?")
	p, _, _ = strings.Cut(p, "#")
	if p == "" {
		return "/", true
	}
	if p[0] != '/' {
		// An absolute URI (proxies forward a path, but be strict).
		u, err := url.Parse(p)
		if err != nil || u.Path == "" || u.Path[0] != '/' {
			return "", false
		}
		p = u.EscapedPath()
	}
	if strings.IndexByte(p, '%') >= 0 {
		d, err := url.PathUnescape(p)
		// A decoded NUL or a backslash reads differently to different
		// servers: refuse rather than guess.
		if err != nil || strings.ContainsAny(d, "\x00\\") {
			return "", false
		}
		p = d
	}
	if strings.IndexByte(p, '\\') >= 0 {
		return "", false
	}
	return path.Clean(p), true
}
