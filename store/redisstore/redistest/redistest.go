// Package redistest gives tests a real Redis: the one GATEHOUSE_TEST_REDIS_URL
// names, with a key prefix of the test's own so tests run in parallel, or a
// redis-server of the test's own on a free port, which the test may stop and
// start again (an outage).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/redisstore"
)

// Env names the Redis the tests use, e.g. redis://127.0.0.1:6379/0.
const Env = "GATEHOUSE_TEST_REDIS_URL"

// URL returns GATEHOUSE_TEST_REDIS_URL. It skips tb when the variable is
// unset, and fails it when that Redis does not answer: a configured Redis
// that is down is a broken set-up, not a reason to skip.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(Env)
	if u == "" {
		tb.Skipf("redistest: %s is not set; skipping the Redis test (e.g. %s='redis://127.0.0.1:6379/0')", Env, Env)
	}
	c := Open(tb, u)
	if err := c.Ping(tb.Context()); err != nil {
		tb.Fatalf("redistest: %s does not answer: %v", Env, err)
	}
	return u
}

// Prefix returns a key prefix no other test uses; the keys under it are
// deleted when tb ends.
func Prefix(tb testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// Open returns a Client for url under a prefix of tb's own (Prefix),
// closed and its keys deleted when tb ends.
func Open(tb testing.TB, url string) *redisstore.Client {
	tb.Helper()
	return OpenWith(tb, url, redisstore.Options{})
}

// OpenWith is Open with o: an empty o.Prefix takes one of tb's own (give
// two Clients one Prefix for two nodes of one deployment), a zero
// o.Timeout a second.
func OpenWith(tb testing.TB, url string, o redisstore.Options) *redisstore.Client {
	tb.Helper()
	if o.Prefix == "" {
		o.Prefix = Prefix(tb)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	prefix := o.Prefix
	c, err := redisstore.Open(context.Background(), url, o)
	if err != nil {
		tb.Fatalf("redistest: open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rdb := c.Redis()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c
}

// Server is a redis-server of one test's own.
type Server struct {
	// URL is redis://127.0.0.1:port/0.
	URL  string
	port int
	tb   testing.TB
	cmd  *exec.Cmd
}

// Start runs a redis-server on a free port until tb ends. It skips tb
// when redis-server is not installed, except in CI (CI set), where that
// fails it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("redistest: redis-server is not installed: %v", err)
		}
		tb.Skip("redistest: redis-server is not installed (apt-get install -y redis-server)")
	}
	s := &Server{port: freePort(tb), tb: tb}
	s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// Start starts the server (again, after Stop) and waits until it answers.
func (s *Server) Start() {
	s.tb.Helper()
	s.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), 100*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redistest: redis-server did not listen on %d: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (an outage); Stop on a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
