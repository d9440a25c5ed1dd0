package sqlstore

import (
	"reflect"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, sqlite, postgres string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = ? AND b = ?", "a = $1 AND b = $2"},
		{`x LIKE ? ESCAPE '\' OR y = '?' OR "we?rd" = ?`, `x LIKE ? ESCAPE '\' OR y = '?' OR "we?rd" = ?`, `x LIKE $1 ESCAPE '\' OR y = '?' OR "we?rd" = $2`},
		{"'it''s ?' = ?", "'it''s ?' = ?", "'it''s ?' = $1"},
	} {
		if got := sqliteDialect.rebind(tc.in); got != tc.sqlite {
			t.Errorf("sqlite rebind(%q) = %q, want %q", tc.in, got, tc.sqlite)
		}
		if got := postgresDialect.rebind(tc.in); got != tc.postgres {
			t.Errorf("postgres rebind(%q) = %q, want %q", tc.in, got, tc.postgres)
		}
	}
}

func TestLikeContains(t *testing.T) {
	for in, want := range map[string]string{
		"":        "%%",
		"bob":     "%bob%",
		"100%":    `%100\%%`,
		"a_b":     `%a\_b%`,
		`back\sl`: `%back\\sl%`,
	} {
		if got := likeContains(in); got != want {
			t.Errorf("likeContains(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueriesHaveNoStrayPlaceholders(t *testing.T) {
	// Every statement is rebound at Open; a ? left in a PostgreSQL query
	// would be a syntax error found only when that query first runs, and a
	// field missed by newQueries' list would be an empty query.
	v := reflect.ValueOf(*newQueries(postgresDialect))
	for i := range v.NumField() {
		name, q := v.Type().Field(i).Name, v.Field(i).String()
		if (q == "" && name != "lockSigningKeys") || strings.Contains(q, "?") {
			t.Errorf("query %s = %q: empty or not rebound", name, q)
		}
	}
	if v.NumField() < 20 {
		t.Errorf("queries has %d fields; is reflection looking at the right struct?", v.NumField())
	}
}
