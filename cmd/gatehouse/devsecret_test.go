package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestCommandsBesideDevServer: in the folder of a `serve --dev` server
// (its database and gatehouse.secret), a command given neither a secret
// nor --dev uses that secret in dev mode and says so, so `user create
// --admin` works as the README writes it; every other case without a
// secret fails with one line that says how to give one. Not parallel: each
// case changes the working directory and environment.
func TestCommandsBesideDevServer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		vars     []string
		devFirst bool     // a dev server's folder: keys sealed with its secret
		args     []string // run after; "--email x" is added to user create
		wantErr  string   // "" for success
		wantNote bool
	}{
		{"beside a dev server", nil, true, []string{"user", "create", "--admin"}, "", true},
		{"beside a dev server, keys", nil, true, []string{"keys", "list"}, "", true},
		{"beside a dev server, its database named", []string{"GATEHOUSE_DATABASE_URL", "sqlite:data/dev.db"}, true, []string{"user", "create"}, "", true},
		{"--dev asked for", nil, true, []string{"user", "create", "--dev"}, "", false},
		{"dev mode refused", nil, true, []string{"user", "create", "--dev=false"}, "drop GATEHOUSE_DEV=false", false},
		{"no dev server here", nil, false, []string{"user", "create"}, "add --dev", false},
		{"serve never slips into dev mode", nil, true, []string{"serve", "--addr", "127.0.0.1:0"}, "gatehouse serve --dev", false},
		{"serve with no secret", nil, false, []string{"serve", "--addr", "127.0.0.1:0"}, "gatehouse serve --dev", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := env(t, tc.vars...)
			if tc.devFirst {
				mustCLI(t, "", "keys", "rotate", "--dev")
			}
			args := tc.args
			if args[0] == "user" {
				args = append(args, "--email", "you@example.com")
			}
			// A serve that wrongly starts stops at once: its context is
			// done before it begins.
			ctx, cancel := context.WithCancel(context.Background())
			if args[0] == "serve" {
				cancel()
			}
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
			out, errOut := stdout.String(), stderr.String()
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("%v succeeded: %s", args, out)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "GATEHOUSE_SECRET: required outside dev mode: set it") || strings.Contains(msg, "\n") ||
					!strings.Contains(msg, "openssl rand -base64 32") || !strings.Contains(msg, tc.wantErr) {
					t.Fatalf("err = %v\nwant one line naming GATEHOUSE_SECRET, how to make one, and %q", err, tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, "gatehouse.secret")); err == nil && !tc.devFirst {
					t.Fatal("a refused command made a dev secret")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %v\nstderr: %s", args, err, errOut)
			}
			if note := strings.Contains(errOut, "GATEHOUSE_SECRET is not set: using the dev secret in"); note != tc.wantNote {
				t.Errorf("note on stderr %v, want %v: %q", note, tc.wantNote, errOut)
			}
			if args[0] == "user" {
				// The same database as the dev server's: its user list
				// (run in dev mode, as the server) shows the account.
				if list := mustCLI(t, "", "user", "list", "--dev"); !strings.Contains(list, "you@example.com") {
					t.Fatalf("the account is not in the dev server's database:\n%s", list)
				}
			}
		})
	}
}

// TestDevSecretFile: the file the command line looks for is the one dev
// mode writes, for each form of database URL.
func TestDevSecretFile(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"sqlite:gatehouse.db", "gatehouse.secret"},
		{"sqlite:data/dev.db", "data/gatehouse.secret"},
		{"sqlite:///var/lib/gatehouse/g.db", "/var/lib/gatehouse/gatehouse.secret"},
		{"file:x/y.db?_pragma=foo", "x/gatehouse.secret"},
		{"postgres://u@h/db", "gatehouse.secret"},
	} {
		c := gatehouse.DefaultConfig()
		c.DatabaseURL = tc.url
		if got := c.DevSecretFile(); got != filepath.FromSlash(tc.want) {
			t.Errorf("%s: %s, want %s", tc.url, got, tc.want)
		}
	}
	env(t, "GATEHOUSE_DEV", "true", "GATEHOUSE_DATABASE_URL", "sqlite:data/dev.db")
	mustCLI(t, "", "keys", "list")
	if _, err := os.Stat(filepath.Join("data", "gatehouse.secret")); err != nil {
		t.Fatalf("dev mode did not write the file DevSecretFile names: %v", err)
	}
}

// TestFirstSteps: the admin command serve --dev prints works from its
// folder: it names a SQLite database other than the default (where the
// command then finds the dev secret), and never prints a server
// database's URL, which may hold a password.
func TestFirstSteps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		database, want, never string
	}{
		{gatehouse.DefaultConfig().DatabaseURL, "Admin:     gatehouse user create --email you@example.com --admin\n", ""},
		{"sqlite:data/dev.db", "--admin --database-url sqlite:data/dev.db\n", ""},
		{"postgres://gh:hunter2-secret@db/gh", "--admin --dev  (with this GATEHOUSE_DATABASE_URL)\n", "hunter2-secret"},
	} {
		cfg := gatehouse.DefaultConfig()
		cfg.Dev, cfg.DatabaseURL = true, tc.database
		got := firstSteps(cfg)
		if !strings.Contains(got, tc.want) || (tc.never != "" && strings.Contains(got, tc.never)) {
			t.Errorf("%s: first steps\n%s\nwant %q", tc.database, got, tc.want)
		}
		for _, want := range []string{"http://localhost:3000/login", "printed here, on this console", "http://localhost:3000/docs"} {
			if !strings.Contains(got, want) {
				t.Errorf("first steps lack %q:\n%s", want, got)
			}
		}
	}
}
