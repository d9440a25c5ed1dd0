package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyReload: a good file replaces the rules; a bad one, or one
// that is gone, keeps those in force and says why.
func TestPolicyReload(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("- host: a.example.com\n  deny: true\n")
	p, err := NewPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	denied := func() bool { return p.Rules().Decide("a.example.com", "/", user).Outcome == Forbid }
	if !denied() {
		t.Fatal("the first file's rule is not in force")
	}
	write("- host: a.example.com\n  allow: anyone\n")
	if _, err := p.Reload(); err != nil || denied() {
		t.Fatalf("after a good reload: %v, denied %v", err, denied())
	}
	write("- host: a.example.com\n  deny: maybe\n")
	if _, err := p.Reload(); err == nil || !strings.Contains(err.Error(), "rule 1 (line 1)") || !strings.Contains(err.Error(), "kept") {
		t.Errorf("a bad reload: %v", err)
	}
	if p.Rules().Decide("a.example.com", "/", nil).Outcome != Allow {
		t.Error("a bad reload changed the rules in force")
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Reload(); err == nil || p.Rules().Len() != 1 {
		t.Errorf("a missing file: %v, %d rules in force", err, p.Rules().Len())
	}
	// At start-up a bad file is an error naming it.
	write("- nope: 1\n")
	if _, err := NewPolicy(file); err == nil || !strings.HasPrefix(err.Error(), file+": rule 1 (line 1): unknown key") {
		t.Errorf("NewPolicy of a bad file: %v", err)
	}
	if p, err := NewPolicy(""); err != nil || p.Rules().Len() != 0 {
		t.Errorf("NewPolicy without a file: %v", err)
	}
}
