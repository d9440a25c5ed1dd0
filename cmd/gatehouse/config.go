package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/joho/godotenv"

	"github.com/gatehouse/gatehouse"
)

// common are the flags every command that opens the database takes. Each is
// another spelling of a GATEHOUSE_* variable and wins over it.
type common struct {
	envFile     string
	dev         bool
	databaseURL string
	vars        map[string]string // flag-given variables
	// secretOptional is for commands that never use the secret (migrate),
	// so they run with only a database URL.
	secretOptional bool
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	set := flag.NewFlagSet(name, flag.ContinueOnError)
	set.SetOutput(stderr)
	set.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse %s\n\nFlags:\n", synopsis)
		set.PrintDefaults()
	}
	return set
}

func (c *common) register(set *flag.FlagSet) {
	set.StringVar(&c.envFile, "env-file", ".env", "read variables from this file if it exists (variables already set win)")
	set.BoolVar(&c.dev, "dev", false, "development mode (GATEHOUSE_DEV=true)")
	set.StringVar(&c.databaseURL, "database-url", "", "sqlite:PATH or postgres://… (GATEHOUSE_DATABASE_URL)")
}

// config merges, lowest first: the .env file, the environment, the flags.
func (c *common) config(set *flag.FlagSet) (gatehouse.Config, error) {
	vars := map[string]string{}
	fileVars, err := godotenv.Read(c.envFile)
	explicit := false
	set.Visit(func(f *flag.Flag) {
		if f.Name == "env-file" {
			explicit = true
		}
	})
	switch {
	case err == nil:
		for k, v := range fileVars {
			vars[k] = v
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return gatehouse.Config{}, fmt.Errorf("--env-file %s: %w", c.envFile, err)
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "GATEHOUSE_") {
			vars[k] = v
		}
	}
	if c.dev {
		vars["GATEHOUSE_DEV"] = "true"
	}
	if c.databaseURL != "" {
		vars["GATEHOUSE_DATABASE_URL"] = c.databaseURL
	}
	for k, v := range c.vars {
		vars[k] = v
	}
	if c.secretOptional && vars["GATEHOUSE_SECRET"] == "" {
		vars["GATEHOUSE_SECRET"] = strings.Repeat("-", 32) // never used to seal anything
	}
	return gatehouse.LoadConfig(vars)
}
