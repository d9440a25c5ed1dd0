package access

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/access/accesstest"
)

const sample = `
- host: status.example.com
  allow: anyone
- host: admin.example.com
  require: {roles: [admin], aal: aal2}
- host: "*.example.com"
  paths: [/billing]
  require: {email_verified: true}
- host: "*.example.com"
  paths: [/public/]
  allow: anyone
- host: app.example.com
  paths: [/internal]
  deny: true
- paths: [/ops]
  require: {roles: [ops, sre]}
`

func mustParse(t testing.TB, src string) *Rules {
	t.Helper()
	r, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return r
}

var (
	anon     *Subject
	user     = &Subject{}
	verified = &Subject{EmailVerified: true}
	admin1   = &Subject{Roles: []string{"admin"}}
	admin2   = &Subject{AAL2: true, Roles: []string{"admin"}}
	sre      = &Subject{Roles: []string{"viewer", "sre"}}
)

// TestDecide: each rule kind, first-match order, wildcards, paths on
// whole segments, and no match meaning signed in is enough.
func TestDecide(t *testing.T) {
	t.Parallel()
	rs := mustParse(t, sample)
	tests := []struct {
		host, uri string
		s         *Subject
		want      Outcome
		rule      int // the deciding rule's N, 0 for none
		unmet     Unmet
	}{
		// allow: anyone, whoever asks; host case and port ignored.
		{"status.example.com", "/", anon, Allow, 1, ""},
		{"STATUS.Example.com:8443", "/x", anon, Allow, 1, ""},
		{"status.example.com.", "/", anon, Allow, 1, ""},
		// require roles and aal2: the role first (stepping up would not
		// help), then the second factor.
		{"admin.example.com", "/", anon, SignIn, 2, ""},
		{"admin.example.com", "/", user, Forbid, 2, UnmetRoles},
		{"admin.example.com", "/", admin1, StepUp, 2, ""},
		{"admin.example.com", "/", admin2, Allow, 2, ""},
		// A wildcard: any depth of subdomain, not the domain itself.
		{"shop.example.com", "/billing", user, Forbid, 3, UnmetEmailVerified},
		{"a.b.example.com", "/billing/invoices", verified, Allow, 3, ""},
		{"example.com", "/billing", user, Allow, 0, ""},
		{"evil-example.com", "/billing", user, Allow, 0, ""},
		// Whole segments: /billingx is not /billing.
		{"shop.example.com", "/billingx", user, Allow, 0, ""},
		{"shop.example.com", "/billingx", anon, SignIn, 0, ""},
		// "/public/" is the prefix /public.
		{"shop.example.com", "/public", anon, Allow, 4, ""},
		{"shop.example.com", "/public/a.css?v=1", anon, Allow, 4, ""},
		// First match: app.example.com/internal is a wildcard's first? No:
		// rule 3 and 4 do not match /internal, rule 5 does.
		{"app.example.com", "/internal/x", admin2, Forbid, 5, UnmetDeny},
		{"app.example.com", "/internal/x", anon, Forbid, 5, UnmetDeny},
		// An earlier wildcard rule wins over a later exact one.
		{"app.example.com", "/billing", user, Forbid, 3, UnmetEmailVerified},
		// Any host, roles any of.
		{"other.test", "/ops/metrics", sre, Allow, 6, ""},
		{"other.test", "/ops", user, Forbid, 6, UnmetRoles},
		// No rule: signed in is enough.
		{"other.test", "/", anon, SignIn, 0, ""},
		{"other.test", "/", user, Allow, 0, ""},
	}
	for _, tt := range tests {
		d := rs.Decide(tt.host, tt.uri, tt.s)
		n := 0
		if d.Rule != nil {
			n = d.Rule.N
		}
		if d.Outcome != tt.want || n != tt.rule || d.Unmet != tt.unmet {
			t.Errorf("Decide(%s, %s, %+v) = %v by rule %d (%q), want %v by rule %d (%q)",
				tt.host, tt.uri, tt.s, d.Outcome, n, d.Unmet, tt.want, tt.rule, tt.unmet)
		}
	}
}

// TestDecidePathTricks: a path is judged as the app will read it, so
// dot segments, escapes and doubled slashes do not step around a rule,
// and what cannot be read safely is refused.
func TestDecidePathTricks(t *testing.T) {
	t.Parallel()
	rs := mustParse(t, `
- host: app.example.com
  paths: [/public]
  allow: anyone
- host: app.example.com
  paths: [/admin]
  deny: true
`)
	for uri, want := range map[string]Outcome{
		"/public/../admin":       Forbid,
		"/public/%2e%2e/admin":   Forbid,
		"/public/%2E%2E/admin/x": Forbid,
		"//admin":                Forbid,
		"/./admin":               Forbid,
		"/%61dmin":               Forbid,
		"/admin%2fx":             Forbid,
		"/public/%zz":            Forbid, // a bad escape
		"/public/%00":            Forbid, // NUL
		`/public\..\admin`:       Forbid, // a backslash
		"/public/a%20b":          Allow,
		"/public/..":             SignIn, // is "/": no rule, not signed in
		"http://x/admin":         Forbid,
		"/public?next=/admin":    Allow,
		"":                       SignIn,
	} {
		if got := rs.Decide("app.example.com", uri, nil).Outcome; got != want {
			t.Errorf("Decide(%q) = %v, want %v", uri, got, want)
		}
	}
}

