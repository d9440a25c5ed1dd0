package sqltest_test

import (
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to look at pg_database
)

func TestEachNamesSubtests(t *testing.T) {
	var ran []string
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ran = append(ran, t.Name())
		if !strings.HasSuffix(t.Name(), "/"+s.Dialect()) {
			t.Errorf("subtest %s got a %s store", t.Name(), s.Dialect())
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	if len(ran) == 0 {
		t.Error("Each ran nothing")
	}
}

func TestPostgresDatabasesAreFreshAndDropped(t *testing.T) {
	base := os.Getenv(sqltest.PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set", sqltest.PostgresEnv)
	}
	var names []string
	for range 2 {
		t.Run("db", func(t *testing.T) {
			u, err := url.Parse(sqltest.PostgresURL(t))
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, strings.TrimPrefix(u.Path, "/"))
		})
	}
	if len(names) != 2 || names[0] == names[1] || !strings.HasPrefix(names[0], "gh_test_") {
		t.Fatalf("database names %q: want two distinct gh_test_ names", names)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range names {
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}
