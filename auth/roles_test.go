package auth_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// roleSpec is the role-name rule as the docs state it: lower-case letters,
// digits and "_.:-", starting with a letter or digit, at most 64 bytes
// (the check sends roles comma-separated in a header, so no comma, space
// or control character). ValidRole, which the admin API and the access
// rules both use, must say exactly this.
var roleSpec = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,63}$`)

// TestValidRole holds ValidRole to the stated rule, name by name.
func TestValidRole(t *testing.T) {
	t.Parallel()
	names := []string{
		"", "a", "0", "admin", "billing", "ops:read", "x.y_z-1", "0-team",
		"A", "Admin", "-a", "_a", ".a", ":a", "a b", "a,b", "a\x00", "a\n", "rôle", "a/b", "a*", "a+b", "a@b",
		strings.Repeat("r", 63), strings.Repeat("r", 64), strings.Repeat("r", 65),
	}
	// Every byte after a valid first one, and every byte alone.
	for c := 0; c < 256; c++ {
		names = append(names, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := auth.ValidRole(n), roleSpec.MatchString(n); got != want {
			t.Errorf("ValidRole(%q) = %v, the rule says %v", n, got, want)
		}
	}
}

// FuzzValidRole holds ValidRole to the stated rule on any input.
func FuzzValidRole(f *testing.F) {
	for _, s := range []string{"admin", "A", "a b", strings.Repeat("r", 64), "rôle", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		if got, want := auth.ValidRole(n), roleSpec.MatchString(n); got != want {
			t.Errorf("ValidRole(%q) = %v, the rule says %v", n, got, want)
		}
	})
}
