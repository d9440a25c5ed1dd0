package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/joho/godotenv"

	"github.com/gatehouse/gatehouse"
)

// common are the flags every command that opens the database takes. Each
// flag that names a setting is another spelling of its GATEHOUSE_*
// variable and wins over it; like the variables, it has no default of its
// own (not given, it changes nothing), and its help shows the default
// gatehouse.DefaultConfig holds, the one place it is written.
type common struct {
	envFile string
	vars    map[string]string // flag-given variables
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
	for k, v := range c.vars {
		vars[k] = v
	}
	if c.secretOptional && vars["GATEHOUSE_SECRET"] == "" {
		vars["GATEHOUSE_SECRET"] = strings.Repeat("-", 32) // never used to seal anything
	}
	return gatehouse.LoadConfig(vars)
}
