package auth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/memstore"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
)

// BenchmarkCheck is the session check of /v1/check in process, with the
// view cached (the fake clock stands still): a bearer token and a cookie,
// on one node (no Revocations), with Revocations that cannot say whether
// they are live (memstore), and with Redis ones that are live (asked at
// every check). None may allocate more than the others or wait on Redis.
func BenchmarkCheck(b *testing.B) {
	for _, rc := range []struct {
		name string
		open func(b *testing.B) auth.Revocations
	}{
		{"one node", func(*testing.B) auth.Revocations { return nil }},
		{"memstore", func(*testing.B) auth.Revocations { return memstore.NewRevocations() }},
		{"redis", func(b *testing.B) auth.Revocations {
			return redisstore.NewRevocations(redistest.Open(b, redistest.URL(b)))
		}},
	} {
		b.Run(rc.name, func(b *testing.B) {
			svc, access, cookie := benchService(b, rc.open(b))
			for _, c := range []struct {
				name  string
				check func(context.Context) (*auth.Principal, error)
			}{
				{"bearer", func(ctx context.Context) (*auth.Principal, error) { return svc.BearerPrincipal(ctx, access) }},
				{"cookie", func(ctx context.Context) (*auth.Principal, error) { return svc.CookiePrincipal(ctx, cookie) }},
			} {
				b.Run(c.name, func(b *testing.B) {
					ctx := b.Context()
					if _, err := c.check(ctx); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := c.check(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

// benchService is a Service on SQLite with one signed-in account, and its
// access token and a browser session's cookie.
func benchService(b *testing.B, rev auth.Revocations) (svc *auth.Service, access, cookie string) {
	b.Helper()
	st := sqltest.SQLite(b)
	clock := newClock()
	svc, err := auth.New(auth.Config{SuccessorKey: successorKey}, auth.Deps{
		Store: st, Hasher: password.New(fastParams, 4), Policy: password.DefaultPolicy,
		Signer: newKeys(b, st, clock), Throttle: throttle.NewMemory(clock, throttle.Config{}), Clock: clock,
		Revocations: rev,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	ctx := b.Context()
	addr := email("bench")
	u, err := svc.SignUp(ctx, auth.SignUpInput{Email: addr, Password: goodPassword})
	if err != nil {
		b.Fatal(err)
	}
	g, err := passwordGrant(ctx, svc, addr, goodPassword, client())
	if err != nil {
		b.Fatal(err)
	}
	cookie, _, err = svc.BrowserSession(ctx, u, client(), []string{auth.MethodOTP})
	if err != nil {
		b.Fatal(err)
	}
	return svc, g.AccessToken, cookie
}
