package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// The limits of issue 12, each tested as the attack it stops: a guesser
// who knows the password and takes fresh MFA tokens, one client spreading
// wrong codes or sends over many accounts, a password guessed by email and
// by phone.

// tripped keeps what each recObserver heard of LimitTripped, apart from
// its sign-in events so the tests that count those are not disturbed.
var tripped sync.Map // *recObserver → *trips

type trips struct {
	mu    sync.Mutex
	names []string
}

// LimitTripped implements auth.Observer.
func (o *recObserver) LimitTripped(name string) {
	v, _ := tripped.LoadOrStore(o, &trips{})
	tr := v.(*trips)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.names = append(tr.names, name)
}

// trips answers how often the limit name tripped for o.
func (o *recObserver) trips(name string) int {
	v, ok := tripped.Load(o)
	if !ok {
		return 0
	}
	tr := v.(*trips)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, got := range tr.names {
		if got == name {
			n++
		}
	}
	return n
}

// The limits' answers, as clients see them.
var (
	errMFALocked = &auth.Error{Kind: auth.KindTooManyAttempts, Message: "Too many wrong second-factor codes for this account; try again later."}
	errClientLim = &auth.Error{Kind: auth.KindRateLimited, Message: "Too many wrong codes from your network; try again later."}
	errSendsLim  = &auth.Error{Kind: auth.KindRateLimited, Message: "Too many messages were asked for from your network; try again later."}
	errGlobalLim = &auth.Error{Kind: auth.KindRateLimited, Message: "The server is sending too many messages right now; try again later."}
)

// isLock reports the account's second-factor lock, with any wait.
func isLock(err error) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Kind == errMFALocked.Kind && ae.Message == errMFALocked.Message
}

func withRetry(e *auth.Error, d time.Duration) *auth.Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// newLimitEnv is an mfaEnv whose Service counts the limits in an
// in-process Limiter, with the config changed by edit (when not nil).
func newLimitEnv(t *testing.T, st *sqlstore.Store, edit func(*auth.Config)) *mfaEnv {
	t.Helper()
	return newMFAEnvDeps(t, st, edit, func(d *auth.Deps) { d.Limiter = throttle.NewLimiter(d.Clock, 0) })
}

// wrongTOTP answers a six-digit code that no step around now accepts.
func (e *mfaEnv) wrongTOTP(secret string) string {
	e.t.Helper()
	var valid []string
	for d := -1; d <= 1; d++ {
		valid = append(valid, totpAt(e.t, secret, e.clock.Now().Add(time.Duration(d)*30*time.Second)))
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (i*7919+123457)%1_000_000)
		if !slices.Contains(valid, c) {
			return c
		}
	}
}

