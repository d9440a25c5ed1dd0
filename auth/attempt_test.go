package auth_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// Email codes sent in parallel share one attempt count: twenty wrong
// guesses at once get four invalid_code answers and sixteen
// too_many_attempts, and the code is dead afterwards. (That the right code
// is refused when it races past the limit, the point of counting before
// comparing, is shown deterministically for the MFA path by
// TestMFAConcurrentGrantsOnOneToken; this is the same order in checkCode.)
func TestOTPParallelGuessesAreCounted(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "parallel guesses", func(t *testing.T, e *mfaEnv) {
			addr := email("guess")
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
				t.Fatalf("RequestCode: %v", err)
			}
			right := e.mail.last(t, auth.KindSignInCode, addr).Data.Code
			var mu sync.Mutex
			kinds := map[auth.Kind]int{}
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := otpGrant(e.ctx, e.svc, addr, fmt.Sprintf("%06d", (atoi(right)+1+i)%1_000_000), client())
					mu.Lock()
					kinds[auth.KindOf(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if kinds[auth.KindInvalidCode] != 4 || kinds[auth.KindTooManyAttempts] != 16 {
				t.Fatalf("answers to 20 parallel wrong codes: %v; want 4 invalid_code and 16 too_many_attempts", kinds)
			}
			if _, err := otpGrant(e.ctx, e.svc, addr, right, client()); auth.KindOf(err) != auth.KindTooManyAttempts {
				t.Fatalf("the right code afterwards: %v, want too_many_attempts", err)
			}
		})
	})
}

// codeCheck is one check that takes a secret code, set up on a fresh
// account: try submits a code, right is the one that would pass, wrong(i)
// the i-th distinct wrong one.
type codeCheck struct {
	try   func(code string) error
	right string
	wrong func(i int) string
}

// digitsBeside returns the i-th code of len(right) digits after right.
func digitsBeside(right string) func(int) string {
	return func(i int) string {
		return fmt.Sprintf("%0*d", len(right), (atoi(right)+1+i)%1_000_000)
	}
}

