package api_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/token"
)

// cheapHashing keeps argon2id fast where a test hashes a lot (fuzzing); it
// is the smallest cost package password accepts.
var cheapHashing = password.Params{Memory: 8, Iterations: 1, Parallelism: 1}

// direct is an api.Server wired as gatehouse.New wires it, but built here
// so a test can reach the Server itself and choose cheap password hashing.
type direct struct {
	srv   *api.Server
	auth  *auth.Service
	clock *fakeClock
}

func newDirect(tb testing.TB, params password.Params) *direct {
	tb.Helper()
	ctx := context.Background()
	st := sqltest.SQLite(tb)
	box, err := seal.New(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	clock := newFakeClock()
	keys := token.NewKeys(st, box, clock, token.Config{Issuer: testIssuer, Audience: testIssuer})
	if err := keys.Load(ctx); err != nil {
		tb.Fatal(err)
	}
	metrics := api.NewMetrics()
	svc, err := auth.New(auth.Config{SuccessorKey: box.Key("refresh-successor")}, auth.Deps{
		Store: st, Hasher: password.New(params, 0), Policy: password.DefaultPolicy, Signer: keys,
		Throttle: throttle.NewMemory(clock, throttle.Config{}), Clock: clock, Observer: metrics,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := api.New(api.Options{
		Auth: svc, Keys: keys, Store: st, Clock: clock, Metrics: metrics, Logger: slog.New(slog.DiscardHandler),
		Issuer: testIssuer, AdminAPIKey: testAdminKey, Version: "test",
		SignInURL: testIssuer + "/login", ForwardAuthRedirect: true, // as gatehouse.New wires it by default
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &direct{srv: srv, auth: svc, clock: clock}
}
