package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

var errIDTokenRefused = &auth.Error{Kind: auth.KindInvalidCredentials, Message: "The ID token could not be verified."}

// TestSignInIDToken: verify's errors as its contract says (an *auth.Error
// as it is, any other invalid_credentials), every failure counted against
// the client's wrong-code limit and a verified token taken back, so past
// the limit even a good token from that client is refused and another
// client's is not; a verified token lands as SignInProvider decides.
func TestSignInIDToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		const limit = 4
		e := newMFAEnvDeps(t, st, func(c *auth.Config) { c.ClientCodeFailureLimit = limit }, func(d *auth.Deps) {
			d.Identities = st
			d.Limiter = throttle.NewLimiter(d.Clock, 0)
		})
		id := auth.ProviderIdentity{Provider: "acme", Subject: subject(), Email: email("idtoken"), EmailVerified: true}
		good := func(context.Context) (auth.ProviderIdentity, error) { return id, nil }
		forged := func(context.Context) (auth.ProviderIdentity, error) {
			return auth.ProviderIdentity{}, errors.New("bad_token (signature)")
		}
		down := &auth.Error{Kind: auth.KindUnavailable, Message: "Acme could not be reached. Try again in a moment."}
		unreachable := func(context.Context) (auth.ProviderIdentity, error) { return auth.ProviderIdentity{}, down }

		attacker := auth.WithClient(e.ctx, client())
		// Good tokens never count.
		for range limit + 1 {
			if _, err := e.svc.SignInIDToken(attacker, "acme", good); err != nil {
				t.Fatalf("good token: %v", err)
			}
		}
		_, err := e.svc.SignInIDToken(attacker, "acme", unreachable)
		checkErr(t, "provider unreachable (counted too)", err, down)
		for range limit - 1 {
			_, err := e.svc.SignInIDToken(attacker, "acme", forged)
			checkErr(t, "forged token", err, errIDTokenRefused)
		}
		_, err = e.svc.SignInIDToken(attacker, "acme", forged)
		checkErr(t, "forged token past the limit", err, withRetry(errClientLim, 15*time.Minute))
		_, err = e.svc.SignInIDToken(attacker, "acme", good)
		checkErr(t, "good token from the limited client", err, withRetry(errClientLim, 15*time.Minute))
		p, err := e.svc.SignInIDToken(auth.WithClient(e.ctx, client()), "acme", good)
		if err != nil {
			t.Fatalf("good token from another client: %v", err)
		}
		if u := p.User(); u.Email != id.Email {
			t.Errorf("signed in to %q; want %q", u.Email, id.Email)
		}
	})
}