// auditCount answers how many audit events of kind the user has.
func (e *mfaEnv) auditCount(userID, kind string) int {
	e.t.Helper()
	events, err := e.store.AuditEvents(e.ctx, userID, "", 500)
	if err != nil {
		e.t.Fatalf("AuditEvents: %v", err)
	}
	n := 0
	for _, ev := range events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

const mfaLimit = 10 // auth.DefaultConfig().MFAFailureLimit

// TestMFAAccountLimitAcrossTokens is the attack of issue 12: someone who
// knows the password takes a fresh MFA token at every sign-in and spends
// its 5 tries, from a new client address each time. The account's count
// stops them at MFAFailureLimit; past it the right code is refused too,
// the owner is mailed once and the lock is audited once.
func TestMFAAccountLimitAcrossTokens(t *testing.T) {
	if got := auth.DefaultConfig().MFAFailureLimit; got != mfaLimit {
		t.Fatalf("DefaultConfig().MFAFailureLimit = %d, the tests assume %d", got, mfaLimit)
	}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, nil)
		mu := e.totpUser("mfa-lock")
		guesses := 0
		for tok := 0; tok < 10; tok++ {
			mfa := e.mfaToken(mu.addr)
			for try := 0; try < e.cfg.OTPMaxAttempts; try++ {
				_, err := e.grant(mfa.Token, auth.FactorTOTP, e.wrongTOTP(mu.secret))
				if isLock(err) {
					goto locked
				}
				guesses++
			}
		}
		t.Fatal("the account was never locked")
	locked:
		if guesses != mfaLimit {
			t.Errorf("%d wrong codes were compared before the lock; want %d", guesses, mfaLimit)
		}
		// Locked whatever the code: a new token and the right code.
		_, err := e.grant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret))
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Kind != auth.KindTooManyAttempts || ae.Message != errMFALocked.Message ||
			ae.RetryAfter <= 0 || ae.RetryAfter > 15*time.Minute {
			t.Errorf("the right code while locked: %v; want %s with a Retry-After within 15m", err, fmtErr(errMFALocked))
		}
		_, err = e.grant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, mu.backup[0])
		if !errors.As(err, &ae) || ae.Message != errMFALocked.Message {
			t.Errorf("a right backup code while locked: %v; want the lock", err)
		}
		if n := e.mail.count(auth.KindMFALocked, mu.addr); n != 1 {
			t.Errorf("%d lock notices mailed; want 1", n)
		}
		if got := e.mail.last(t, auth.KindMFALocked, mu.addr).Data.ExpiresIn; got != 15*time.Minute {
			t.Errorf("the notice says the lock lasts %v; want 15m", got)
		}
		if n := e.auditCount(mu.user.ID, auth.AuditMFALocked); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditMFALocked)
		}
		if n := e.obs.trips(auth.LimitMFAAccount); n != 1 {
			t.Errorf("LimitTripped(%s) %d times; want 1", auth.LimitMFAAccount, n)
		}

		// When the lock ends the owner gets in; the next lock is longer.
		e.clock.Advance(15 * time.Minute)
		e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP)
		e.nextStep()
		for range mfaLimit {
			mfa := e.mfaToken(mu.addr)
			if _, err := e.grant(mfa.Token, auth.FactorTOTP, e.wrongTOTP(mu.secret)); auth.KindOf(err) != auth.KindInvalidCode {
				t.Fatalf("a wrong code after the lock: %v; want invalid_code", err)
			}
		}
		_, err = e.grant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret))
		checkErr(t, "the second lock", err, withRetry(errMFALocked, 30*time.Minute))
		if n := e.mail.count(auth.KindMFALocked, mu.addr); n != 2 {
			t.Errorf("%d lock notices after two locks; want 2", n)
		}
	})
}

// TestMFAAccountLimitAcrossFactors spends the account's budget on the
// authenticator, on backup codes and on emailed codes: one count for all
// factors, and past it the right code of any factor is refused.
func TestMFAAccountLimitAcrossFactors(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, nil)
		mu := e.totpUser("mfa-factors")
		aal2 := e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP)
		e.nextStep()
		if _, err := e.svc.EnableEmailFactor(e.ctx, aal2, client()); err != nil {
			t.Fatalf("EnableEmailFactor: %v", err)
		}
		for i := range mfaLimit {
			mfa := e.mfaToken(mu.addr)
			var factor, code string
			switch i % 3 {
			case 0:
				factor, code = auth.FactorTOTP, e.wrongTOTP(mu.secret)
			case 1:
				factor, code = auth.FactorBackupCode, "zzzz-zzzz-zz"
			case 2:
				e.clock.Advance(time.Minute) // the emailed code's own send limit
				if err := e.svc.MFAChallenge(e.ctx, mfa.Token, auth.FactorEmail); err != nil {
					t.Fatalf("MFAChallenge: %v", err)
				}
				factor, code = auth.FactorEmail, digitsBeside(e.mail.last(t, auth.KindMFACode, mu.addr).Data.Code)(0)
			}
			if _, err := e.grant(mfa.Token, factor, code); auth.KindOf(err) != auth.KindInvalidCode {
				t.Fatalf("wrong %s #%d: %v; want invalid_code", factor, i+1, err)
			}
		}
		_, err := e.grant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, mu.backup[0])
		checkErr(t, "a right backup code past the limit", err, withRetry(errMFALocked, 15*time.Minute))
		e.clock.Advance(time.Minute)
		mfa := e.mfaToken(mu.addr)
		if err := e.svc.MFAChallenge(e.ctx, mfa.Token, auth.FactorEmail); err != nil {
			t.Fatalf("MFAChallenge: %v", err)
		}
		_, err = e.grant(mfa.Token, auth.FactorEmail, e.mail.last(t, auth.KindMFACode, mu.addr).Data.Code)
		var ae *auth.Error
		if !isLock(err) || !errors.As(err, &ae) || ae.RetryAfter <= 0 {
			t.Errorf("a right emailed code past the limit: %v; want the lock", err)
		}
	})
}

