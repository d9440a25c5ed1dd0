package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// asCLI, set in a child's environment, makes the test binary the gatehouse
// command itself (TestMain runs main): the README's commands then run the
// real command line, with no second build.
const asCLI = "GATEHOUSE_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestReadmeWalkThrough follows the README as a newcomer does: `serve
// --dev` in a fresh folder (a child process running the real command),
// then, from that folder, the admin command of "Two commands" and every
// block of "A walk through the API with curl", in order, run by bash with
// curl and jq. It rewrites only localhost:3000 to the server's port and
// each `CODE=123456   # the code in the console's message to ADDRESS`
// line to the code the server printed for ADDRESS. Every request's status
// must be the one expected: a command that fails, a 429 on the second
// message to one address, or an answer the README does not promise fails
// it. The server's first steps must name the README's admin command.
func TestReadmeWalkThrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed to run the README's commands: %v", tool, err)
			}
			t.Skipf("%s is not installed: the README's commands need it", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := env(t) // the server's folder and the walk-through's
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gatehouse"), []byte("#!/bin/sh\n"+asCLI+"=1 exec '"+exe+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	public := "http://localhost:" + port

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	consolePath := filepath.Join(dir, "console.out")
	console, err := os.Create(consolePath)
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	var logs bytes.Buffer
	srv := exec.Command(exe, "serve", "--dev")
	srv.Dir = dir
	srv.Env = append(os.Environ(), asCLI+"=1", "GATEHOUSE_ADDR="+addr, "GATEHOUSE_PUBLIC_URL="+public)
	srv.Stdout, srv.Stderr = console, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			out, _ := os.ReadFile(consolePath)
			t.Logf("server console:\n%s\nserver log:\n%s", out, logs.String())
		}
	}()
	waitHealthy(t, "http://"+addr, done)

	// The first steps the server printed name the command the README
	// gives for an admin.
	steps := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _ := os.ReadFile(consolePath)
		if steps = string(out); strings.Contains(steps, "API:") {
			break
		}
	}
	admin := regexp.MustCompile(`(?m)^  Admin: +(.+)$`).FindStringSubmatch(steps)
	if admin == nil || !strings.Contains(steps, public+"/login") || !strings.Contains(steps, "printed here, on this console") {
		t.Fatalf("serve --dev printed no first steps (URL, codes, admin):\n%s", steps)
	}
	first := readmeBlocks(t, string(readme), "## Two commands")
	var adminBlock string
	for _, b := range first {
		if strings.Contains(b, "user create") {
			adminBlock = b
		}
	}
	if cmd, _, _ := strings.Cut(adminBlock, "#"); strings.TrimSpace(cmd) != admin[1] {
		t.Fatalf("the server prints %q for an admin, the README %q", admin[1], strings.TrimSpace(cmd))
	}

	blocks := append([]string{adminBlock}, readmeBlocks(t, string(readme), "## A walk through the API with curl")...)
	codeLine := regexp.MustCompile(`(?m)^(\w+)=123456 +# the code in the console's (?:message|text) to (\S+)$`)
	script := walkPrelude
	for _, b := range blocks {
		b = strings.ReplaceAll(b, "localhost:3000", "localhost:"+port)
		b = codeLine.ReplaceAllString(b, `$1=$$(gh_code '$2')`)
		script += b + "\n"
	}
	if n := strings.Count(script, "gh_code '"); n != 3 {
		t.Fatalf("the walk-through has %d CODE lines, want 3 (ada's email, grace's code, the text):\n%s", n, script)
	}
	if strings.Contains(script, `"code":"123456"`) || strings.Contains(script, `code\":\"123456`) {
		t.Fatalf("a literal code is left for the reader to replace unannounced:\n%s", script)
	}
	statusPath := filepath.Join(dir, "statuses")
	sh := exec.CommandContext(ctx, "bash", "-c", script)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GH_CONSOLE="+consolePath, "GH_STATUS="+statusPath)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\nscript:\n%s\noutput:\n%s", err, script, out)
	}
	if !regexp.MustCompile(`created user \S+ <you@example.com> with the admin role`).Match(out) {
		t.Errorf("the admin command did not make an admin:\n%s", out)
	}
	raw, err := os.ReadFile(statusPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("curl wrote %q", line)
		}
		u, err := url.Parse(f[2])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f[0]+" "+f[1]+" "+u.Path)
	}
	want := []string{
		// the first walk: sign-up, tokens, proving the email, a refresh, the check, logout
		"201 POST /v1/signup", "200 POST /v1/token", "200 GET /v1/user", "200 POST /v1/user/email/verify",
		"200 POST /v1/token", "200 GET /v1/check", "204 POST /v1/logout", "401 GET /v1/check",
		// without a password: a code, its grant, a link to another address
		"202 POST /v1/otp", "200 POST /v1/token", "202 POST /v1/otp",
		// by SMS
		"202 POST /v1/otp", "200 POST /v1/token",
	}
	if !slices.Equal(got, want) {
		t.Errorf("statuses, in order:\n%s\nwant:\n%s\noutput:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

// walkPrelude runs before the README's commands: it stops at the first
// command that fails, records every curl's status, and defines gh_code,
// which prints the code of the next console message to an address (the
// next, so a second code to one address is not the first again), waiting
// up to 10 s for the outbox to deliver it.
const walkPrelude = `set -euo pipefail
curl() { command curl -w '%{stderr}%{http_code} %{method} %{url_effective}\n' "$@" 2>>"$GH_STATUS"; }
declare -A gh_seen
gh_code() {
  local n=$(( ${gh_seen[$1]:-0} + 1 )) code=""
  gh_seen[$1]=$n
  for _ in $(seq 200); do
    code=$(awk -v to="To: $1" -v n="$n" '
      /^----- (email|sms) -----$/ { mine = 0; next }
      /^-+$/ { mine = 0; next }
      $0 == to { if (++seen == n) mine = 1; next }
      mine && match($0, /(^|[^A-Za-z0-9_-])[0-9][0-9][0-9][0-9][0-9][0-9]([^A-Za-z0-9_-]|$)/) {
        s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); print s; exit
      }' "$GH_CONSOLE")
    if [ -n "$code" ]; then echo "$code"; return 0; fi
    sleep 0.05
  done
  echo "no message to $1 on the server's console" >&2
  return 1
}
`

// readmeBlocks returns the ```sh blocks of the README section that starts
// with the heading line, up to the next heading of any level.
func readmeBlocks(t *testing.T, readme, heading string) []string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	// The section ends at the next heading outside a code block (a
	// shell comment starts with # too).
	var section strings.Builder
	fenced := false
	for _, line := range strings.SplitAfter(readme[i+len(heading)+2:], "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			break
		}
		section.WriteString(line)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```sh\n(.*?)^```$").FindAllStringSubmatch(section.String(), -1) {
		b := m[1]
		if strings.Contains(b, "serve --dev") || strings.Contains(b, "go test") {
			continue // the test starts the server itself, and is the test run
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		t.Fatalf("README section %q has no sh block", heading)
	}
	return blocks
}
