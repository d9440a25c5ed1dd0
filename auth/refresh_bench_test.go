package auth_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// BenchmarkRefresh is grant_type refresh_token in process: every iteration
// rotates the refresh token the previous one answered (a client keeping its
// chain), on a real SQLite file and on PostgreSQL (skipped unless
// GATEHOUSE_TEST_POSTGRES_URL is set). It covers the store's reads and
// writes and the signing of the access token, not HTTP.
func BenchmarkRefresh(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqlstore.Store
	}{
		{"sqlite", sqltest.SQLite},
		{"postgres", sqltest.Postgres},
	} {
		b.Run(db.name, func(b *testing.B) {
			st := db.open(b)
			clock := newClock()
			svc, err := auth.New(auth.Config{SuccessorKey: successorKey}, auth.Deps{
				Store: st, Hasher: password.New(fastParams, 4), Policy: password.DefaultPolicy,
				Signer: newKeys(b, st, clock), Throttle: throttle.NewMemory(clock, throttle.Config{}), Clock: clock,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(svc.Close)
			ctx := b.Context()
			addr := email("refresh-bench")
			if _, err := svc.SignUp(ctx, auth.SignUpInput{Email: addr, Password: goodPassword}); err != nil {
				b.Fatal(err)
			}
			g, err := passwordGrant(ctx, svc, addr, goodPassword, client())
			if err != nil {
				b.Fatal(err)
			}
			tok, c := g.RefreshToken, client()
			b.ReportAllocs()
			for b.Loop() {
				g, err := svc.RefreshGrant(ctx, tok, c)
				if err != nil {
					b.Fatal(err)
				}
				tok = g.RefreshToken
			}
		})
	}
}
