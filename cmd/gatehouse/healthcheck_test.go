package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

func TestHealthURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, want string
	}{
		{":3000", "http://127.0.0.1:3000/healthz"},
		{"0.0.0.0:3000", "http://127.0.0.1:3000/healthz"},
		{"[::]:3000", "http://[::1]:3000/healthz"},
		{"localhost:3000", "http://localhost:3000/healthz"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/healthz"},
		{"3000", ""},
		{"localhost", ""},
		{"localhost:", ""},
	} {
		got, err := healthURL(tc.addr)
		if tc.want == "" {
			if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ADDR:") {
				t.Errorf("healthURL(%q) = %q, %v; want an error naming GATEHOUSE_ADDR", tc.addr, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
}

// TestHealthcheck runs the container's health check against a real server
// and against the ways a server can fail it.
func TestHealthcheck(t *testing.T) {
	env(t)
	srv := gatehousetest.Start(t)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}

	// Healthy, whichever way the address is given.
	for _, args := range [][]string{
		{"healthcheck", "--addr", "127.0.0.1:" + port},
		{"healthcheck", "--addr", ":" + port}, // the image's GATEHOUSE_ADDR form
	} {
		if out := mustCLI(t, "", args...); out != "healthy\n" {
			t.Fatalf("%v printed %q", args, out)
		}
	}
	t.Setenv("GATEHOUSE_ADDR", ":"+port)
	mustCLI(t, "", "healthcheck")
	os.Unsetenv("GATEHOUSE_ADDR")
	if err := os.WriteFile(".env", []byte("GATEHOUSE_ADDR=:"+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "", "healthcheck")

	// Unhealthy: nothing listening, a 503, a redirect, no answer in time.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	status := func(code int) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", code)
				return
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(s.Close)
		return strings.TrimPrefix(s.URL, "http://")
	}
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hung.Close)
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"nothing listening", closed, "connection refused"},
		{"503", status(http.StatusServiceUnavailable), "503"},
		{"redirect", status(http.StatusFound), "302"},
		{"no answer", strings.TrimPrefix(hung.URL, "http://"), "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := cli(t, "", "healthcheck", "--addr", tc.addr, "--timeout", "300ms")
			if err == nil || !strings.HasPrefix(err.Error(), "unhealthy: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want unhealthy: …%s…", err, tc.want)
			}
			// Exit status 1 (unhealthy), not 2 (usage), which Docker
			// reserves.
			if errors.Is(err, errUsage) {
				t.Fatalf("err = %v is a usage error", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s despite --timeout 300ms", d)
			}
		})
	}

	if _, _, err := cli(t, "", "healthcheck", "--addr", "nope"); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ADDR:") {
		t.Fatalf("bad address: err = %v", err)
	}
	if _, _, err := cli(t, "", "healthcheck", "extra"); !errors.Is(err, errUsage) {
		t.Fatalf("extra argument: err = %v, want errUsage", err)
	}
}
