package auth_test

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestResetPassword(t *testing.T) {
	const newPassword = "a brand new passphrase"
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tt := range []struct {
			name   string
			in     func(e *mfaEnv, addr string) auth.RecoverInput
			method string
		}{
			{"by code", func(e *mfaEnv, addr string) auth.RecoverInput {
				return auth.RecoverInput{Email: addr, Code: e.mail.last(e.t, auth.KindRecovery, addr).Data.Code, NewPassword: newPassword}
			}, auth.MethodOTP},
			{"by link", func(e *mfaEnv, addr string) auth.RecoverInput {
				return auth.RecoverInput{Token: linkToken(e.t, e.mail.last(e.t, auth.KindRecovery, addr)), NewPassword: newPassword}
			}, auth.MethodLink},
		} {
			runMFA(t, st, tt.name, func(t *testing.T, e *mfaEnv) {
				u, old := e.newUser("reset")
				addr := u.Email
				if err := e.svc.Recover(e.ctx, addr); err != nil {
					t.Fatalf("Recover: %v", err)
				}
				in := tt.in(e, addr)

				weak := in
				weak.NewPassword = "short"
				if _, err := e.svc.ResetPassword(e.ctx, weak); auth.KindOf(err) != auth.KindWeakPassword {
					t.Fatalf("a weak password: %v, want weak_password", err)
				}
				// The weak try did not use the code or link up.
				p, err := e.svc.ResetPassword(e.ctx, in)
				if err != nil {
					t.Fatalf("ResetPassword: %v", err)
				}
				if p.User().ID != u.ID || !slices.Equal(p.Methods(), []string{tt.method}) {
					t.Errorf("proof of %s by %v, want %v", p.User().ID, p.Methods(), tt.method)
				}
				if s := e.storedSession(old.Session.ID); s.RevokedAt == nil {
					t.Error("the session from before the reset lives on")
				}
				if _, err := passwordGrant(e.ctx, e.svc, addr, newPassword, client()); err != nil {
					t.Errorf("sign in with the new password: %v", err)
				}
				_, err = e.svc.ResetPassword(e.ctx, in)
				if auth.KindOf(err) != auth.KindInvalidCode {
					t.Errorf("the code or link used twice: %v, want invalid_code", err)
				}
			})
		}
	})
}
