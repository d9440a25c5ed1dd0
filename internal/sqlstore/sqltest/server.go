//go:build linux

package sqltest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Server is a PostgreSQL server of a test's own, started from the
// machine's PostgreSQL binaries, that the test may freeze: a database that
// accepts connections but never answers, as a stalled disk or a lock
// pile-up makes it.
type Server struct {
	// URL connects to the server's postgres database as its superuser.
	URL string

	cmd *exec.Cmd
}

// StartPostgres initialises a new PostgreSQL cluster in a temporary
// directory, starts it on a free local port and answers it; it is stopped
// and removed when tb ends. It skips tb when no PostgreSQL binaries are
// installed (under /usr/lib/postgresql/*/bin), except when CI is set, where
// a missing server is a broken set-up and fails tb. Run as root, the server
// runs as the postgres user, as initdb refuses to run as root.
func StartPostgres(tb testing.TB) *Server {
	tb.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			tb.Fatal("sqltest: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin, and CI is set")
		}
		tb.Skip("sqltest: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; skipping the test of a server of its own")
	}
	// The newest installed major version; sorting by string would put
	// 9 after 17.
	slices.SortFunc(bins, func(a, b string) int { return majorOf(a) - majorOf(b) })
	bin := filepath.Dir(bins[len(bins)-1])

	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("sqltest: running as root, the server must run as the postgres user: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not tb.TempDir: its parent is private to root, where the postgres
	// user could not reach the cluster.
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		tb.Fatalf("sqltest: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			tb.Fatalf("sqltest: %v", err)
		}
	}
	data := filepath.Join(dir, "data")

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("sqltest: initdb: %v\n%s", err, out)
	}

	port := freePort(tb)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		tb.Fatalf("sqltest: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir, "-c", "fsync=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("sqltest: start postgres: %v", err)
	}
	s := &Server{
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		cmd: cmd,
	}
	tb.Cleanup(func() { s.stop(tb, dir) })
	if err := s.waitReady(30 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		tb.Fatalf("sqltest: postgres did not start: %v\n%s", err, log)
	}
	return s
}

// majorOf answers the major version in a path like
// /usr/lib/postgresql/17/bin/postgres.
func majorOf(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(bin))))
	return n
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("sqltest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady waits until the server answers a query.
func (s *Server) waitReady(limit time.Duration) error {
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = time.Second
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// children answers the processes the postmaster forked: backends and
// helpers. Each calls setsid, so they share no process group with it and
// one signal to its group would miss them.
func (s *Server) children() ([]int, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone since the glob
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(s.cmd.Process.Pid) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Freeze stops every process of the server (SIGSTOP), the postmaster
// first so it forks no new backend meanwhile: connections are still
// accepted by the kernel, but nothing answers.
func (s *Server) Freeze(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatalf("sqltest: freeze postgres: %v", err)
	}
	pids, err := s.children()
	if err != nil {
		tb.Fatalf("sqltest: freeze postgres: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			tb.Fatalf("sqltest: freeze postgres process %d: %v", pid, err)
		}
	}
}

// Thaw lets a frozen server go on (SIGCONT).
func (s *Server) Thaw(tb testing.TB) {
	tb.Helper()
	if err := s.thaw(); err != nil {
		tb.Fatalf("sqltest: thaw postgres: %v", err)
	}
}

func (s *Server) thaw() error {
	pids, err := s.children()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT) // gone already is fine
	}
	return s.cmd.Process.Signal(syscall.SIGCONT)
}

// stop shuts the server down (fast shutdown, SIGINT), frozen or not, and
// kills what is left after a while.
func (s *Server) stop(tb testing.TB, dir string) {
	_ = s.thaw()
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		if pids, err := s.children(); err == nil {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = s.cmd.Process.Kill()
		<-done
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		tb.Errorf("sqltest: postgres did not stop within 15s; killed\n%s", log)
	}
}
