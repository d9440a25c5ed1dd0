package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestMFAFactorsOff(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		_, g := e.newUser("nofactors")
		p := e.bearer(g.AccessToken)
		_, err := e.svc.EnrollTOTP(e.ctx, p, client())
		checkErr(t, "EnrollTOTP", err, errFactorsOff)
		_, err = mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: "x", Factor: auth.FactorTOTP, Code: "123456"}, client())
		checkErr(t, "SecondFactor", err, errFactorsOff)
		kinds, left, err := e.svc.Factors(e.ctx, p)
		if err != nil || kinds == nil || len(kinds) != 0 || left != 0 {
			t.Errorf("Factors = %v, %d, %v; want [] 0", kinds, left, err)
		}
	})
}
func TestMFAAssuranceRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "aal1 refused, aal2 allowed", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("aal")
			p1 := mu.aal1
			_, err := e.svc.TOTPURL(e.ctx, p1)
			checkErr(t, "TOTPURL with aal1", err, errNeedAAL2)
			for _, kind := range []string{auth.FactorTOTP, auth.FactorEmail} {
				checkErr(t, "RemoveFactor "+kind+" with aal1", e.svc.RemoveFactor(e.ctx, p1, kind, client()), errNeedAAL2)
			}
			_, err = e.svc.EnableEmailFactor(e.ctx, p1, client())
			checkErr(t, "EnableEmailFactor with aal1", err, errNeedAAL2)
			_, err = e.svc.NewBackupCodes(e.ctx, p1, client())
			checkErr(t, "NewBackupCodes with aal1", err, errNeedAAL2)

			p2 := e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP)
			u, err := e.svc.TOTPURL(e.ctx, p2)
			if err != nil {
				t.Fatalf("TOTPURL: %v", err)
			}
			if key, err := otp.NewKeyFromURL(u); err != nil || key.Secret() != mu.secret || key.Issuer() != mfaAppName || key.AccountName() != mu.addr {
				t.Errorf("TOTPURL %q, %v", u, err)
			}
			if codes, err := e.svc.EnableEmailFactor(e.ctx, p2, client()); err != nil || codes != nil {
				t.Errorf("EnableEmailFactor with aal2 and codes: %q, %v; want no new codes", codes, err)
			}
			e.clock.Advance(10*time.Minute - time.Second)
			if _, err := e.svc.TOTPURL(e.ctx, p2); err != nil {
				t.Errorf("TOTPURL just under 10 minutes: %v", err)
			}
			e.clock.Advance(time.Second)
			_, err = e.svc.TOTPURL(e.ctx, p2)
			checkErr(t, "TOTPURL after 10 minutes", err, errQRTooLate)

			checkErr(t, "RemoveFactor sms", e.svc.RemoveFactor(e.ctx, p2, "sms", client()), errFactorNotSet)
			if err := e.svc.RemoveFactor(e.ctx, p2, auth.FactorTOTP, client()); err != nil {
				t.Fatalf("RemoveFactor totp: %v", err)
			}
			if kinds, left := e.factors(p2); !slices.Equal(kinds, []string{auth.FactorEmail}) || left != 10 {
				t.Errorf("after removing totp: %v, %d", kinds, left)
			}
			checkErr(t, "RemoveFactor totp twice", e.svc.RemoveFactor(e.ctx, p2, auth.FactorTOTP, client()), errFactorNotSet)
			if err := e.svc.RemoveFactor(e.ctx, p2, auth.FactorEmail, client()); err != nil {
				t.Fatalf("RemoveFactor email: %v", err)
			}
			if kinds, left := e.factors(p2); len(kinds) != 0 || left != 0 {
				t.Errorf("after removing the last factor: %v, %d; want no factor and no backup code", kinds, left)
			}
			_, err = e.svc.NewBackupCodes(e.ctx, p2, client())
			checkErr(t, "NewBackupCodes without a factor", err, errNoFactorOn)
			if g := e.signIn(mu.addr, goodPassword, client()); g.MFA != nil || g.AccessToken == "" {
				t.Errorf("sign-in with no factor left: %+v", g)
			}
			var kinds []string
			for _, ev := range mustAudit(t, e, mu.user.ID) {
				kinds = append(kinds, ev.Kind+":"+ev.Detail)
			}
			want := []string{"factor_removed:email", "factor_removed:totp", "factor_added:email", "factor_added:totp", "email_verified:"}
			if !slices.Equal(kinds, want) {
				t.Errorf("audit %q, want %q", kinds, want)
			}
		})

		// Confirming an authenticator is adding a factor: once another
		// factor is on, an aal1 session may not, even with an enrolment it
		// started before (which would also hand it fresh backup codes).
		runMFA(t, st, "confirm with aal1 once protected", func(t *testing.T, e *mfaEnv) {
			addr, _, p := e.signedIn("confirm")
			en, err := e.svc.EnrollTOTP(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnrollTOTP: %v", err)
			}
			backup, err := e.svc.EnableEmailFactor(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			_, err = e.svc.ConfirmTOTP(e.ctx, p, e.code(en.Secret), client())
			checkErr(t, "ConfirmTOTP with aal1 and email on", err, errNeedAAL2)
			if kinds, left := e.factors(p); !slices.Equal(kinds, []string{auth.FactorEmail}) || left != 10 {
				t.Errorf("factors %v, %d", kinds, left)
			}
			e.mustGrant(e.mfaToken(addr).Token, auth.FactorBackupCode, backup[0], auth.MethodPassword, auth.MethodBackupCode)
		})
	})
}

func mustAudit(t *testing.T, e *mfaEnv, userID string) []auth.AuditEvent {
	t.Helper()
	events, err := e.store.AuditEvents(e.ctx, userID, "", 100)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	return events
}
