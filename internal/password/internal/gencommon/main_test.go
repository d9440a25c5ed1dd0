package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTopLower(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ranked  []string
		n       int
		want    string
		wantErr string
	}{
		{"first n", []string{"a", "b", "c"}, 2, "a b", ""},
		{"lower-cased", []string{"Qwerty", "ABC"}, 2, "qwerty abc", ""},
		{"case duplicates skipped", []string{"abc", "ABC", "def"}, 2, "abc def", ""},
		{"too few", []string{"a", "A"}, 2, "", "only 1 distinct"},
		{"empty entry", []string{"a", ""}, 2, "", "empty"},
		{"line break", []string{"a\nb"}, 1, "", "line break"},
		{"comment marker", []string{"#1"}, 1, "", "starts with '#'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := topLower(tc.ranked, tc.n)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("topLower = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tc.want {
				t.Fatalf("topLower = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestRunDeterministic: CI diffs the checked-in file against a fresh run, so
// two runs over the same input must write identical bytes.
func TestRunDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pkg := filepath.Join(dir, "node_modules", "@zxcvbn-ts", "language-common")
	if err := os.MkdirAll(filepath.Join(pkg, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(pkg, "package.json"), `{"name":"@zxcvbn-ts/language-common","version":"9.9.9"}`)
	src := filepath.Join(pkg, "src", "passwords.json")
	write(src, `["123456","Password","iloveyou","dragon"]`)

	var outs [2][]byte
	for i := range outs {
		out := filepath.Join(dir, "common.txt")
		if err := run(src, out, 3); err != nil {
			t.Fatalf("run: %v", err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = b
	}
	want := "# top 3 of @zxcvbn-ts/language-common@9.9.9 src/passwords.json; regenerate with go generate ./password\n123456\npassword\niloveyou\n"
	if string(outs[0]) != want {
		t.Errorf("output =\n%s\nwant\n%s", outs[0], want)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two runs over the same input differ")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".common-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	if err := run(filepath.Join(dir, "missing.json"), filepath.Join(dir, "x.txt"), 3); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("run with a missing list = %v, want a hint to run npm ci", err)
	}
}
