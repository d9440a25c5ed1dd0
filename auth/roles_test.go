package auth_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/access"
)

// TestValidRoleAgreesWithAccessRules checks that a role an admin may give
// is exactly a role an access rule may require: a name one side accepts
// and the other refuses would make a rule no user can meet, or a user's
// role no rule can name.
func TestValidRoleAgreesWithAccessRules(t *testing.T) {
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
		if got, want := auth.ValidRole(n), access.RoleRE.MatchString(n); got != want {
			t.Errorf("ValidRole(%q) = %v, access.RoleRE says %v", n, got, want)
		}
	}
}

// FuzzValidRole checks the same agreement on any input.
func FuzzValidRole(f *testing.F) {
	for _, s := range []string{"admin", "A", "a b", strings.Repeat("r", 64), "rôle", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		if got, want := auth.ValidRole(n), access.RoleRE.MatchString(n); got != want {
			t.Errorf("ValidRole(%q) = %v, access.RoleRE says %v", n, got, want)
		}
	})
}
