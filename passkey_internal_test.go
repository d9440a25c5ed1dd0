package gatehouse

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewBuildsRelyingParty: New builds the passkeys' relying party from
// the settings (nothing serves it yet), leaves it out where the public URL
// cannot serve passkeys, and a bad setting stops start-up with one line
// naming it, before any file is made.
func TestNewBuildsRelyingParty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		rpID string // "" for none
		bad  string // the line's start when New refuses
	}{
		{"the public URL's host", func(c *Config) { c.PublicURL = "https://auth.example.test" }, "auth.example.test", ""},
		{"a parent domain", func(c *Config) {
			c.PublicURL = "https://auth.example.test"
			c.WebAuthnRPID = "example.test"
			c.WebAuthnOrigins = []string{"https://app.example.test", "android:apk-key-hash:abc"}
		}, "example.test", ""},
		{"localhost", func(c *Config) { c.PublicURL = "http://localhost:3000" }, "localhost", ""},
		{"127.0.0.1 in dev mode", func(c *Config) { c.PublicURL, c.Dev = "http://127.0.0.1:3000", true }, "", ""},
		{"an address", func(c *Config) { c.PublicURL = "https://192.0.2.4" }, "", "GATEHOUSE_PUBLIC_URL: "},
		{"an RP ID elsewhere", func(c *Config) {
			c.PublicURL, c.WebAuthnRPID = "https://auth.example.test", "example.org"
		}, "", "GATEHOUSE_WEBAUTHN_RP_ID: "},
		{"an origin elsewhere", func(c *Config) {
			c.PublicURL, c.WebAuthnOrigins = "https://auth.example.test", []string{"https://example.org"}
		}, "", "GATEHOUSE_WEBAUTHN_ORIGINS: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c := DefaultConfig()
			c.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
			c.Secret = strings.Repeat("s", 32)
			c.CheapPasswordHashing = true
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			tc.edit(&c)
			g, err := New(context.Background(), c)
			if tc.bad != "" {
				if err == nil {
					g.Close()
					t.Fatal("started")
				}
				if msg := err.Error(); !strings.HasPrefix(msg, tc.bad) || strings.Contains(msg, "\n") {
					t.Errorf("error %q: want one line starting with %q", msg, tc.bad)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("a refused New left files: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			switch {
			case tc.rpID == "" && g.passkeys != nil:
				t.Errorf("a relying party for %s", g.passkeys.RPID())
			case tc.rpID != "" && (g.passkeys == nil || g.passkeys.RPID() != tc.rpID):
				t.Errorf("relying party %v, want %s", g.passkeys, tc.rpID)
			case g.Config().WebAuthnRPID != tc.rpID:
				t.Errorf("GATEHOUSE_WEBAUTHN_RP_ID = %q, want %q", g.Config().WebAuthnRPID, tc.rpID)
			}
		})
	}
}
