package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestSettingFlags: a flag that names a setting holds no default of its
// own; its help quotes gatehouse.DefaultConfig's, a flag not given leaves
// the environment alone, and one given wins over it, false included.
func TestSettingFlags(t *testing.T) {
	env(t, "GATEHOUSE_DEV", "true", "GATEHOUSE_PUBLIC_URL", "https://auth.example.com")
	d := gatehouse.DefaultConfig()

	_, errOut, err := cli(t, "", "serve", "--help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	for _, want := range []string{
		"(GATEHOUSE_ADDR; default " + d.Addr + ")",
		"(GATEHOUSE_PUBLIC_URL; default " + d.PublicURL + ")",
		"(GATEHOUSE_DATABASE_URL; default " + d.DatabaseURL + ")",
		"(GATEHOUSE_DEV=true)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, errOut)
		}
	}

	for _, tc := range []struct {
		args              []string
		dev               bool
		addr, database    string
		publicURL         string
		wantSkipMigration bool
	}{
		{nil, true, d.Addr, d.DatabaseURL, "https://auth.example.com", false},
		{[]string{"-dev=false"}, false, d.Addr, d.DatabaseURL, "https://auth.example.com", false},
		{[]string{"-addr", "0.0.0.0:8080", "-database-url", "sqlite:other.db", "-no-migrate"}, true, "0.0.0.0:8080", "sqlite:other.db", "https://auth.example.com", true},
		{[]string{"-public-url", "https://id.example.com"}, true, d.Addr, d.DatabaseURL, "https://id.example.com", false},
	} {
		var c common
		set := newFlagSet("serve", "serve [flags]", io.Discard)
		c.register(set)
		c.setting(set, "addr", "GATEHOUSE_ADDR", "")
		c.setting(set, "public-url", "GATEHOUSE_PUBLIC_URL", "")
		c.switchFlag(set, "no-migrate", "GATEHOUSE_SKIP_MIGRATIONS", "")
		if err := set.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		c.secretOptional = true // -dev=false leaves no secret; none is needed here
		cfg, err := c.config(set)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if cfg.Dev != tc.dev || cfg.Addr != tc.addr || cfg.DatabaseURL != tc.database || cfg.PublicURL != tc.publicURL ||
			cfg.SkipMigrations != tc.wantSkipMigration {
			t.Errorf("%q: dev %v, addr %q, database %q, public URL %q, skip migrations %v", tc.args,
				cfg.Dev, cfg.Addr, cfg.DatabaseURL, cfg.PublicURL, cfg.SkipMigrations)
		}
	}
}
