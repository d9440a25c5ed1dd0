package gatehouse_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestConfigFromEnv: ConfigFromEnv reads what `gatehouse serve` reads,
// the GATEHOUSE_* variables over the working directory's .env file, and
// answers as LoadConfig does: defaults, derived settings, and every problem
// naming its variable. Not parallel: it changes the working directory and
// the environment.
func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string // the .env file; "" for none
		vars    []string
		check   func(t *testing.T, c gatehouse.Config)
		wantErr string
	}{
		{
			name: "environment only",
			vars: []string{"GATEHOUSE_SECRET", testSecret, "GATEHOUSE_PUBLIC_URL", "https://auth.example.com/"},
			check: func(t *testing.T, c gatehouse.Config) {
				if c.PublicURL != "https://auth.example.com" || c.Secret != testSecret {
					t.Errorf("public URL %q, secret set %v", c.PublicURL, c.Secret == testSecret)
				}
				// Defaults and derived settings, as LoadConfig gives them.
				if d := gatehouse.DefaultConfig(); c.Addr != d.Addr || c.AccessTokenTTL != d.AccessTokenTTL {
					t.Errorf("addr %q, access TTL %s: not the defaults", c.Addr, c.AccessTokenTTL)
				}
				if c.MailFrom != "no-reply@auth.example.com" || !strings.HasPrefix(c.SessionCookieName, "__Host-") {
					t.Errorf("derived settings missing: mail from %q, cookie %q", c.MailFrom, c.SessionCookieName)
				}
			},
		},
		{
			name: "the .env file, the environment winning",
			file: "# a comment\nGATEHOUSE_DEV=true\nGATEHOUSE_APP_NAME=\"From File\"\nGATEHOUSE_ADDR=file:1\n",
			vars: []string{"GATEHOUSE_ADDR", "env:2"},
			check: func(t *testing.T, c gatehouse.Config) {
				if !c.Dev || c.AppName != "From File" || c.Addr != "env:2" {
					t.Errorf("dev %v, app name %q, addr %q; want true, From File, env:2", c.Dev, c.AppName, c.Addr)
				}
			},
		},
		{
			name:    "every problem named",
			file:    "GATEHOUSE_SESSION_TTL=-1s\n",
			vars:    []string{"GATEHOUSE_ADMIN_API_KEY", "short"},
			wantErr: "GATEHOUSE_SECRET:|GATEHOUSE_ADMIN_API_KEY:|GATEHOUSE_SESSION_TTL:",
		},
		{
			name:    "a bad .env file",
			file:    "GATEHOUSE_DEV='true\n",
			wantErr: "env file .env:",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GATEHOUSE_") {
					t.Setenv(k, "")
					os.Unsetenv(k)
				}
			}
			for i := 0; i+1 < len(tc.vars); i += 2 {
				t.Setenv(tc.vars[i], tc.vars[i+1])
			}
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(".", gatehouse.EnvFile), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := gatehouse.ConfigFromEnv()
			if tc.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range strings.Split(tc.wantErr, "|") {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestEnviron: a missing file is empty unless required; "" reads none;
// only GATEHOUSE_* variables come from the environment.
func TestEnviron(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("GATEHOUSE_APP_NAME", "Env")
	t.Setenv("NOT_OURS", "x")
	if err := os.WriteFile("some.env", []byte("GATEHOUSE_APP_NAME=File\nGATEHOUSE_ADDR=:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file     string
		required bool
		addr     string
		wantErr  bool
	}{
		{"some.env", true, ":1", false},
		{"some.env", false, ":1", false},
		{"", true, "", false},
		{"missing.env", false, "", false},
		{"missing.env", true, "", true},
	} {
		vars, err := gatehouse.Environ(tc.file, tc.required)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%q required %v: err = %v", tc.file, tc.required, err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error does not name the file: %v", err)
			}
			continue
		}
		if vars["GATEHOUSE_APP_NAME"] != "Env" || vars["GATEHOUSE_ADDR"] != tc.addr || vars["NOT_OURS"] != "" {
			t.Errorf("%q: %v", tc.file, vars)
		}
	}
}
