// Command gatehouse runs the Gatehouse authentication server and manages
// its users, sessions and signing keys. It is a thin shell around package
// gatehouse: everything it does, a Go program embedding Gatehouse can do.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `gatehouse — authentication server

Usage:
  gatehouse serve [flags]            run the server
  gatehouse migrate [flags]          bring the database schema up to date
  gatehouse user create|list|disable|enable|delete [flags]
  gatehouse sessions revoke --email EMAIL
  gatehouse keys rotate|list
  gatehouse healthcheck [flags]      exit 0 if the server answers /healthz
  gatehouse version

Every command reads GATEHOUSE_* variables from the environment and from a
.env file in the working directory (variables already set win). Run
"gatehouse COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		stop()
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("see gatehouse --help")

// run is main without the process: tests call it with their own arguments
// and streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "user", "users":
		return user(ctx, rest, stdin, stdout, stderr)
	case "sessions":
		return sessions(ctx, rest, stdout, stderr)
	case "keys":
		return keys(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, stdout, stderr)
	case "version", "--version":
		return version(rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