// TestMFASuccessResetsNothing: a right code takes back only its own try.
// The wrong codes before it stay counted, so a guesser who also holds one
// backup code (or who sees the owner sign in) gains no new tries.
func TestMFASuccessResetsNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, nil)
		mu := e.totpUser("mfa-reset")
		wrong := func() error {
			_, err := e.grant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.wrongTOTP(mu.secret))
			return err
		}
		for i := range mfaLimit - 1 {
			if err := wrong(); auth.KindOf(err) != auth.KindInvalidCode {
				t.Fatalf("wrong code #%d: %v", i+1, err)
			}
		}
		e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, mu.backup[0], auth.MethodPassword, auth.MethodBackupCode)
		if err := wrong(); auth.KindOf(err) != auth.KindInvalidCode {
			t.Fatalf("the last wrong code under the limit: %v", err)
		}
		checkErr(t, "past the limit after a success", wrong(), withRetry(errMFALocked, 15*time.Minute))
	})
}

// TestMFAAccountLimitConcurrently sends the guesses of many MFA tokens at
// once: counted before they are compared, no more than the limit are
// ever compared.
func TestMFAAccountLimitConcurrently(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, nil)
		mu := e.totpUser("mfa-race")
		const tokens = 8
		var toks []string
		for range tokens {
			toks = append(toks, e.mfaToken(mu.addr).Token)
		}
		wrong := e.wrongTOTP(mu.secret)
		var wg sync.WaitGroup
		var mu2 sync.Mutex
		compared, locked := 0, 0
		for i := range tokens * e.cfg.OTPMaxAttempts {
			wg.Go(func() {
				_, err := e.grant(toks[i%tokens], auth.FactorTOTP, wrong)
				mu2.Lock()
				defer mu2.Unlock()
				var ae *auth.Error
				switch {
				case isLock(err):
					locked++
				case auth.KindOf(err) == auth.KindInvalidCode || errors.As(err, &ae) && ae.Message == errMFATooMany.Message:
					compared++
				default:
					t.Errorf("guess: %v", err)
				}
			})
		}
		wg.Wait()
		if compared != mfaLimit {
			t.Errorf("%d concurrent guesses were compared (%d refused by the lock); want exactly %d", compared, locked, mfaLimit)
		}
		if n := e.mail.count(auth.KindMFALocked, mu.addr); n != 1 {
			t.Errorf("%d lock notices; want 1", n)
		}
		if n := e.auditCount(mu.user.ID, auth.AuditMFALocked); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditMFALocked)
		}
	})
}

