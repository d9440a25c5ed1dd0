// Package accesstest holds what tests and benchmarks of the access rules
// share: a realistic rules file.
package accesstest

import (
	"fmt"
	"strings"
)

// HundredRules returns a realistic rules file of a hundred rules: 32 apps,
// each with a public path, an admin path (admin role and aal2) and a
// role-gated API (billing or finance, proven email), then wildcards: a
// staff-only internal domain, health checks open to anyone, dot-files
// denied, and metrics for ops on every host. app31.example.com's admin
// rule is rule 95.
func HundredRules() string {
	var b strings.Builder
	for i := range 32 {
		fmt.Fprintf(&b, "- host: app%d.example.com\n  paths: [/public, /static]\n  allow: anyone\n", i)
		fmt.Fprintf(&b, "- host: app%d.example.com\n  paths: [/admin]\n  require: {roles: [admin], aal: aal2}\n", i)
		fmt.Fprintf(&b, "- host: app%d.example.com\n  paths: [/api/billing]\n  require: {roles: [billing, finance], email_verified: true}\n", i)
	}
	b.WriteString("- host: \"*.internal.example.com\"\n  require: {roles: [staff]}\n")
	b.WriteString("- host: \"*.example.com\"\n  paths: [/healthz]\n  allow: anyone\n")
	b.WriteString("- host: \"*.example.com\"\n  paths: [/.env, /.git]\n  deny: true\n")
	b.WriteString("- paths: [/metrics]\n  require: {roles: [ops]}\n")
	return b.String()
}
