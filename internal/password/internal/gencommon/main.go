// Command gencommon writes password/common.txt, the list of common passwords
// that password.Policy refuses, from the npm package
// @zxcvbn-ts/language-common (pinned in the repository's package.json).
//
// The list is taken from a maintained package rather than typed by hand, and
// the copy is checked in so that building Gatehouse needs neither npm nor the
// network. CI reinstalls the package with `npm ci`, reruns
// `go generate ./password` and fails if common.txt changed, so the output must
// depend only on the input file: no dates, no map order.
//
// Usage (from the password directory, as go generate runs it):
//
//	go run ./internal/gencommon [-src passwords.json] [-out common.txt] [-n 10000]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const defaultSrc = "../../node_modules/@zxcvbn-ts/language-common/src/passwords.json"

func main() {
	src := flag.String("src", defaultSrc, "passwords.json of @zxcvbn-ts/language-common (ranked by frequency)")
	out := flag.String("out", "common.txt", "file to write")
	n := flag.Int("n", 10000, "how many of the most common passwords to keep")
	flag.Parse()
	if err := run(*src, *out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gencommon:", err)
		os.Exit(1)
	}
}

func run(src, out string, n int) error {
	if n <= 0 {
		return fmt.Errorf("-n must be positive, got %d", n)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read the password list (run `npm ci` in the repository root first): %w", err)
	}
	var ranked []string
	if err := json.Unmarshal(raw, &ranked); err != nil {
		return fmt.Errorf("parse %s as a JSON array of strings: %w", src, err)
	}
	pkg, err := packageID(src)
	if err != nil {
		return err
	}
	top, err := topLower(ranked, n)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# top %d of %s src/passwords.json; regenerate with go generate ./password\n", n, pkg)
	for _, pw := range top {
		b.WriteString(pw)
		b.WriteByte('\n')
	}
	return writeFileAtomic(out, b.Bytes())
}

// topLower returns the n most common entries, lower-cased (the policy
// compares case-insensitively), skipping entries that lower-casing makes
// duplicates so the file holds exactly n distinct passwords.
func topLower(ranked []string, n int) ([]string, error) {
	seen := make(map[string]bool, n)
	top := make([]string, 0, n)
	for i, pw := range ranked {
		if len(top) == n {
			break
		}
		pw = strings.ToLower(pw)
		switch {
		case pw == "":
			return nil, fmt.Errorf("entry %d is empty", i)
		case strings.ContainsAny(pw, "\r\n"):
			return nil, fmt.Errorf("entry %d (%q) contains a line break", i, pw)
		case strings.HasPrefix(pw, "#"):
			// common.txt uses '#' for comment lines.
			return nil, fmt.Errorf("entry %d (%q) starts with '#'", i, pw)
		}
		if seen[pw] {
			continue
		}
		seen[pw] = true
		top = append(top, pw)
	}
	if len(top) < n {
		return nil, fmt.Errorf("only %d distinct entries, want %d", len(top), n)
	}
	return top, nil
}

// packageID returns "name@version" from the package.json one level above
// src/, so the header names the version actually read rather than the one
// someone meant to install.
func packageID(src string) (string, error) {
	path := filepath.Join(filepath.Dir(src), "..", "package.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the package manifest next to the list: %w", err)
	}
	var m struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	if m.Name == "" || m.Version == "" {
		return "", fmt.Errorf("%s has no name or version", path)
	}
	return m.Name + "@" + m.Version, nil
}

// writeFileAtomic replaces path so that an interrupted run never leaves a
// truncated list behind for go:embed to pick up.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".common-*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
