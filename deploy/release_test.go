package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestReleaseScript runs release.sh for this machine's target only (the
// other five cost a compile each and prove nothing more about the script)
// and checks what a release promises: the binary prints the version
// stamped in, was built static with -trimpath, and SHA256SUMS holds its
// hash; and the script knows all six targets.
func TestReleaseScript(t *testing.T) {
	t.Parallel()
	script := read(t, "release.sh")
	m := regexp.MustCompile(`(?m)^ALL_TARGETS="([^"]*)"$`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("release.sh has no ALL_TARGETS line")
	}
	want := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}
	if got := strings.Fields(m[1]); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("release.sh targets %q, want %q", got, want)
	}
	if testing.Short() {
		t.Skip("compiles the command: not in -short")
	}
	target := runtime.GOOS + "/" + runtime.GOARCH
	if !slices.Contains(want, target) {
		t.Skipf("this machine (%s) is not a release target", target)
	}
	for _, tc := range []struct {
		name, targets, version, wantErr string
	}{
		{"unknown target", "plan9/amd64", "v1", "unknown target plan9/amd64"},
		{"bad version", target, "v1 && rm -rf", "use letters, digits"},
		{"this machine", target, "v0.0.0-test+abc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command("sh", "release.sh")
			cmd.Env = append(plainGo(), "TARGETS="+tc.targets, "VERSION="+tc.version, "OUT="+out)
			log, err := cmd.CombinedOutput()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(log), tc.wantErr) {
					t.Fatalf("err = %v, want failure saying %q:\n%s", err, tc.wantErr, log)
				}
				return
			}
			if err != nil {
				t.Fatalf("release.sh: %v\n%s", err, log)
			}
			name := "gatehouse_" + tc.version + "_" + runtime.GOOS + "_" + runtime.GOARCH
			if runtime.GOOS == "windows" {
				name += ".exe"
			}
			bin := filepath.Join(out, name)
			printed, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatalf("%s version: %v", name, err)
			}
			if string(printed) != "gatehouse "+tc.version+"\n" {
				t.Errorf("%s version printed %q, want the stamped %s", name, printed, tc.version)
			}
			ver := exec.Command("go", "version", "-m", bin)
			ver.Env = plainGo()
			info, err := ver.Output()
			if err != nil {
				t.Fatalf("go version -m: %v", err)
			}
			for _, setting := range []string{"-trimpath=true", "CGO_ENABLED=0"} {
				if !strings.Contains(string(info), setting) {
					t.Errorf("built without %s:\n%s", setting, info)
				}
			}
			b, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if sums := read(t, filepath.Join(out, "SHA256SUMS")); sums != hex.EncodeToString(sum[:])+"  "+name+"\n" {
				t.Errorf("SHA256SUMS:\n%s\nwant the one line of %s, hash %x", sums, name, sum)
			}
		})
	}
}

// plainGo is the environment without GOFLAGS: CI runs the tests with
// GOFLAGS=-json, which would make go version -m answer in JSON.
func plainGo() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOFLAGS=") })
}
