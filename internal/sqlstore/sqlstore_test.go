package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/store/storetest"
)

var databases = []struct {
	name string
	open func(testing.TB) *sqlstore.Store
}{
	{"sqlite", sqltest.SQLite},
	{"postgres", sqltest.Postgres},
}

func TestConformance(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			if db.name == "postgres" && os.Getenv(sqltest.PostgresEnv) == "" {
				t.Skipf("%s is not set", sqltest.PostgresEnv)
			}
			storetest.Run(t, func(t *testing.T) auth.Store { return db.open(t) })
		})
	}
}

func TestOpenRejectsUnknownURLs(t *testing.T) {
	for _, u := range []string{
		"",
		"gatehouse.db",
		"mysql://gatehouse:s3cret@db/gatehouse",
		"redis://localhost:6379",
		"sqlite:",
		"sqlite://",
		"sqlite:gatehouse.db?_pragma=foreign_keys(0)",
		"postgres://gatehouse:s3cret@127.0.0.1:5432/postgres?sslmode=bogus",
	} {
		s, err := sqlstore.Open(t.Context(), u, sqlstore.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if !strings.Contains(err.Error(), "GATEHOUSE_DATABASE_URL") {
			t.Errorf("Open(%q) = %v; want an error naming GATEHOUSE_DATABASE_URL", u, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v; the error shows the password", u, err)
		}
	}
}

func TestOpenSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite:" + filepath.Join(dir, "new", "nested", "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db"),
		"sqlite::memory:",
	} {
		t.Run(url, func(t *testing.T) {
			ctx := t.Context()
			s, err := sqlstore.Open(ctx, url, sqlstore.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			if s.Dialect() != "sqlite" {
				t.Errorf("Dialect = %q, want sqlite", s.Dialect())
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			u := &auth.User{ID: "u1", Email: "a@example.com", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			if file, ok := strings.CutPrefix(url, "sqlite:"+dir); ok {
				for _, name := range []string{file, file + "-wal", file + "-shm"} {
					fi, err := os.Stat(filepath.Join(dir, name))
					if err != nil {
						t.Errorf("%s was not created: %v", name, err)
					} else if perm := fi.Mode().Perm(); perm != 0o600 {
						t.Errorf("%s has permissions %v, want 0600: it holds password hashes", name, perm)
					}
				}
			}
		})
	}
	if fi, err := os.Stat(filepath.Join(dir, "new", "nested")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v; want permissions 0700", fi.Mode().Perm(), err)
	}
}

func TestSQLiteConnectionSettings(t *testing.T) {
	s := sqltest.SQLite(t)
	ctx := t.Context()
	for _, tc := range []struct {
		reader       bool
		pragma, want string
	}{
		{false, "journal_mode", "wal"},
		{false, "foreign_keys", "1"},
		{false, "busy_timeout", fmt.Sprint(sqlstore.DefaultTimeout.Milliseconds())},
		{false, "synchronous", "1"}, // NORMAL
		{false, "query_only", "0"},
		{true, "journal_mode", "wal"},
		{true, "busy_timeout", fmt.Sprint(sqlstore.DefaultTimeout.Milliseconds())},
		{true, "query_only", "1"},
	} {
		got, err := s.QueryString(ctx, tc.reader, "PRAGMA "+tc.pragma)
		if err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s (reader %v) = %s, want %s", tc.pragma, tc.reader, got, tc.want)
		}
	}
	// Readers really cannot write.
	if _, err := s.QueryString(ctx, true, "INSERT INTO signing_keys VALUES ('k','a',x'00',x'00',0,NULL) RETURNING id"); err == nil {
		t.Error("a reader connection wrote a row")
	}
}

func TestOpenPostgresDownFailsFast(t *testing.T) {
	// A closed port: connection refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	// A server that accepts and never replies: only the timeout ends it.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	var conns sync.WaitGroup
	conns.Go(func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	})

	for _, tc := range []struct {
		name, addr string
		opts       sqlstore.Options
		within     time.Duration
	}{
		{"closed port", closed, sqlstore.Options{}, 3 * time.Second},
		{"mute server", mute.Addr().String(), sqlstore.Options{ConnectTimeout: 500 * time.Millisecond}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			s, err := sqlstore.Open(t.Context(), "postgres://postgres@"+tc.addr+"/postgres?sslmode=disable", tc.opts)
			took := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("Open = %v; want an error matching ErrUnavailable", err)
			}
			if took > tc.within {
				t.Errorf("Open took %v to fail, want under %v", took, tc.within)
			}
			t.Logf("failed in %v: %v", took.Round(time.Millisecond), err)
		})
	}
	mute.Close()
	conns.Wait()
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		before := migrationRows(t, s)
		u := &auth.User{ID: "kept", Email: "kept@example.com", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		for range 2 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		if after := migrationRows(t, s); after != before {
			t.Errorf("migration rows %s before, %s after migrating again", before, after)
		}
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			t.Errorf("UserByID after migrating again: %v", err)
		}
	})
}