// TestClientCodeLimitAcrossAccounts: one client sends wrong codes spread
// over many addresses, 5 each (each challenge's own limit), some with a
// live challenge and some without. Past ClientCodeFailureLimit the client
// is refused whatever the code and the address; another client is not.
func TestClientCodeLimitAcrossAccounts(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		const limit = 20
		e := newLimitEnv(t, st, func(c *auth.Config) { c.ClientCodeFailureLimit = limit })
		attacker := client()
		actx := auth.WithClient(e.ctx, attacker)
		for i := range limit / 5 {
			addr := email("spread")
			if i%2 == 0 { // a live challenge to guess at
				if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
					t.Fatal(err)
				}
			}
			for try := range 5 {
				_, err := e.svc.SignInCode(actx, auth.Identity{Email: addr}, "000000")
				if k := auth.KindOf(err); k != auth.KindInvalidCode && k != auth.KindTooManyAttempts {
					t.Fatalf("wrong code %d for address %d: %v", try+1, i+1, err)
				}
			}
		}
		victim := email("spread-victim")
		if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: victim}); err != nil {
			t.Fatal(err)
		}
		code := e.mail.last(t, auth.KindSignInCode, victim).Data.Code
		_, err := e.svc.SignInCode(actx, auth.Identity{Email: victim}, code)
		checkErr(t, "the right code from the limited client", err, withRetry(errClientLim, 15*time.Minute))
		_, err = e.svc.SignInLink(actx, "an-unknown-link-token")
		checkErr(t, "a link from the limited client", err, withRetry(errClientLim, 15*time.Minute))
		if n := e.obs.trips(auth.LimitCodeClient); n != 1 {
			t.Errorf("LimitTripped(%s) %d times; want 1", auth.LimitCodeClient, n)
		}
		// Another client (the owner) still signs in with the code.
		if _, err := otpGrant(auth.WithClient(e.ctx, client()), e.svc, victim, code, client()); err != nil {
			t.Errorf("the right code from another client: %v", err)
		}
	})
}

// TestClientCodeLimitSecondFactor: wrong second-factor codes of many
// accounts from one client count together, and the lock is audited on the
// account it tripped on.
func TestClientCodeLimitSecondFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		const limit = 6
		e := newLimitEnv(t, st, func(c *auth.Config) { c.ClientCodeFailureLimit = limit })
		attacker := client()
		var users []*mfaUser
		for i := range 3 {
			users = append(users, e.totpUser(fmt.Sprint("mfa-spread-", i)))
		}
		for i := range limit {
			mu := users[i%len(users)]
			_, err := mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: e.mfaToken(mu.addr).Token, Factor: auth.FactorTOTP, Code: e.wrongTOTP(mu.secret)}, attacker)
			if auth.KindOf(err) != auth.KindInvalidCode {
				t.Fatalf("wrong code #%d: %v", i+1, err)
			}
		}
		last := users[0]
		_, err := mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: e.mfaToken(last.addr).Token, Factor: auth.FactorTOTP, Code: e.code(last.secret)}, attacker)
		checkErr(t, "the right code from the limited client", err, withRetry(errClientLim, 15*time.Minute))
		if n := e.auditCount(last.user.ID, auth.AuditClientLimited); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditClientLimited)
		}
	})
}

// TestClientSendLimit: one client asks for codes to many addresses (email
// bombing across addresses). Past ClientSendLimit it is refused, with the
// same answer for known and unknown addresses; another client is not.
func TestClientSendLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		const limit = 6
		e := newLimitEnv(t, st, func(c *auth.Config) { c.ClientSendLimit = limit })
		known := email("send-known")
		e.signUp(known, goodPassword)
		actx := auth.WithClient(e.ctx, client())
		for i := range limit {
			if err := e.svc.RequestCode(actx, auth.CodeRequest{Email: email("bomb"), Link: i%2 == 0}); err != nil {
				t.Fatalf("send #%d: %v", i+1, err)
			}
		}
		var answers []error
		for _, addr := range []string{known, email("send-unknown")} {
			err := e.svc.RequestCode(actx, auth.CodeRequest{Email: addr})
			checkErr(t, "a send past the limit to "+addr, err, withRetry(errSendsLim, time.Hour))
			answers = append(answers, err)
			checkErr(t, "a recovery past the limit", e.svc.Recover(actx, addr), withRetry(errSendsLim, time.Hour))
		}
		if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
			t.Errorf("known and unknown addresses answer apart: %v / %v", answers[0], answers[1])
		}
		if e.mail.count(auth.KindSignInCode, known) != 0 {
			t.Error("a refused send was composed")
		}
		if err := e.svc.RequestCode(auth.WithClient(e.ctx, client()), auth.CodeRequest{Email: known}); err != nil {
			t.Errorf("another client: %v", err)
		}
		if n := e.obs.trips(auth.LimitSendClient); n != 1 {
			t.Errorf("LimitTripped(%s) %d times; want 1", auth.LimitSendClient, n)
		}
		e.clock.Advance(time.Hour)
		if err := e.svc.RequestCode(actx, auth.CodeRequest{Email: email("bomb")}); err != nil {
			t.Errorf("a send an hour later: %v", err)
		}
	})
}

