package auth_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// TestAdminResetFactors: an admin turns off every second factor of a user
// who lost their authenticator; every session and every sign-in waiting
// for its second factor ends with them, and the user signs in with the
// password alone and may set up a new authenticator.
func TestAdminResetFactors(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "reset", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("reset")
			aal2 := e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP)
			e.nextStep()
			if _, err := e.svc.EnableEmailFactor(e.ctx, aal2, client()); err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			if kinds, left, err := e.svc.AdminFactors(e.ctx, mu.user.ID); err != nil || len(kinds) != 2 || left != 10 {
				t.Fatalf("before: factors %v, %d backup codes, %v", kinds, left, err)
			}
			pending := e.mfaToken(mu.addr)

			if err := e.svc.AdminResetFactors(e.ctx, mu.user.ID, client()); err != nil {
				t.Fatalf("AdminResetFactors: %v", err)
			}
			if kinds, left, err := e.svc.AdminFactors(e.ctx, mu.user.ID); err != nil || len(kinds) != 0 || left != 0 {
				t.Errorf("after: factors %v, %d backup codes, %v; want none", kinds, left, err)
			}
			for name, p := range map[string]*auth.Principal{"aal1": mu.aal1, "aal2": aal2} {
				if s, err := e.store.SessionByID(e.ctx, p.Session.ID); err != nil || s.RevokedAt == nil {
					t.Errorf("%s session after the reset: %+v, %v; want it revoked", name, s, err)
				}
			}
			e.nextStep()
			if _, err := e.grant(pending.Token, auth.FactorTOTP, e.code(mu.secret)); err == nil {
				t.Error("a sign-in that waited for its second factor finished after the reset")
			}
		})
		runMFA(t, st, "afterwards", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("reset-after")
			if err := e.svc.AdminResetFactors(e.ctx, mu.user.ID, client()); err != nil {
				t.Fatalf("AdminResetFactors: %v", err)
			}
			g, err := passwordGrant(e.ctx, e.svc, mu.addr, goodPassword, client())
			if err != nil || g.MFA != nil || g.AccessToken == "" {
				t.Fatalf("password sign-in after the reset: %+v, %v; want tokens without a second factor", g, err)
			}
			// A new authenticator needs no second factor to set up now.
			if _, err := e.svc.EnrollTOTP(e.ctx, e.bearer(g.AccessToken), client()); err != nil {
				t.Errorf("EnrollTOTP after the reset: %v", err)
			}
			events, err := st.AuditEvents(e.ctx, mu.user.ID, "", 50)
			if err != nil {
				t.Fatalf("AuditEvents: %v", err)
			}
			found := false
			for _, ev := range events {
				found = found || ev.Kind == "factors_reset"
			}
			if !found {
				t.Errorf("no factors_reset audit event in %+v", events)
			}
			// Nothing to reset: still fine.
			if err := e.svc.AdminResetFactors(e.ctx, mu.user.ID, client()); err != nil {
				t.Errorf("a second reset: %v", err)
			}
		})
		runMFA(t, st, "unknown user", func(t *testing.T, e *mfaEnv) {
			err := e.svc.AdminResetFactors(e.ctx, "01a204d3-0000-7000-8000-000000000000", client())
			checkErr(t, "AdminResetFactors of an unknown user", err, errNoSuchUser)
		})
	})
}
