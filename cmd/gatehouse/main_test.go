package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// env isolates a CLI run: its own working directory (the dev secret and the
// SQLite file land there) and only the GATEHOUSE_* variables given.
func env(t *testing.T, vars ...string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GATEHOUSE_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for i := 0; i+1 < len(vars); i += 2 {
		t.Setenv(vars[i], vars[i+1])
	}
	return dir
}

func cli(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, stdin, args...)
	if err != nil {
		t.Fatalf("gatehouse %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// Not parallel: each test changes the working directory and environment.

func TestHelpOnEveryCommand(t *testing.T) {
	env(t)
	for _, args := range [][]string{
		{"serve", "--help"}, {"migrate", "--help"}, {"user", "--help"}, {"user", "create", "--help"},
		{"user", "list", "--help"}, {"user", "disable", "--help"}, {"user", "delete", "--help"}, {"user", "admin", "--help"}, {"user", "roles", "--help"},
		{"sessions", "--help"}, {"sessions", "revoke", "--help"}, {"keys", "--help"}, {"keys", "rotate", "--help"},
		{"keys", "list", "--help"}, {"version", "--help"}, {"healthcheck", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, err := cli(t, "", args...)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if !strings.Contains(out+errOut, "Usage: gatehouse") {
				t.Fatalf("no usage text: %q", out+errOut)
			}
		})
	}
	out := mustCLI(t, "", "--help")
	for _, cmd := range []string{"serve", "migrate", "user create", "sessions revoke", "keys rotate", "version"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("top-level help lacks %q", cmd)
		}
	}
	if _, _, err := cli(t, "", "frobnicate"); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: err = %v, want errUsage", err)
	}
	if _, _, err := cli(t, ""); !errors.Is(err, errUsage) {
		t.Errorf("no command: err = %v, want errUsage", err)
	}
}

func TestVersion(t *testing.T) {
	env(t)
	if out := mustCLI(t, "", "version"); !strings.HasPrefix(out, "gatehouse ") {
		t.Fatalf("version printed %q", out)
	}
}

