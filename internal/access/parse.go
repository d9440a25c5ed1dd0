package access

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/auth"
)

// hostRE is a host name pattern's labels (after an optional "*.").
var hostRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// maxRules bounds a file: a typo that repeats a block a million times
// should stop start-up, not slow every check.
const maxRules = 10000

// Load reads and parses the rules file at name.
func Load(name string) (*Rules, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	return Parse(b)
}

// Parse reads a rules file: a YAML list of rules, each a mapping with
// host (optional), paths (optional) and exactly one of allow: anyone,
// deny: true or require: {aal, email_verified, roles}. An unknown key, a
// bad value or a bad pattern is an error naming the rule by position and
// line. An empty file is no rules.
func Parse(data []byte) (*Rules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Rules{}, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return &Rules{}, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: the file must be a list of rules (each starting with \"- \")", root.Line)
	}
	if len(root.Content) > maxRules {
		return nil, fmt.Errorf("%d rules: at most %d", len(root.Content), maxRules)
	}
	rs := &Rules{rules: make([]Rule, 0, len(root.Content))}
	for i, n := range root.Content {
		r, err := parseRule(n)
		if err != nil {
			return nil, fmt.Errorf("rule %d (line %d): %w", i+1, n.Line, err)
		}
		r.N = i + 1
		rs.rules = append(rs.rules, r)
	}
	rs.index()
	return rs, nil
}

// index builds byHost and generic (see Rules).
func (rs *Rules) index() {
	rs.byHost = map[string][]int{}
	for i, r := range rs.rules {
		if r.Host == "" || r.Host[0] == '*' {
			rs.generic = append(rs.generic, i)
			continue
		}
		if _, done := rs.byHost[r.Host]; done {
			continue
		}
		var list []int
		for j, o := range rs.rules {
			if hostMatches(o.Host, r.Host) {
				list = append(list, j)
			}
		}
		rs.byHost[r.Host] = list
	}
}

func parseRule(n *yaml.Node) (Rule, error) {
	r := Rule{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return r, errors.New("a rule is a mapping (host:, paths:, and one of allow:, deny:, require:)")
	}
	seen := map[string]bool{}
	decided := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			return r, fmt.Errorf("%q is given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "host":
			r.Host, err = parseHost(v)
		case "paths":
			r.Paths, err = parsePaths(v)
		case "allow":
			decided++
			if v.Kind != yaml.ScalarNode || v.Value != "anyone" {
				err = errors.New(`allow: the only value is "anyone" (everyone passes, signed in or not)`)
			}
			r.Anyone = true
		case "deny":
			decided++
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Value != "true" {
				err = errors.New("deny: the only value is true")
			}
			r.Deny = true
		case "require":
			decided++
			r.Require, err = parseRequire(v)
		default:
			err = fmt.Errorf("unknown key %q (a rule has host, paths, and one of allow, deny, require)", key)
		}
		if err != nil {
			return r, err
		}
	}
	if decided != 1 {
		return r, errors.New("a rule needs exactly one of allow: anyone, deny: true or require: {…}")
	}
	return r, nil
}

func parseHost(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		return "", errors.New(`host: a host name like app.example.com or "*.example.com" (quoted: * starts an alias in YAML)`)
	}
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(v.Value), "."))
	if strings.Contains(h, ":") || strings.Contains(h, "/") {
		return "", fmt.Errorf("host %q: a host name only, no scheme, port or path", v.Value)
	}
	name, wild := strings.CutPrefix(h, "*.")
	if !hostRE.MatchString(name) || net.ParseIP(name) != nil && wild || len(h) > 253 {
		return "", fmt.Errorf("host %q: not a host name (a wildcard is \"*.\" before a domain, e.g. \"*.example.com\")", v.Value)
	}
	if wild && !strings.Contains(name, ".") {
		return "", fmt.Errorf("host %q: a wildcard needs a domain with a dot (\"*.example.com\"), not a whole top-level domain", v.Value)
	}
	return h, nil
}

func parsePaths(v *yaml.Node) ([]string, error) {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return nil, errors.New("paths: a list of path prefixes, e.g. [/billing, /api/admin]")
	}
	out := make([]string, 0, len(v.Content))
	for _, p := range v.Content {
		if p.Kind != yaml.ScalarNode || p.Tag != "!!str" || !strings.HasPrefix(p.Value, "/") {
			return nil, fmt.Errorf("paths: %q is not a path starting with /", p.Value)
		}
		clean, ok := cleanPath(p.Value)
		if !ok || strings.ContainsAny(p.Value, "?#") {
			return nil, fmt.Errorf("paths: %q is not a plain path (no query, fragment, backslash or bad escape)", p.Value)
		}
		// A prefix is matched on whole segments; "/docs/" and "/docs" are
		// the same prefix.
		if clean != "/" {
			clean = strings.TrimSuffix(clean, "/")
		}
		if !slices.Contains(out, clean) {
			out = append(out, clean)
		}
	}
	return out, nil
}

func parseRequire(v *yaml.Node) (Require, error) {
	var req Require
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		return req, errors.New("require: a mapping of aal: aal2, email_verified: true and roles: [...], at least one")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if seen[k.Value] {
			return req, fmt.Errorf("require: %q is given twice", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "aal":
			switch val.Value {
			case "aal2":
				req.AAL2 = true
			case "aal1":
				// Every signed-in session has aal1: nothing to add.
			default:
				return req, fmt.Errorf("require: aal %q: aal1 or aal2", val.Value)
			}
		case "email_verified":
			if val.Kind != yaml.ScalarNode || val.Tag != "!!bool" {
				return req, errors.New("require: email_verified: true or false")
			}
			req.EmailVerified = val.Value == "true"
		case "roles":
			if val.Kind != yaml.SequenceNode || len(val.Content) == 0 {
				return req, errors.New("require: roles: a list of role names, e.g. [admin, billing]")
			}
			for _, r := range val.Content {
				// The rule an admin gives roles by: a role a rule can name
				// is one a user can have.
				if r.Kind != yaml.ScalarNode || !auth.ValidRole(r.Value) {
					return req, fmt.Errorf("require: role %q: lower-case letters, digits and _.:- only (at most 64)", r.Value)
				}
				if !slices.Contains(req.Roles, r.Value) {
					req.Roles = append(req.Roles, r.Value)
				}
			}
		default:
			return req, fmt.Errorf("require: unknown key %q (aal, email_verified, roles)", k.Value)
		}
	}
	return req, nil
}
