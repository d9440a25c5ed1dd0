package api_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// families is one scrape of /metrics, parsed.
type families map[string]*dto.MetricFamily

// scrape reads /metrics through the server and parses it as Prometheus
// does.
func scrape(t testing.TB, e *env) families {
	t.Helper()
	body := e.do(t, "GET", "/metrics", nil).Want(http.StatusOK).Body
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value answers the value of the series of name with exactly labels
// (counter, gauge, or a histogram's count), and whether it exists.
func (f families) value(name string, labels map[string]string) (float64, bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !maps.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// series names one series of a scrape.
type series struct {
	name   string
	labels map[string]string
}

func l(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestMetricsCountFlows drives sign-ups, sign-ins, checks, refreshes, a
// code, a claim and a delivery through the real server and asserts that
// each moved its counter by exactly what happened, on both databases.
func TestMetricsCountFlows(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		e := claimServer(t, db, nil)
		before := scrape(t, e.env)

		const owner, victim = "metrics-owner@example.com", "metrics-victim@example.com"
		e.signUp(t, owner, testPassword)
		e.do(t, "POST", "/v1/signup", map[string]string{"email": owner, "password": testPassword}).
			WantProblem(http.StatusConflict, "email_taken")
		e.secret("not the password at all")
		e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": owner, "password": "not the password at all"}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")
		tok := e.signIn(t, owner, testPassword)
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusOK)
		e.check(t).Want(http.StatusUnauthorized)
		e.refresh(t, tok.RefreshToken).Want(http.StatusOK)
		e.Clock.Advance(2 * time.Minute) // past the grace: a replay is theft
		e.refresh(t, tok.RefreshToken).Want(http.StatusUnauthorized)
		e.check(t, bearer(tok.AccessToken)).Want(http.StatusUnauthorized)

		// An attacker's account on the victim's address is claimed by
		// the victim's first code; one wrong code before it.
		e.signUp(t, victim, attackerPassword)
		code := e.emailCode(t, victim, 1)
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		e.grantOTP(t, "email", victim, wrong).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.Tokens(e.grantOTP(t, "email", victim, code))

		want := []struct {
			series
			delta float64
		}{
			{series{"gatehouse_sign_ups_total", l("method", "password", "result", "success")}, 2},
			{series{"gatehouse_sign_ups_total", l("method", "password", "result", "failure")}, 1},
			{series{"gatehouse_sign_ins_total", l("method", "password", "result", "success")}, 1},
			{series{"gatehouse_sign_ins_total", l("method", "password", "result", "failure")}, 1},
			{series{"gatehouse_sign_ins_total", l("method", "otp", "result", "success")}, 1},
			{series{"gatehouse_sign_ins_total", l("method", "refresh_token", "result", "success")}, 1},
			{series{"gatehouse_sign_ins_total", l("method", "refresh_token", "result", "failure")}, 1},
			{series{"gatehouse_checks_total", l("result", "ok")}, 2},
			{series{"gatehouse_checks_total", l("result", "unauthorized")}, 1},
			{series{"gatehouse_checks_total", l("result", "revoked")}, 1},
			{series{"gatehouse_checks_total", l("result", "error")}, 0},
			{series{"gatehouse_refresh_tokens_total", l("event", "rotated")}, 1},
			{series{"gatehouse_refresh_tokens_total", l("event", "reuse_detected")}, 1},
			{series{"gatehouse_codes_sent_total", l("channel", "email", "kind", "signin_code")}, 1},
			{series{"gatehouse_codes_verified_total", l("type", "code", "result", "failure")}, 1},
			{series{"gatehouse_codes_verified_total", l("type", "code", "result", "success")}, 1},
			{series{"gatehouse_account_claims_total", l()}, 1},
			// Six password hashes: three sign-ups (the duplicate
			// hashes before the store refuses it), two sign-ins (the
			// refused one hashes too) and the dummy hash the first
			// sign-in makes for unknown addresses.
			{series{"gatehouse_password_hash_wait_seconds", l()}, 6},
		}
		after := scrape(t, e.env)
		for _, w := range want {
			b, _ := before.value(w.name, w.labels)
			a, ok := after.value(w.name, w.labels)
			if !ok {
				t.Errorf("%s %v: no such series", w.name, w.labels)
			} else if a-b != w.delta {
				t.Errorf("%s %v moved by %v; want %v", w.name, w.labels, a-b, w.delta)
			}
		}
		// The checks' sessions: the first check of the session loaded it,
		// the second found it cached.
		for _, cache := range []string{"hit", "miss"} {
			b, _ := before.value("gatehouse_session_views_total", l("cache", cache))
			if a, _ := after.value("gatehouse_session_views_total", l("cache", cache)); a <= b {
				t.Errorf("gatehouse_session_views_total{cache=%q} did not move (%v → %v)", cache, b, a)
			}
		}
		for _, role := range dbRoles(db) {
			if _, ok := after.value("go_sql_open_connections", l("db_name", role)); !ok {
				t.Errorf("no pool statistics of the %s pool", role)
			}
		}
		if _, ok := after.value("gatehouse_outbox_depth", l()); !ok {
			t.Error("no gatehouse_outbox_depth")
		}

		// The worker records the delivery after the mail server took
		// it: wait for the counter, not for the mail.
		deadline := time.Now().Add(gatehousetest.Wait)
		for {
			v, _ := scrape(t, e.env).value("gatehouse_deliveries_total", l("channel", "email", "status", "sent"))
			if v >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("gatehouse_deliveries_total{channel=email,status=sent} = %v after %v; want ≥ 1", v, gatehousetest.Wait)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// The Grafana dashboard is built on these: every metric its
		// queries name exists in this scrape.
		f := scrape(t, e.env)
		wantDashboardMetrics(t, f)
		wantDocumented(t, f)
	})
}

