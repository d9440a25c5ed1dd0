// Command openapi prints the OpenAPI document a default Gatehouse serves at
// /openapi.json, for CI's linter: it starts one on a throw-away SQLite
// database, asks it for the document, and stops it.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	dir, err := os.MkdirTemp("", "gatehouse-openapi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	cfg.PublicURL = "https://auth.gatehouse.test" // as a deployment's: the linter flags localhost
	cfg.Secret = "a throw-away secret for the document only, 32+ bytes"
	cfg.AdminAPIKey = "a throw-away admin key for the document only"
	cfg.Logger = slog.New(slog.DiscardHandler)
	g, err := gatehouse.New(context.Background(), cfg)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer g.Close()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("GET /openapi.json: %d %s", rec.Code, rec.Body)
	}
	_, err = out.Write(rec.Body.Bytes())
	return err
}
