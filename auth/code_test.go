package auth_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/memstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

var (
	errWrongSignInCode = &auth.Error{Kind: auth.KindInvalidCode, Message: "The code is not correct."}
	errCodeExpired     = &auth.Error{Kind: auth.KindCodeExpired, Message: "The code has expired; ask for a new one."}
)

// emailCode asks for a sign-in code to addr and returns it.
func (e *mfaEnv) emailCode(addr string) string {
	e.t.Helper()
	if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
		e.t.Fatalf("RequestCode(%s): %v", addr, err)
	}
	return e.mail.last(e.t, auth.KindSignInCode, addr).Data.Code
}

func TestSignInCode(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "known account", func(t *testing.T, e *mfaEnv) {
			addr := email("code")
			u := e.signUp(addr, goodPassword)
			p, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, " "+e.emailCode(addr)+" ")
			if err != nil {
				t.Fatalf("SignInCode: %v", err)
			}
			if p.User().ID != u.ID || !p.User().EmailVerified || !slices.Equal(p.Methods(), []string{auth.MethodOTP}) {
				t.Errorf("proof of %+v by %v", p.User(), p.Methods())
			}
			if !e.storedUser(u.ID).EmailVerified {
				t.Error("a code from the mailbox did not verify the address")
			}
		})

		runMFA(t, st, "unknown address gets an account", func(t *testing.T, e *mfaEnv) {
			addr := email("newcode")
			p, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, e.emailCode(addr))
			if err != nil {
				t.Fatalf("SignInCode: %v", err)
			}
			if p.User().Email != addr || !p.User().EmailVerified || p.User().HasPassword() {
				t.Errorf("new account %+v", p.User())
			}
			checkUser(t, "stored new account", e.storedUser(p.User().ID), p.User())
		})

		t.Run("no account without passwordless sign-up", func(t *testing.T) {
			t.Parallel()
			e := newMFAEnvWith(t, st, nil, func(c *auth.Config) { c.PasswordlessSignup = new(false) })
			addr := email("nosignup")
			_, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, e.emailCode(addr))
			checkErr(t, "the code of a suppressed message", err, errWrongSignInCode)
		})

		// Codes kept apart from the users' table (in memory here, in Redis
		// on many nodes) outlive a deleted account; the SQL store's cascade
		// no longer takes them along. Such a code must prove nothing, and
		// above all must not sign up a new account at the address.
		t.Run("code of a deleted account", func(t *testing.T) {
			t.Parallel()
			e := newMFAEnvDeps(t, st, nil, func(d *auth.Deps) { d.Challenges = memstore.NewCodes() })
			addr := email("deleted")
			u := e.signUp(addr, goodPassword)
			code := e.emailCode(addr)
			if err := e.svc.AdminDeleteUser(e.ctx, u.ID); err != nil {
				t.Fatalf("AdminDeleteUser: %v", err)
			}
			_, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, code)
			checkErr(t, "the code of a deleted account", err, errWrongSignInCode)
			if _, err := st.UserByEmail(e.ctx, addr); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("an account exists at %s after the code of a deleted one: %v", addr, err)
			}
		})

		runMFA(t, st, "refusals", func(t *testing.T, e *mfaEnv) {
			addr := email("coderef")
			e.signUp(addr, goodPassword)
			code := e.emailCode(addr)
			wrong := digitsBeside(code)(0)
			for _, tt := range []struct {
				name string
				id   auth.Identity
				code string
				want *auth.Error
			}{
				{"no address", auth.Identity{}, code, invalid(auth.FieldError{Field: "email", Message: "is required"})},
				{"letters", auth.Identity{Email: addr}, "12ab56", invalid(auth.FieldError{Field: "code", Message: "must be 6 digits"})},
				{"no code", auth.Identity{Email: addr}, "", invalid(auth.FieldError{Field: "code", Message: "is required"})},
				{"wrong code", auth.Identity{Email: addr}, wrong, errWrongSignInCode},
				{"another address", auth.Identity{Email: email("other")}, code, errWrongSignInCode},
			} {
				_, err := e.svc.SignInCode(e.ctx, tt.id, tt.code)
				checkErr(t, tt.name, err, tt.want)
			}
			if _, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, code); err != nil {
				t.Fatalf("the right code after one wrong: %v", err)
			}
			_, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, code)
			checkErr(t, "the code used twice", err, errWrongSignInCode)

			e.clock.Advance(61 * time.Second)
			code = e.emailCode(addr)
			e.clock.Advance(e.cfg.OTPTTL)
			_, err = e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, code)
			checkErr(t, "an expired code", err, errCodeExpired)
		})
	})
}