func TestConcurrentMigrate(t *testing.T) {
	for _, tc := range []sqltest.DB{sqltest.SQLiteDB, sqltest.PostgresDB} {
		t.Run(tc.Name, func(t *testing.T) {
			u := tc.URL(t)
			ctx := t.Context()
			// Two nodes on PostgreSQL; on SQLite two callers of one store
			// (one process owns a SQLite file).
			a, err := sqlstore.Open(ctx, u, sqlstore.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			b := a
			if tc.Name == sqltest.PostgresDB.Name {
				if b, err = sqlstore.Open(ctx, u, sqlstore.Options{}); err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer b.Close()
			}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() { errs[i] = s.Migrate(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Migrate #%d: %v", i, err)
				}
			}
			if ra, rb := migrationRows(t, a), migrationRows(t, b); ra != rb || ra == "0" {
				t.Errorf("migration rows %s and %s", ra, rb)
			}
			u1 := &auth.User{ID: "u1", Email: "u1@example.com", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := a.CreateUser(ctx, u1); err != nil {
				t.Fatalf("CreateUser after concurrent migrations: %v", err)
			}
		})
	}
}

func TestDownDatabaseIsUnavailable(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		now := time.Now()
		for name, call := range map[string]func() error{
			"Ping":       func() error { return s.Ping(ctx) },
			"UserByID":   func() error { _, err := s.UserByID(ctx, "x"); return err },
			"CreateUser": func() error { return s.CreateUser(ctx, &auth.User{ID: "x", Email: "x@example.com"}) },
			"DeleteUser": func() error { return s.DeleteUser(ctx, "x") },
			"ListUsers":  func() error { _, err := s.ListUsers(ctx, auth.UserQuery{}); return err },
			"RotateRefreshToken": func() error {
				_, err := s.RotateRefreshToken(ctx, "x", &auth.RefreshToken{ID: "y"}, now, now)
				return err
			},
			"AddSigningKey": func() error { return s.AddSigningKey(ctx, &auth.SigningKey{ID: "k"}) },
			"PutChallengeWithMessage": func() error {
				return s.PutChallengeWithMessage(ctx, &auth.Challenge{ID: "c"}, &auth.Message{ID: "m"})
			},
			"Enqueue":            func() error { return s.Enqueue(ctx, &auth.Message{ID: "m"}) },
			"ChallengeByAddress": func() error { _, err := s.ChallengeByAddress(ctx, "signin", "a@example.com"); return err },
			"FailChallenge":      func() error { _, err := s.FailChallenge(ctx, "c"); return err },
			"ConsumeChallenge":   func() error { _, err := s.ConsumeChallenge(ctx, "c", now); return err },
			"ClaimMessages":      func() error { _, err := s.ClaimMessages(ctx, now, time.Minute, 10); return err },
			"MessageSent":        func() error { return s.MessageSent(ctx, "m", 1, now) },
			"ListMessages":       func() error { _, err := s.ListMessages(ctx, "", "", 10); return err },
			"AddPasskey":         func() error { return s.AddPasskey(ctx, &auth.Passkey{ID: []byte("p"), UserID: "x"}) },
			"PasskeyByID":        func() error { _, err := s.PasskeyByID(ctx, []byte("p")); return err },
			"UsePasskey":         func() error { _, err := s.UsePasskey(ctx, []byte("p"), 1, true, now); return err },
			"PutCeremony":        func() error { return s.PutCeremony(ctx, &auth.Ceremony{ID: "w"}) },
			"TakeCeremony":       func() error { _, err := s.TakeCeremony(ctx, "w", auth.CeremonyLogin, now); return err },
		} {
			err := call()
			if !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("%s on a closed store = %v; want an error matching ErrUnavailable", name, err)
			}
			if auth.KindOf(err) != auth.KindUnavailable {
				t.Errorf("%s on a closed store: KindOf = %q, want %q", name, auth.KindOf(err), auth.KindUnavailable)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestConflictErrorsAreNotUnavailable(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		now := time.Now()
		u := &auth.User{ID: "a", Email: "a@example.com", Phone: "+15550100000", CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		// The same ID again is a caller bug: an error, but neither a
		// conflict the person can fix nor an outage.
		dup := *u
		dup.Email, dup.Phone = "b@example.com", ""
		err := s.CreateUser(ctx, &dup)
		if err == nil || errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrEmailTaken) || auth.KindOf(err) != "" {
			t.Errorf("CreateUser with a duplicate ID = %v; want a plain error", err)
		}
	})
}

func migrationRows(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	n, err := s.QueryString(t.Context(), false, "SELECT COUNT(*) FROM gatehouse_migrations")
	if err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	return n
}

func BenchmarkSessionByCookieHash(b *testing.B) {
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			ctx := context.Background()
			now := time.Now()
			u := &auth.User{ID: "bench", Email: "bench@example.com", CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			const n = 1000
			hashes := make([][]byte, n)
			for i := range n {
				hashes[i] = fmt.Appendf(nil, "cookie-hash-%027d", i)
				sess := &auth.Session{
					ID: fmt.Sprintf("s%06d", i), UserID: u.ID, CookieHash: hashes[i], AAL: auth.AAL1,
					AMR: []string{auth.MethodPassword}, CreatedAt: now, LastSeenAt: now,
					ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
				}
				if err := s.CreateSession(ctx, sess, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("serial", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.SessionByCookieHash(ctx, hashes[i%n]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := s.SessionByCookieHash(ctx, hashes[i%n]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

func BenchmarkCreateUser(b *testing.B) {
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			ctx := context.Background()
			now := time.Now()
			i := 0
			for b.Loop() {
				i++
				u := &auth.User{
					ID: fmt.Sprintf("u%09d", i), Email: fmt.Sprintf("user%d@example.com", i),
					Name: "Bench User", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
					CreatedAt: now, UpdatedAt: now,
				}
				if err := s.CreateUser(ctx, u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
