package auth_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// phoneSeq hands out US numbers no other test uses: +1 415 555 0000
// onwards is valid in the numbering plan.
var phoneSeq atomic.Int64

func newPhone() string { return fmt.Sprintf("+1415555%04d", phoneSeq.Add(1)%10000) }

// newSMSEnv is an mfaEnv with SMS on.
func newSMSEnv(t *testing.T, st *sqlstore.Store) *mfaEnv {
	t.Helper()
	return newMFAEnvWith(t, st, nil, func(c *auth.Config) { c.SMS = true })
}

// smsCode asks for a sign-in code to number and answers it.
func (e *mfaEnv) smsCode(number string) string {
	e.t.Helper()
	if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Phone: number}); err != nil {
		e.t.Fatalf("RequestCode(%s): %v", number, err)
	}
	m := e.mail.last(e.t, auth.KindSMSCode, number)
	if m.Data.Host != "gatehouse.test" || m.Data.Link != "" {
		e.t.Fatalf("SMS data: %+v", m.Data)
	}
	return m.Data.Code
}

func TestSMSFlows(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("code expires", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			n := newPhone()
			code := e.smsCode(n)
			e.clock.Advance(e.cfg.OTPTTL)
			_, err := phoneOTPGrant(e.ctx, e.svc, n, code, client())
			if auth.KindOf(err) != auth.KindCodeExpired {
				t.Fatalf("SignInCode after the TTL: %v, want code_expired", err)
			}
		})

		t.Run("one winner among concurrent uses", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			n := newPhone()
			code := e.smsCode(n)
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 8 {
				wg.Go(func() {
					<-start
					if _, err := phoneOTPGrant(e.ctx, e.svc, n, code, client()); err == nil {
						wins.Add(1)
					} else if k := auth.KindOf(err); k != auth.KindInvalidCode && k != auth.KindTooManyAttempts {
						// Tries are counted before comparing, so past the
						// fifth even the right code is too many.
						t.Errorf("losing SignInCode: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d concurrent sign-ins won with one code", wins.Load())
			}
		})

		t.Run("second factor after an SMS code", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			mu := e.totpUser("sms-mfa")
			n := newPhone()
			u := e.storedUser(mu.user.ID)
			u.Phone, u.PhoneVerified = n, true
			if err := st.UpdateUser(e.ctx, u); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.EnableEmailFactor(e.ctx, e.bearer(e.signInMFA(mu).AccessToken), client()); err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			g, err := phoneOTPGrant(e.ctx, e.svc, n, e.smsCode(n), client())
			if err != nil || g.MFA == nil {
				t.Fatalf("SignInCode with factors on: %+v, %v", g, err)
			}
			// The mailbox is another channel than the phone: email stays a
			// second factor here, unlike after an email code.
			if !slices.Contains(g.MFA.Factors, auth.FactorEmail) || !slices.Contains(g.MFA.Factors, auth.FactorTOTP) {
				t.Errorf("factors after an SMS code: %v", g.MFA.Factors)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodSMS, auth.MethodTOTP)
		})

		t.Run("disabled account gets no SMS", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			n := newPhone()
			code := e.smsCode(n)
			g, err := phoneOTPGrant(e.ctx, e.svc, n, code, client())
			if err != nil {
				t.Fatal(err)
			}
			now := e.now()
			if err := st.SetUserDisabled(e.ctx, g.User.ID, &now); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute + time.Second)
			e.smsCode(n) // composed all the same, so the answer costs the same
			list, err := st.ListMessages(e.ctx, auth.MessageSuppressed, "", 200)
			if err != nil || !slices.ContainsFunc(list, func(m auth.Message) bool { return m.To == n && m.Channel == "sms" }) {
				t.Fatalf("no suppressed SMS to %s among %d: %v", n, len(list), err)
			}
		})

		t.Run("two users verify one number at once", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			n := newPhone()
			var ps []*auth.Principal
			var codes []string
			for i := range 2 {
				_, g := e.newUser(fmt.Sprintf("phone-race-%d", i))
				p := e.bearer(g.AccessToken)
				if err := e.svc.RequestPhoneChange(e.ctx, p, n); err != nil {
					t.Fatalf("RequestPhoneChange: %v", err)
				}
				ps = append(ps, p)
				codes = append(codes, e.mail.last(t, auth.KindSMSCode, n).Data.Code)
				e.clock.Advance(time.Minute + time.Second) // past the per-number limit
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() { _, errs[i] = e.svc.VerifyPhone(e.ctx, ps[i], codes[i], client()) })
			}
			wg.Wait()
			ok := slices.IndexFunc(errs, func(err error) bool { return err == nil })
			if ok < 0 || auth.KindOf(errs[1-ok]) != auth.KindPhoneTaken {
				t.Fatalf("VerifyPhone results: %v", errs)
			}
			holder, err := st.UserByPhone(e.ctx, n)
			if err != nil || holder.ID != ps[ok].User.ID || !holder.PhoneVerified {
				t.Fatalf("holder: %+v, %v", holder, err)
			}
		})

		t.Run("phone change without SMS", func(t *testing.T) {
			t.Parallel()
			e := newMFAEnv(t, st, nil)
			_, g := e.newUser("no-sms")
			err := e.svc.RequestPhoneChange(e.ctx, e.bearer(g.AccessToken), newPhone())
			if auth.KindOf(err) != auth.KindUnavailable {
				t.Fatalf("RequestPhoneChange without SMS: %v", err)
			}
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Message == "" {
				t.Fatalf("error without a message: %v", err)
			}
		})
	})
}

// signInMFA signs a TOTP user in fully (aal2) and answers the grant.
func (e *mfaEnv) signInMFA(mu *mfaUser) *auth.Grant {
	e.t.Helper()
	tok := e.mfaToken(mu.addr)
	g, err := e.grant(tok.Token, auth.FactorTOTP, e.code(mu.secret))
	if err != nil {
		e.t.Fatalf("SecondFactor: %v", err)
	}
	e.nextStep()
	return g
}

// TestTOTPForPhoneOnlyAccount: an account with no email labels its
// authenticator entry with its phone.
func TestTOTPForPhoneOnlyAccount(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newSMSEnv(t, st)
		n := newPhone()
		g, err := phoneOTPGrant(e.ctx, e.svc, n, e.smsCode(n), client())
		if err != nil {
			t.Fatal(err)
		}
		en, err := e.svc.EnrollTOTP(e.ctx, e.bearer(g.AccessToken), client())
		if err != nil {
			t.Fatalf("EnrollTOTP for a phone-only account: %v", err)
		}
		if want := ":" + n + "?"; !strings.Contains(en.URL, want) {
			t.Errorf("otpauth URL %q, want it to start with %q", en.URL, want)
		}
	})
}
