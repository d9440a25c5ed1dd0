package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/joho/godotenv"

	"github.com/gatehouse/gatehouse"
)

// healthcheck asks the server this configuration would start for
// /healthz and succeeds only on a 200. It is the container image's
// HEALTHCHECK: a FROM scratch image has no curl or wget, so the binary asks
// itself. It reads only GATEHOUSE_ADDR (the flag, the environment, then a
// .env file, as serve does), never the secret or the database, so it runs
// with whatever environment the container has. It exits 0 when healthy and
// 1 when not (main turns every error but a usage error into 1), which is
// what Docker and Podman expect of a health check.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set := newFlagSet("healthcheck", "healthcheck [flags]", stderr)
	addr := set.String("addr", "", "the server's listen `address` (GATEHOUSE_ADDR"+defaultOf("GATEHOUSE_ADDR")+")")
	timeout := set.Duration("timeout", 3*time.Second, "give up after this long")
	if err := set.Parse(args); err != nil {
		return err
	}
	if set.NArg() > 0 {
		set.Usage()
		return fmt.Errorf("unexpected argument %q: %w", set.Arg(0), errUsage)
	}
	if *addr == "" {
		*addr = listenAddr()
	}
	u, err := healthURL(*addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	// No proxy (an HTTP_PROXY in the container must not intercept a
	// request to the process itself) and no redirects: only the server's
	// own 200 counts.
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s: %s", u, resp.Status)
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// listenAddr returns GATEHOUSE_ADDR from the environment, else from a .env
// file in the working directory, else the default.
func listenAddr() string {
	if v := os.Getenv("GATEHOUSE_ADDR"); v != "" {
		return v
	}
	// A .env that cannot be read is serve's error to report; the check
	// then asks the default address.
	if vars, err := godotenv.Read(".env"); err == nil && vars["GATEHOUSE_ADDR"] != "" {
		return vars["GATEHOUSE_ADDR"]
	}
	return gatehouse.DefaultConfig().Addr
}

// healthURL returns the /healthz URL of a server listening on addr. A
// listener on every interface (":3000", "0.0.0.0:3000", "[::]:3000") is
// asked on the loopback address, which it also serves; a listener on one
// address is asked there.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("GATEHOUSE_ADDR: %q is not host:port such as :3000", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