// TestGlobalSendLimit: past GlobalSendLimit sends in an hour, from any
// clients, every send is refused alike.
func TestGlobalSendLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		const limit = 4
		e := newLimitEnv(t, st, func(c *auth.Config) { c.GlobalSendLimit = limit })
		for i := range limit {
			if err := e.svc.RequestCode(auth.WithClient(e.ctx, client()), auth.CodeRequest{Email: email("global")}); err != nil {
				t.Fatalf("send #%d: %v", i+1, err)
			}
		}
		err := e.svc.RequestCode(auth.WithClient(e.ctx, client()), auth.CodeRequest{Email: email("global")})
		checkErr(t, "a send past the ceiling", err, withRetry(errGlobalLim, time.Hour))
		if n := e.obs.trips(auth.LimitSendGlobal); n != 1 {
			t.Errorf("LimitTripped(%s) %d times; want 1", auth.LimitSendGlobal, n)
		}
	})
}

// TestPasswordThrottleByAccount: an account with a proven phone gets one
// budget of guesses, not one per identifier; an unknown email is
// throttled exactly like a known one (enumeration safety); and the lock
// is audited once for the account.
func TestPasswordThrottleByAccount(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, nil)
		addr, number := email("both"), fmt.Sprintf("+1202555%04d", emailSeq.Add(1)%10_000)
		u := e.signUp(addr, goodPassword)
		u.Phone, u.PhoneVerified = number, true
		if err := e.store.UpdateUser(e.ctx, u); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			id := auth.Identity{Email: addr}
			if i%2 == 1 {
				id = auth.Identity{Phone: number}
			}
			_, err := e.svc.SignInPassword(e.ctx, id, "wrong-password-guess", client())
			checkErr(t, fmt.Sprintf("wrong password #%d", i+1), err, errInvalidCredentials)
		}
		var known error
		for _, id := range []auth.Identity{{Email: addr}, {Phone: number}} {
			_, known = e.svc.SignInPassword(e.ctx, id, goodPassword, client())
			checkErr(t, fmt.Sprintf("the right password by %+v after 5 failures by both", id), known, rateLimited(time.Minute))
		}
		if n := e.auditCount(u.ID, auth.AuditSignInLocked); n != 1 {
			t.Errorf("%d %s audit events; want 1", n, auth.AuditSignInLocked)
		}
		if n := e.obs.trips(auth.LimitPasswordAccount); n != 1 {
			t.Errorf("LimitTripped(%s) %d times; want 1", auth.LimitPasswordAccount, n)
		}

		unknown := email("nobody")
		for range 5 {
			_, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: unknown}, "wrong-password-guess", client())
			checkErr(t, "wrong password for an unknown email", err, errInvalidCredentials)
		}
		_, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: unknown}, goodPassword, client())
		checkErr(t, "an unknown email after 5 failures", err, rateLimited(time.Minute))
		if fmt.Sprint(err) != fmt.Sprint(known) {
			t.Errorf("an unknown email's throttle %v differs from a known one's %v", err, known)
		}
	})
}

// TestLimitsCountOnlyWithAClient: a flow with no client in its context
// (an embedder calling auth directly) keeps every per-address limit and
// the account's, and only the per-client ones do not apply.
func TestLimitsCountOnlyWithAClient(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newLimitEnv(t, st, func(c *auth.Config) { c.ClientCodeFailureLimit = 1; c.ClientSendLimit = 1 })
		for range 3 {
			if err := e.svc.RequestCode(context.WithoutCancel(e.ctx), auth.CodeRequest{Email: email("noclient")}); err != nil {
				t.Fatalf("send without a client: %v", err)
			}
			if _, err := e.svc.SignInCode(e.ctx, auth.Identity{Email: email("noclient")}, "000000"); auth.KindOf(err) != auth.KindInvalidCode {
				t.Fatalf("wrong code without a client: %v", err)
			}
		}
	})
}