// wantDocumented fails t unless docs/operations.md's table names every
// gatehouse_* metric of f.
func wantDocumented(t *testing.T, f families) {
	t.Helper()
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range f {
		if strings.HasPrefix(name, "gatehouse_") && !strings.Contains(string(raw), "| `"+name+"` |") {
			t.Errorf("docs/operations.md has no row for %s", name)
		}
	}
}

// dbRoles are the pools a store on db has.
func dbRoles(db database) []string {
	if db.Name == gatehousetest.Postgres.Name {
		return []string{"writer"}
	}
	return []string{"writer", "reader"}
}

// TestMetricsOutbox: a message waiting in the outbox (delivery is off)
// shows as depth 1, and its age grows with the server's clock.
func TestMetricsOutbox(t *testing.T) {
	t.Parallel()
	e := &mfaEnv{env: newEnv(t, sqliteDB, gatehousetest.WithMail(), withConfig(func(c *gatehouse.Config) { c.NoDelivery = true }))}
	e.do(t, "POST", "/v1/otp", map[string]string{"email": "waiting@example.com"}).Accepted()
	e.Clock.Advance(90 * time.Second)
	f := scrape(t, e.env)
	if v, _ := f.value("gatehouse_outbox_depth", l()); v != 1 {
		t.Errorf("gatehouse_outbox_depth = %v; want 1", v)
	}
	if v, _ := f.value("gatehouse_outbox_oldest_age_seconds", l()); v != 90 {
		t.Errorf("gatehouse_outbox_oldest_age_seconds = %v; want 90", v)
	}
}

// TestMetricsFrozenPostgres: a database that does not answer leaves the
// outbox gauges out of a scrape, promptly, and every other metric in.
func TestMetricsFrozenPostgres(t *testing.T) {
	t.Parallel()
	pg := sqltest.StartPostgres(t)
	e := &env{Server: gatehousetest.Start(t, gatehousetest.WithDatabaseURL(pg.URL))}
	if _, ok := scrape(t, e).value("gatehouse_outbox_depth", l()); !ok {
		t.Fatal("no gatehouse_outbox_depth while the database answers")
	}
	pg.Freeze(t)
	defer pg.Thaw(t)
	start := time.Now()
	f := scrape(t, e)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a scrape took %s against a frozen database", took)
	}
	if _, ok := f.value("gatehouse_outbox_depth", l()); ok {
		t.Error("gatehouse_outbox_depth exported while the database does not answer")
	}
	if f["gatehouse_http_requests_total"] == nil || f["go_goroutines"] == nil {
		t.Error("the scrape lost the other metrics")
	}
}

// exprMetric finds the metric names in a PromQL expression: identifiers
// of our families and the Go ones the dashboard uses.
var exprMetric = regexp.MustCompile(`\b(?:gatehouse|go|process)_[a-z0-9_]+\b`)

// wantDashboardMetrics fails t unless docs/grafana-dashboard.json is a
// dashboard whose every query names metrics that f has.
func wantDashboardMetrics(t *testing.T, f families) {
	t.Helper()
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatal("docs/grafana-dashboard.json has no title or no panels")
	}
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			names := exprMetric.FindAllString(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, q.Expr)
			}
			for _, n := range names {
				seen[n] = true
				if f[familyOf(n, f)] == nil {
					t.Errorf("panel %q: %s is not in a scrape", p.Title, n)
				}
			}
		}
	}
	// Every family of ours is on the dashboard somewhere.
	for name := range f {
		if !strings.HasPrefix(name, "gatehouse_") {
			continue
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), func(n string) bool { return familyOf(n, f) == name }) {
			t.Errorf("the dashboard has no panel on %s", name)
		}
	}
}

// familyOf maps a histogram's series name (_bucket, _sum, _count) to its
// family when f has that family.
func familyOf(name string, f families) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && f[base] != nil && f[base].GetType() == dto.MetricType_HISTOGRAM {
			return base
		}
	}
	return name
}
