package verify_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLeafPackage: verify, and a program that imports only verify, depend
// on the standard library and go-jose alone, so a service behind Gatehouse
// pulls in no database driver and nothing else of this module.
func TestLeafPackage(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	allowed := map[string]bool{
		"github.com/gatehouse/gatehouse/verify":          true,
		"github.com/gatehouse/gatehouse/examples/verify": true,
	}
	for _, pkg := range []string{"github.com/gatehouse/gatehouse/verify", "github.com/gatehouse/gatehouse/examples/verify"} {
		cmd := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
		// CI runs the tests with GOFLAGS=-json, which go list would take
		// too, and -json cannot go with -f.
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
		}
		var jose int
		for dep := range strings.FieldsSeq(string(out)) {
			switch {
			case strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4"):
				jose++
			case !allowed[dep]:
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
		if jose == 0 {
			t.Errorf("go list -deps %s found no go-jose: %q", pkg, out)
		}
	}
}
