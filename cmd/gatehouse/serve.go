package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/internal/password"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := common{server: true}
	set := newFlagSet("serve", "serve [flags]", stderr)
	c.register(set)
	c.setting(set, "addr", "GATEHOUSE_ADDR", "listen `address`")
	c.setting(set, "public-url", "GATEHOUSE_PUBLIC_URL", "the `URL` clients reach this server at")
	c.switchFlag(set, "no-migrate", "GATEHOUSE_SKIP_MIGRATIONS", "do not migrate the database at start-up")
	shutdownWait := set.Duration("shutdown-timeout", 30*time.Second, "how long to let requests in flight finish on SIGINT/SIGTERM")
	if err := set.Parse(args); err != nil {
		return err
	}
	cfg, err := c.config(set)
	if err != nil {
		return err
	}
	if fitted, set := setMemoryLimit(os.LookupEnv); set {
		go watchMemoryLimit(ctx, fitted, hashReserve(runtime.GOMAXPROCS(0), password.DefaultParams.Memory), memoryWatch)
	}
	// One line per request: buffer them rather than pay a write system
	// call each; flushed every 100 ms and when serve returns.
	logs := logbuf.New(stderr, 64<<10, 100*time.Millisecond)
	defer logs.Close()
	cfg.Logger = gatehouse.NewLogger(cfg, logs)
	g, err := gatehouse.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	log := g.Logger()
	// SIGHUP reads the access rules file again; a bad file keeps the
	// rules in force (ReloadAccessRules logs why). Listened for before
	// the server answers, so a SIGHUP never finds the default action
	// (ending the process) once it is up.
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "version", gatehouse.Version, "dev", cfg.Dev)
	if cfg.Dev {
		fmt.Fprint(stdout, firstSteps(cfg))
	}

	for waiting := true; waiting; {
		select {
		case err := <-errc:
			return err
		case <-hangups:
			_ = g.ReloadAccessRules()
		case <-ctx.Done():
			waiting = false
		}
	}
	log.Info("shutting down: draining requests in flight", "timeout", shutdownWait.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// firstSteps is what `serve --dev` prints once it listens: where to go,
// where the codes appear, and the command that makes an admin, as it works
// from another terminal in this folder (the command finds the dev secret
// beside the database; see common.config).
func firstSteps(cfg gatehouse.Config) string {
	admin := "gatehouse user create --email you@example.com --admin"
	switch u := cfg.DatabaseURL; {
	case u == gatehouse.DefaultConfig().DatabaseURL:
	case strings.HasPrefix(u, "sqlite:") || strings.HasPrefix(u, "file:"):
		admin += " --database-url " + u
	default: // a server URL may hold a password: not printed
		admin += " --dev  (with this GATEHOUSE_DATABASE_URL)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  Gatehouse is running in dev mode at %s\n\n", cfg.PublicURL)
	fmt.Fprintf(&b, "  Sign in:   %s/login (or sign up at %s/signup)\n", cfg.PublicURL, cfg.PublicURL)
	fmt.Fprintf(&b, "  Codes:     emails and texts are printed here, on this console\n")
	fmt.Fprintf(&b, "  Admin:     %s\n", admin)
	fmt.Fprintf(&b, "             in another terminal, in this folder (from a clone: go run ./cmd/gatehouse user create …),\n")
	fmt.Fprintf(&b, "             then sign in as that address and open %s/admin\n", cfg.PublicURL)
	fmt.Fprintf(&b, "  API:       %s/docs · health: %s/healthz\n\n", cfg.PublicURL, cfg.PublicURL)
	return b.String()
}
