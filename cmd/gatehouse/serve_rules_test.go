package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the server's log may write to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeReloadsRulesOnSIGHUP: `gatehouse serve` reads the access rules
// file again on SIGHUP; a bad file keeps the rules in force and logs why.
func TestServeReloadsRulesOnSIGHUP(t *testing.T) {
	dir := env(t, "GATEHOUSE_DEV", "true")
	rules := filepath.Join(dir, "rules.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(rules, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("- host: app.example.test\n  deny: true\n")
	t.Setenv("GATEHOUSE_ACCESS_RULES_FILE", rules)
	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--public-url", base}, strings.NewReader(""), &out, &errOut)
	}()
	waitHealthy(t, base, done)

	// Asked for app.example.test, as Traefik asks, without a session.
	status := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/check", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-Host", "app.example.test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("%s: never; log:\n%s", what, errOut.String())
	}
	if got := status(); got != http.StatusForbidden {
		t.Fatalf("the first file's deny: %d", got)
	}
	eventually("start-up logs the rules in force", func() bool { return strings.Contains(errOut.String(), "access rules in force") })

	write("- host: app.example.test\n  allow: anyone\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually("the new rules in force after SIGHUP", func() bool { return status() == http.StatusOK })

	write("- host: app.example.test\n  deny: maybe\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually("a bad file logged", func() bool { return strings.Contains(errOut.String(), "access rules not reloaded") })
	if got := status(); got != http.StatusOK {
		t.Errorf("a bad file changed the rules in force: %d", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