// TestParseErrors: every mistake stops with a line naming the rule.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"host: a.example.com\nallow: anyone\n", "line 1: the file must be a list of rules"},
		{"- host: a.example.com\n", "rule 1 (line 1): a rule needs exactly one of"},
		{"- host: a.example.com\n  allow: anyone\n  deny: true\n", "rule 1 (line 1): a rule needs exactly one of"},
		{"- allow: anyone\n- host: a.example.com\n  rol: [x]\n", `rule 2 (line 2): unknown key "rol"`},
		{"- allow: everyone\n", `allow: the only value is "anyone"`},
		{"- deny: yes\n", "deny: the only value is true"},
		{"- deny: false\n", "deny: the only value is true"},
		{"- host: https://a.example.com\n  allow: anyone\n", "a host name only"},
		{"- host: a.example.com:443\n  allow: anyone\n", "a host name only"},
		{"- host: \"*.com\"\n  allow: anyone\n", "a wildcard needs a domain with a dot"},
		{"- host: \"a.*.com\"\n  allow: anyone\n", "not a host name"},
		{"- host: \"*\"\n  allow: anyone\n", "not a host name"},
		{"- host: [a]\n  allow: anyone\n", "host: a host name"},
		{"- paths: billing\n  allow: anyone\n", "paths: a list"},
		{"- paths: [billing]\n  allow: anyone\n", `"billing" is not a path`},
		{"- paths: [\"/a?b\"]\n  allow: anyone\n", "not a plain path"},
		{"- paths: [/a%zz]\n  allow: anyone\n", "not a plain path"},
		{"- require: {}\n", "require: a mapping"},
		{"- require: {aal: aal3}\n", `aal "aal3"`},
		{"- require: {email_verified: yes}\n", "email_verified: true or false"},
		{"- require: {roles: []}\n", "roles: a list"},
		{"- require: {roles: [Admin]}\n", `role "Admin"`},
		{"- require: {roles: [\"a,b\"]}\n", `role "a,b"`},
		{"- require: {group: [a]}\n", `unknown key "group"`},
		{"- host: a.example.com\n  host: b.example.com\n  allow: anyone\n", `"host" is given twice`},
		{"- [a, b]\n", "a rule is a mapping"},
		{"- host: a\n\tallow: x\n", "not YAML"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tt.src, err, tt.want)
		}
	}
	for _, empty := range []string{"", "\n", "# nothing\n", "[]\n", "~\n"} {
		rs, err := Parse([]byte(empty))
		if err != nil || rs.Len() != 0 {
			t.Errorf("Parse(%q) = %v, %v; want no rules", empty, rs.Len(), err)
		}
	}
	many := strings.Repeat("- allow: anyone\n", maxRules+1)
	if _, err := Parse([]byte(many)); err == nil {
		t.Error("a file over the bound parsed")
	}
}

// TestNilRules: no file means signed in is enough.
func TestNilRules(t *testing.T) {
	t.Parallel()
	var rs *Rules
	if d := rs.Decide("a.example.com", "/", nil); d.Outcome != SignIn {
		t.Errorf("nil rules, anonymous: %v", d.Outcome)
	}
	if d := rs.Decide("a.example.com", "/", user); d.Outcome != Allow {
		t.Errorf("nil rules, signed in: %v", d.Outcome)
	}
}

func TestHundredRules(t *testing.T) {
	t.Parallel()
	rs := mustParse(t, accesstest.HundredRules())
	if rs.Len() != 100 {
		t.Fatalf("%d rules", rs.Len())
	}
	if d := rs.Decide("app31.example.com", "/admin/users", admin1); d.Outcome != StepUp || d.Rule.N != 95 {
		t.Errorf("app31 admin: %v by %+v", d.Outcome, d.Rule)
	}
	if d := rs.Decide("x.internal.example.com", "/", user); d.Outcome != Forbid || d.Rule.N != 97 {
		t.Errorf("internal: %v by %+v", d.Outcome, d.Rule)
	}
	if d := rs.Decide("app7.example.com", "/.git/config", admin2); d.Outcome != Forbid || d.Rule.N != 99 {
		t.Errorf(".git: %v by %+v", d.Outcome, d.Rule)
	}
}

func TestDecideAllocates(t *testing.T) {
	rs := mustParse(t, accesstest.HundredRules())
	for _, c := range []struct{ host, uri string }{
		{"app31.example.com", "/admin/users?page=2"},
		{"unknown.example.com", "/some/deep/path"},
		{"app3.example.com", "/api/billing/invoices"},
	} {
		if n := testing.AllocsPerRun(100, func() { rs.Decide(c.host, c.uri, admin2) }); n != 0 {
			t.Errorf("Decide(%s%s) allocates %v times", c.host, c.uri, n)
		}
	}
}

// BenchmarkDecide: the check's added cost, with no file and with a
// hundred rules, for a host named by rules and for one only wildcards
// can match.
func BenchmarkDecide(b *testing.B) {
	hundred := mustParse(b, accesstest.HundredRules())
	for _, bc := range []struct {
		name      string
		rs        *Rules
		host, uri string
	}{
		{"none", nil, "app31.example.com", "/admin/users"},
		{"hundred/exact-host", hundred, "app31.example.com", "/admin/users"},
		{"hundred/wildcard-host", hundred, "unknown.example.com", "/some/deep/path"},
		{"hundred/no-match", hundred, "other.test", "/x"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.rs.Decide(bc.host, bc.uri, admin2)
			}
		})
	}
}