// Every check that takes a code counts its tries with the one setting,
// OTPMaxAttempts: with it at 3, twelve wrong codes sent at once get two
// invalid_code answers and ten too_many_attempts, never a third wrong
// answer, and afterwards the code (or the sign-in) is dead even for the
// right code. The second factors used to have a limit of their own.
func TestOneAttemptLimitForEveryCode(t *testing.T) {
	const limit, tries = 3, 12
	checks := []struct {
		name  string
		setup func(t *testing.T, e *mfaEnv) codeCheck
	}{
		{"sign-in code by email", func(t *testing.T, e *mfaEnv) codeCheck {
			addr := email("limit")
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
				t.Fatalf("RequestCode: %v", err)
			}
			right := e.mail.last(t, auth.KindSignInCode, addr).Data.Code
			return codeCheck{
				try: func(code string) error {
					_, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: addr}, code)
					return err
				},
				right: right, wrong: digitsBeside(right),
			}
		}},
		{"sign-in code by SMS", func(t *testing.T, e *mfaEnv) codeCheck {
			n := newPhone()
			right := e.smsCode(n)
			return codeCheck{
				try:   func(code string) error { _, err := e.svc.SignInCode(e.ctx, auth.Identity{Phone: n}, code); return err },
				right: right, wrong: digitsBeside(right),
			}
		}},
		{"recovery code", func(t *testing.T, e *mfaEnv) codeCheck {
			addr := email("limit")
			e.signUp(addr, goodPassword)
			if err := e.svc.Recover(e.ctx, addr); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			right := e.mail.last(t, auth.KindRecovery, addr).Data.Code
			return codeCheck{
				try: func(code string) error {
					_, err := e.svc.ResetPassword(e.ctx, auth.RecoverInput{Email: addr, Code: code, NewPassword: "a new long password"})
					return err
				},
				right: right, wrong: digitsBeside(right),
			}
		}},
		{"second factor: authenticator", func(t *testing.T, e *mfaEnv) codeCheck {
			mu := e.totpUser("limit")
			tok := e.mfaToken(mu.addr).Token
			right := e.code(mu.secret)
			return codeCheck{
				try:   func(code string) error { _, err := e.grant(tok, auth.FactorTOTP, code); return err },
				right: right, wrong: digitsBeside(right),
			}
		}},
		{"second factor: email code", func(t *testing.T, e *mfaEnv) codeCheck {
			addr, _, p := e.signedIn("limit")
			if _, err := e.svc.EnableEmailFactor(e.ctx, p, client()); err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			tok := e.mfaToken(addr).Token
			if err := e.svc.MFAChallenge(e.ctx, tok, auth.FactorEmail); err != nil {
				t.Fatalf("MFAChallenge: %v", err)
			}
			right := e.mail.last(t, auth.KindMFACode, addr).Data.Code
			return codeCheck{
				try:   func(code string) error { _, err := e.grant(tok, auth.FactorEmail, code); return err },
				right: right, wrong: digitsBeside(right),
			}
		}},
		{"second factor: backup code", func(t *testing.T, e *mfaEnv) codeCheck {
			mu := e.totpUser("limit")
			tok := e.mfaToken(mu.addr).Token
			return codeCheck{
				try:   func(code string) error { _, err := e.grant(tok, auth.FactorBackupCode, code); return err },
				right: mu.backup[0],
				wrong: func(i int) string { return fmt.Sprintf("zzzz-zzzz-%02d", i) },
			}
		}},
	}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tt := range checks {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newMFAEnvWith(t, st, nil, func(c *auth.Config) { c.OTPMaxAttempts = limit; c.SMS = true })
				chk := tt.setup(t, e)
				var mu sync.Mutex
				kinds := map[auth.Kind]int{}
				var wg sync.WaitGroup
				for i := range tries {
					wg.Go(func() {
						err := chk.try(chk.wrong(i))
						mu.Lock()
						kinds[auth.KindOf(err)]++
						mu.Unlock()
					})
				}
				wg.Wait()
				if kinds[auth.KindInvalidCode] != limit-1 || kinds[auth.KindTooManyAttempts] != tries-limit+1 {
					t.Fatalf("answers to %d parallel wrong codes: %v; want %d invalid_code and %d too_many_attempts",
						tries, kinds, limit-1, tries-limit+1)
				}
				if err := chk.try(chk.right); auth.KindOf(err) != auth.KindTooManyAttempts {
					t.Fatalf("the right code after the limit: %v, want too_many_attempts", err)
				}
			})
		}
	})
}

// One wrong code below the limit leaves the right one good, in order: the
// limit counts wrong tries, not every try.
func TestAttemptLimitInOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		// start signs in to the second step with a limit of three tries and
		// returns the token, the right code and codes beside it.
		start := func(t *testing.T) (e *mfaEnv, tok, right string, wrong func(int) string) {
			t.Parallel()
			e = newMFAEnvWith(t, st, nil, func(c *auth.Config) { c.OTPMaxAttempts = 3 })
			mu := e.totpUser("order")
			tok = e.mfaToken(mu.addr).Token
			right = e.code(mu.secret)
			return e, tok, right, digitsBeside(right)
		}
		t.Run("second factor", func(t *testing.T) {
			e, tok, right, wrong := start(t)
			for i := range 2 {
				_, err := e.grant(tok, auth.FactorTOTP, wrong(i))
				checkErr(t, fmt.Sprintf("wrong code %d", i+1), err, errWrongCode)
			}
			e.mustGrant(tok, auth.FactorTOTP, right, auth.MethodPassword, auth.MethodTOTP)
		})
		t.Run("third wrong code kills the sign-in", func(t *testing.T) {
			e, tok, right, wrong := start(t)
			for i := range 3 {
				_, err := e.grant(tok, auth.FactorTOTP, wrong(i))
				if i < 2 {
					checkErr(t, fmt.Sprintf("wrong code %d", i+1), err, errWrongCode)
				} else {
					checkErr(t, "wrong code 3", err, errMFATooMany)
				}
			}
			_, err := e.grant(tok, auth.FactorTOTP, right)
			checkErr(t, "the right code after 3 wrong", err, errMFATooMany)
			if f := e.svc.MFAFactors(e.ctx, tok); f != nil {
				t.Errorf("factors offered for a dead sign-in: %v", f)
			}
		})
	})
}
