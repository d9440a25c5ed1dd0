package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/logbuf"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
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
		fmt.Fprintf(stdout, "\n  Gatehouse is running in dev mode at %s\n  API docs: %s/docs · health: %s/healthz\n\n", cfg.PublicURL, cfg.PublicURL, cfg.PublicURL)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
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
