package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// common are the flags every command that opens the database takes. Each
// flag that names a setting is another spelling of its GATEHOUSE_*
// variable and wins over it; like the variables, it has no default of its
// own (not given, it changes nothing), and its help shows the default
// gatehouse.DefaultConfig holds, the one place it is written.
type common struct {
	envFile string
	// server is set by serve, which never takes the dev secret unasked
	// (see config).
	server bool
	vars   map[string]string // flag-given variables
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
	c.switchFlag(set, "dev", "GATEHOUSE_DEV", "development mode")
	c.setting(set, "database-url", "GATEHOUSE_DATABASE_URL", "the database `URL`: sqlite:PATH or postgres://…")
}

// setting registers flag name as another spelling of variable.
func (c *common) setting(set *flag.FlagSet, name, variable, usage string) {
	set.Func(name, usage+" ("+variable+defaultOf(variable)+")", func(v string) error {
		c.set(variable, v)
		return nil
	})
}

// switchFlag registers a boolean flag name as another spelling of
// variable: -name sets it to true, -name=false to false.
func (c *common) switchFlag(set *flag.FlagSet, name, variable, usage string) {
	set.BoolFunc(name, usage+" ("+variable+"=true"+defaultOf(variable)+")", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		c.set(variable, strconv.FormatBool(b))
		return nil
	})
}

func (c *common) set(variable, value string) {
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	c.vars[variable] = value
}

// defaultOf returns "; default VALUE" for the variable's setting in
// gatehouse.DefaultConfig, or "" when it has none (or is false).
func defaultOf(variable string) string {
	d := reflect.ValueOf(gatehouse.DefaultConfig())
	for i := range d.NumField() {
		if d.Type().Field(i).Tag.Get("env") == variable && !d.Field(i).IsZero() {
			return fmt.Sprintf("; default %v", d.Field(i).Interface())
		}
	}
	return ""
}

// config merges, lowest first: the .env file, the environment, the flags
// (gatehouse.Environ reads the first two, as gatehouse.ConfigFromEnv
// does).
//
// A command other than serve given no secret and no word on dev mode runs
// in dev mode when the dev secret file sits beside the database: that is a
// `serve --dev` server's folder, and its commands (`user create --admin`
// first) must work there as the README writes them. It says so on
// standard error. serve itself never slips into dev mode unasked.
func (c *common) config(set *flag.FlagSet) (gatehouse.Config, error) {
	explicit := false
	set.Visit(func(f *flag.Flag) {
		if f.Name == "env-file" {
			explicit = true
		}
	})
	vars, err := gatehouse.Environ(c.envFile, explicit)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return gatehouse.Config{}, fmt.Errorf("--env-file %s: %w", c.envFile, err)
	}
	maps.Copy(vars, c.vars)
	if c.secretOptional && vars["GATEHOUSE_SECRET"] == "" {
		vars["GATEHOUSE_SECRET"] = strings.Repeat("-", 32) // never used to seal anything
	}
	if err := c.devSecret(vars, set.Output()); err != nil {
		return gatehouse.Config{}, err
	}
	return gatehouse.LoadConfig(vars)
}

// devSecret settles a missing GATEHOUSE_SECRET outside dev mode: it turns
// dev mode on when the dev secret file is there to use (see config), and
// otherwise returns the error that says how to give one. vars is changed
// in place.
func (c *common) devSecret(vars map[string]string, stderr io.Writer) error {
	dev, devErr := strconv.ParseBool(vars["GATEHOUSE_DEV"])
	if vars["GATEHOUSE_SECRET"] != "" || dev || (devErr != nil && vars["GATEHOUSE_DEV"] != "") {
		return nil // a secret, dev mode, or a GATEHOUSE_DEV that LoadConfig reports
	}
	probe := gatehouse.DefaultConfig()
	if u := vars["GATEHOUSE_DATABASE_URL"]; u != "" {
		probe.DatabaseURL = u
	}
	file := probe.DevSecretFile()
	_, statErr := os.Stat(file)
	devSet := vars["GATEHOUSE_DEV"] != ""
	if statErr == nil && !devSet && !c.server {
		vars["GATEHOUSE_DEV"] = "true"
		fmt.Fprintf(stderr, "gatehouse: GATEHOUSE_SECRET is not set: using the dev secret in %s, in dev mode as `gatehouse serve --dev` (add --dev to skip this note)\n", file)
		return nil
	}
	const give = "GATEHOUSE_SECRET: required outside dev mode: set it to at least 32 characters " +
		"(export GATEHOUSE_SECRET=\"$(openssl rand -base64 32)\", or a line in .env), the same for every command and server on this database"
	switch {
	case c.server:
		return fmt.Errorf("%s; or run `gatehouse serve --dev` for a local server that keeps a generated one in %s", give, file)
	case statErr == nil: // GATEHOUSE_DEV=false was asked for
		return fmt.Errorf("%s; or drop GATEHOUSE_DEV=false (--dev=false) to use the dev server's secret in %s", give, file)
	}
	return fmt.Errorf("%s; or, for a `serve --dev` server, run this command in the folder it runs in (where %s is; or give its --database-url) or add --dev", give, file)
}
