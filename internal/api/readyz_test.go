package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// A PostgreSQL that hangs (issue 12: it accepts connections but never
// answers, as a stalled disk or a lock pile-up makes it) takes the node
// out of rotation: /readyz answers 503 promptly, naming the backend and
// the timeout, and 200 again once the database answers.
func TestReadyzFrozenPostgres(t *testing.T) {
	t.Parallel()
	pg := sqltest.StartPostgres(t)
	srv := gatehousetest.Start(t, gatehousetest.WithDatabaseURL(pg.URL))
	srv.Do(t, "GET", "/readyz", nil).Want(http.StatusOK)

	pg.Freeze(t)
	thawed := false
	defer func() {
		if !thawed {
			pg.Thaw(t)
		}
	}()
	start := time.Now()
	r := srv.Do(t, "GET", "/readyz", nil)
	took := time.Since(start)
	p := r.WantProblem(http.StatusServiceUnavailable, "unavailable")
	if !strings.Contains(p.Detail, "database") || !strings.Contains(p.Detail, "timeout") {
		t.Errorf("/readyz detail %q; want it to name the database and the timeout", p.Detail)
	}
	// The check's own bound is 2 s; 10 s leaves room for a loaded machine
	// while still failing a hang.
	if took > 10*time.Second {
		t.Errorf("/readyz took %s against a frozen database; want a prompt answer", took)
	}

	pg.Thaw(t)
	thawed = true
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := srv.Do(t, "GET", "/readyz", nil)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the thaw: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