func TestUserLifecycle(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	out := mustCLI(t, "correct horse battery\n", "user", "create", "--email", " Ada@Example.com ", "--name", "Ada", "--verified", "--password-stdin")
	if !regexp.MustCompile(`^created user [0-9a-f-]{36} <ada@example.com>\n$`).MatchString(out) {
		t.Fatalf("create printed %q", out)
	}
	mustCLI(t, "", "user", "create", "--email", "bob@example.com")

	if _, _, err := cli(t, "", "user", "create", "--email", "ada@example.com"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate create: err = %v", err)
	}
	if _, _, err := cli(t, "password\n", "user", "create", "--email", "c@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "too common") {
		t.Fatalf("common password: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "create", "--email", "c@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("empty stdin: err = %v", err)
	}

	list := mustCLI(t, "", "user", "list")
	for _, want := range []string{"EMAIL", "ada@example.com", "bob@example.com"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	if q := mustCLI(t, "", "user", "list", "--query", "ADA"); strings.Contains(q, "bob@") || !strings.Contains(q, "ada@") {
		t.Fatalf("query ADA listed:\n%s", q)
	}
	page := mustCLI(t, "", "user", "list", "--limit", "1")
	if !strings.Contains(page, "more: gatehouse user list --cursor ") {
		t.Fatalf("paged list has no cursor hint:\n%s", page)
	}

	if out := mustCLI(t, "", "user", "disable", "--email", "ada@example.com"); !strings.HasPrefix(out, "disabled user ") {
		t.Fatalf("disable printed %q", out)
	}
	if list := mustCLI(t, "", "user", "list", "--query", "ada"); !regexp.MustCompile(`ada@example.com\s+Ada\s+yes\s+yes\s+yes`).MatchString(list) {
		t.Fatalf("disabled user not shown disabled:\n%s", list)
	}
	if out := mustCLI(t, "", "user", "enable", "--email", "ada@example.com"); !strings.HasPrefix(out, "enabled user ") {
		t.Fatalf("enable printed %q", out)
	}
	if out := mustCLI(t, "", "sessions", "revoke", "--email", "ada@example.com"); !strings.HasPrefix(out, "revoked every session of ") {
		t.Fatalf("sessions revoke printed %q", out)
	}
	if out := mustCLI(t, "", "user", "delete", "--email", "bob@example.com"); !strings.HasPrefix(out, "deleted user ") {
		t.Fatalf("delete printed %q", out)
	}
	if _, _, err := cli(t, "", "user", "delete", "--email", "bob@example.com"); err == nil || !strings.Contains(err.Error(), "No such user") {
		t.Fatalf("second delete: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "disable"); !errors.Is(err, errUsage) {
		t.Fatalf("disable without a user: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "disable", "--email", "a@example.com", "--id", "x"); err == nil {
		t.Fatal("disable with both --email and --id succeeded")
	}
}

// TestUserAdmin: the admin role is granted at creation (user create
// --admin) or later (user admin), taken away with --off, and shown by
// user list.
func TestUserAdmin(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	if out := mustCLI(t, "", "user", "create", "--email", "boss@example.com", "--admin"); !regexp.MustCompile(`^created user [0-9a-f-]{36} <boss@example.com> with the admin role\n$`).MatchString(out) {
		t.Fatalf("create --admin printed %q", out)
	}
	mustCLI(t, "", "user", "create", "--email", "staff@example.com")
	// role returns the ADMIN column of email's row in user list.
	role := func(email string) string {
		t.Helper()
		list := mustCLI(t, "", "user", "list", "--query", email)
		if !regexp.MustCompile(`DISABLED\s+ADMIN\s+CREATED`).MatchString(list) {
			t.Fatalf("list has no ADMIN column:\n%s", list)
		}
		m := regexp.MustCompile(regexp.QuoteMeta(email) + `\s+(?:yes|no)\s+(?:yes|no)\s+(?:yes|no)\s+(yes|no)\s`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("list has no row for %s:\n%s", email, list)
		}
		return m[1]
	}
	if r := role("boss@example.com"); r != "yes" {
		t.Fatalf("created with --admin: ADMIN %s", r)
	}
	if r := role("staff@example.com"); r != "no" {
		t.Fatalf("created without --admin: ADMIN %s", r)
	}
	for _, step := range []struct {
		args      []string
		out       string
		boss, one string
	}{
		{[]string{"user", "admin", "--email", "staff@example.com"}, "is an admin", "yes", "yes"},
		{[]string{"user", "admin", "--email", "Staff@Example.com"}, "is an admin", "yes", "yes"},
		{[]string{"user", "admin", "--email", "boss@example.com", "--off"}, "is no longer an admin", "no", "yes"},
		{[]string{"user", "admin", "--email", "staff@example.com", "--off"}, "is no longer an admin", "no", "no"},
	} {
		out := mustCLI(t, "", step.args...)
		if !regexp.MustCompile(`^user [0-9a-f-]{36} <\S+> ` + step.out + `\n$`).MatchString(out) {
			t.Fatalf("%v printed %q", step.args, out)
		}
		if b, s := role("boss@example.com"), role("staff@example.com"); b != step.boss || s != step.one {
			t.Fatalf("after %v: boss ADMIN %s, staff ADMIN %s; want %s, %s", step.args, b, s, step.boss, step.one)
		}
	}
	if _, _, err := cli(t, "", "user", "admin"); !errors.Is(err, errUsage) {
		t.Fatalf("admin without a user: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "admin", "--email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "No such user") {
		t.Fatalf("admin of an unknown user: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "create", "--email", "boss@example.com", "--admin"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("create --admin of a taken email: err = %v", err)
	}
	if r := role("boss@example.com"); r != "no" {
		t.Fatalf("a refused create --admin changed the existing account's role: ADMIN %s", r)
	}
}

// TestUserRoles: user roles prints a user's roles and --set replaces them
// (sorted, without duplicates; admin among them is the ADMIN of user list);
// a bad name is refused with the rule and changes nothing.
func TestUserRoles(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	mustCLI(t, "", "user", "create", "--email", "clerk@example.com")
	admin := func() string {
		t.Helper()
		list := mustCLI(t, "", "user", "list", "--query", "clerk@example.com")
		m := regexp.MustCompile(`clerk@example\.com\s+(?:yes|no)\s+(?:yes|no)\s+(?:yes|no)\s+(yes|no)\s`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("list has no row for clerk:\n%s", list)
		}
		return m[1]
	}
	for _, step := range []struct {
		args        []string
		roles, want string
	}{
		{[]string{"user", "roles", "--email", "clerk@example.com"}, "(none)", "no"},
		{[]string{"user", "roles", "--email", "clerk@example.com", "--set", " ops, billing,admin,ops,"}, "admin,billing,ops", "yes"},
		{[]string{"user", "roles", "--email", "Clerk@Example.com"}, "admin,billing,ops", "yes"},
		{[]string{"user", "roles", "--email", "clerk@example.com", "--set", "billing"}, "billing", "no"},
		{[]string{"user", "admin", "--email", "clerk@example.com"}, "", "yes"},
		{[]string{"user", "roles", "--email", "clerk@example.com"}, "admin,billing", "yes"},
		{[]string{"user", "roles", "--email", "clerk@example.com", "--set", ""}, "(none)", "no"},
	} {
		out := mustCLI(t, "", step.args...)
		if step.roles != "" && !regexp.MustCompile(`^user [0-9a-f-]{36} <clerk@example.com> roles: `+regexp.QuoteMeta(step.roles)+`\n$`).MatchString(out) {
			t.Fatalf("%v printed %q, want roles %s", step.args, out, step.roles)
		}
		if got := admin(); got != step.want {
			t.Fatalf("after %v: ADMIN %s, want %s", step.args, got, step.want)
		}
	}
	mustCLI(t, "", "user", "roles", "--email", "clerk@example.com", "--set", "billing")
	for _, bad := range []string{"Billing", "a b", "-ops", strings.Repeat("r", 65)} {
		if _, _, err := cli(t, "", "user", "roles", "--email", "clerk@example.com", "--set", bad); err == nil || !strings.Contains(err.Error(), "not a role name") {
			t.Errorf("--set %q: err = %v, want the role rule", bad, err)
		}
	}
	if out := mustCLI(t, "", "user", "roles", "--email", "clerk@example.com"); !strings.HasSuffix(out, "roles: billing\n") {
		t.Errorf("refused --set changed the roles: %q", out)
	}
	if _, _, err := cli(t, "", "user", "roles"); !errors.Is(err, errUsage) {
		t.Errorf("roles without a user: err = %v", err)
	}
	if _, _, err := cli(t, "", "user", "roles", "--email", "nobody@example.com", "--set", "a"); err == nil || !strings.Contains(err.Error(), "No such user") {
		t.Errorf("roles of an unknown user: err = %v", err)
	}
}

func TestKeys(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	first := mustCLI(t, "", "keys", "list")
	if n := strings.Count(first, "\n"); n != 2 {
		t.Fatalf("a fresh database should list one key:\n%s", first)
	}
	out := mustCLI(t, "", "keys", "rotate")
	m := regexp.MustCompile(`^new signing key (\S+);`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rotate printed %q", out)
	}
	list := mustCLI(t, "", "keys", "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 {
		t.Fatalf("after a rotation want two keys:\n%s", list)
	}
	// The new key signs; the old one is retired but still published.
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(m[1]) + `\s+\S+\s+-\s+yes\s+yes$`).MatchString(lines[2]) {
		t.Fatalf("new key row: %q", lines[2])
	}
	if !regexp.MustCompile(`\s+no\s+yes$`).MatchString(lines[1]) {
		t.Fatalf("old key row: %q", lines[1])
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars []string
		args []string
		want string
	}{
		{"secret required outside dev", nil, []string{"migrate"}, ""},
		{"secret required", nil, []string{"user", "list"}, "GATEHOUSE_SECRET:"},
		{"bad duration", []string{"GATEHOUSE_DEV", "true", "GATEHOUSE_SESSION_TTL", "soon"}, []string{"user", "list"}, "GATEHOUSE_SESSION_TTL:"},
		{"bad database", []string{"GATEHOUSE_DEV", "true"}, []string{"user", "list", "--database-url", "mysql://x"}, "GATEHOUSE_DATABASE_URL:"},
		{"bad dev flag value", []string{"GATEHOUSE_DEV", "maybe"}, []string{"user", "list"}, "GATEHOUSE_DEV:"},
		{"missing env file", []string{"GATEHOUSE_DEV", "true"}, []string{"user", "list", "--env-file", "nope.env"}, "--env-file nope.env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env(t, tc.vars...)
			_, _, err := cli(t, "", tc.args...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line starting %q", err, tc.want)
			}
		})
	}
}

func TestEnvFileAndPrecedence(t *testing.T) {
	dir := env(t)
	// The .env file turns dev mode on and names the database; the
	// environment wins over the file, and a flag over both.
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("GATEHOUSE_DEV=true\nGATEHOUSE_DATABASE_URL=sqlite:fromfile.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "", "user", "create", "--email", "file@example.com")
	if _, err := os.Stat(filepath.Join(dir, "fromfile.db")); err != nil {
		t.Fatalf(".env database not used: %v", err)
	}
	t.Setenv("GATEHOUSE_DATABASE_URL", "sqlite:fromenv.db")
	mustCLI(t, "", "user", "create", "--email", "env@example.com")
	if _, err := os.Stat(filepath.Join(dir, "fromenv.db")); err != nil {
		t.Fatalf("environment did not win over .env: %v", err)
	}
	mustCLI(t, "", "user", "create", "--email", "flag@example.com", "--database-url", "sqlite:fromflag.db")
	if _, err := os.Stat(filepath.Join(dir, "fromflag.db")); err != nil {
		t.Fatalf("flag did not win: %v", err)
	}
}

func TestServeAndGracefulShutdown(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--public-url", "http://" + addr}, strings.NewReader(""), &out, &errOut)
	}()

	base := "http://" + addr
	waitHealthy(t, base, done)
	// A request in flight when the signal arrives still gets its answer:
	// a slow upload keeps the handler busy across the shutdown.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/signup", pr)
	req.Header.Set("Content-Type", "application/json")
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			respc <- nil
			return
		}
		respc <- resp
	}()
	_, _ = pw.Write([]byte(`{"email":"inflight@example.com",`))
	time.Sleep(200 * time.Millisecond) // let the request reach the handler; not a timing assertion
	cancel()
	time.Sleep(100 * time.Millisecond)
	_, _ = pw.Write([]byte(`"password":"correct horse battery"}`))
	_ = pw.Close()
	if resp := <-respc; resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: %+v", resp)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
	if !strings.Contains(out.String(), "dev mode") {
		t.Errorf("dev banner missing: %q", out.String())
	}
	if !strings.Contains(errOut.String(), "draining requests in flight") {
		t.Errorf("shutdown not logged: %q", errOut.String())
	}
}

func TestServeRefusesBusyAddress(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, _, err = cli(t, "", "serve", "--addr", ln.Addr().String())
	if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ADDR:") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("err = %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func waitHealthy(t *testing.T, base string, done chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server never became healthy")
}
