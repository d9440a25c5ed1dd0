package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestMFATOTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "enrol and sign in", func(t *testing.T, e *mfaEnv) {
			addr, u, p := e.signedIn("totp")
			if p.Session.AAL != auth.AAL1 {
				t.Fatalf("password session aal %q", p.Session.AAL)
			}
			en, err := e.svc.EnrollTOTP(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnrollTOTP: %v", err)
			}
			key, err := otp.NewKeyFromURL(en.URL)
			if err != nil {
				t.Fatalf("otpauth URL %q: %v", en.URL, err)
			}
			if key.Type() != "totp" || key.Issuer() != mfaAppName || key.AccountName() != addr || key.Secret() != en.Secret ||
				key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
				t.Errorf("otpauth URL %q: type %s issuer %q account %q period %d digits %v algorithm %v", en.URL,
					key.Type(), key.Issuer(), key.AccountName(), key.Period(), key.Digits(), key.Algorithm())
			}
			if len(en.Secret) < 32 { // 160 bits in base32
				t.Errorf("secret %q is shorter than 160 bits", en.Secret)
			}
			// Pending: nothing is on yet.
			if kinds, left := e.factors(p); len(kinds) != 0 || left != 0 {
				t.Errorf("factors while pending: %v, %d", kinds, left)
			}
			confirmCode := e.code(en.Secret)
			codes, err := e.svc.ConfirmTOTP(e.ctx, p, confirmCode, client())
			if err != nil {
				t.Fatalf("ConfirmTOTP: %v", err)
			}
			checkBackupCodes(t, codes)
			if kinds, left := e.factors(p); !slices.Equal(kinds, []string{auth.FactorTOTP}) || left != 10 {
				t.Errorf("factors = %v, %d; want [totp] 10", kinds, left)
			}
			// The secret is sealed at rest, and the confirming step is used.
			list, err := st.Factors(e.ctx, u.ID)
			if err != nil || len(list) != 1 || !list[0].Confirmed() {
				t.Fatalf("stored factors %+v, %v", list, err)
			}
			if bytes.Contains(list[0].Secret, []byte(en.Secret)) {
				t.Error("the TOTP secret is stored in the clear")
			}
			if plain, err := testBox().Open("totp-secret", list[0].Secret); err != nil || string(plain) != en.Secret {
				t.Errorf("stored secret opens to %q, %v", plain, err)
			}
			if want := e.clock.Now().Unix() / 30; list[0].LastStep != want {
				t.Errorf("last step %d, want %d (the confirming code's)", list[0].LastStep, want)
			}

			// The password now asks for a second factor.
			m := e.mfaToken(addr)
			if !slices.Equal(m.Factors, []string{auth.FactorBackupCode, auth.FactorTOTP}) {
				t.Errorf("factors %v", m.Factors)
			}
			// The code that confirmed the app is used already.
			_, err = e.grant(m.Token, auth.FactorTOTP, confirmCode)
			checkErr(t, "the confirming code", err, errWrongCode)

			e.nextStep()
			code := e.code(en.Secret)
			e.mustGrant(m.Token, auth.FactorTOTP, code, auth.MethodPassword, auth.MethodTOTP)
			// The MFA token is single use, and so is the code.
			_, err = e.grant(m.Token, auth.FactorTOTP, code)
			checkErr(t, "the MFA token again", err, errMFADead)
			_, err = e.grant(e.mfaToken(addr).Token, auth.FactorTOTP, code)
			checkErr(t, "the code replayed on a new sign-in", err, errWrongCode)

			// The next step's code works.
			e.nextStep()
			e.mustGrant(e.mfaToken(addr).Token, auth.FactorTOTP, e.code(en.Secret), auth.MethodPassword, auth.MethodTOTP)

			// Two steps away is refused either way; so is the step before
			// the last used (it is not later).
			m = e.mfaToken(addr)
			now := e.clock.Now()
			for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second, -30 * time.Second} {
				_, err = e.grant(m.Token, auth.FactorTOTP, totpAt(t, en.Secret, now.Add(d)))
				checkErr(t, fmt.Sprintf("a code %v away", d), err, errWrongCode)
			}
			// One step ahead is within the skew; it uses that step, so the
			// current code, an earlier step, is refused after it.
			e.mustGrant(m.Token, auth.FactorTOTP, totpAt(t, en.Secret, now.Add(30*time.Second)), auth.MethodPassword, auth.MethodTOTP)
			_, err = e.grant(e.mfaToken(addr).Token, auth.FactorTOTP, e.code(en.Secret))
			checkErr(t, "the current code after the next step's", err, errWrongCode)
		})

		runMFA(t, st, "enrolment rules", func(t *testing.T, e *mfaEnv) {
			addr, _, p := e.signedIn("enrol")
			first, err := e.svc.EnrollTOTP(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnrollTOTP: %v", err)
			}
			// An unconfirmed enrolment does nothing.
			if g := e.signIn(addr, goodPassword, client()); g.MFA != nil || g.AccessToken == "" {
				t.Errorf("sign-in with a pending enrolment: %+v", g)
			}
			// Enrolling again replaces it: the first secret no longer confirms.
			second, err := e.svc.EnrollTOTP(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnrollTOTP again: %v", err)
			}
			if second.Secret == first.Secret {
				t.Fatal("a new enrolment has the old secret")
			}
			_, err = e.svc.ConfirmTOTP(e.ctx, p, e.code(first.Secret), client())
			checkErr(t, "confirm with the replaced secret", err, errEnrolCode)
			_, err = e.svc.ConfirmTOTP(e.ctx, p, "12345", client())
			checkErr(t, "confirm with 5 digits", err, invalid(auth.FieldError{Field: "code", Message: "must be 6 digits"}))
			if _, err := e.svc.ConfirmTOTP(e.ctx, p, e.code(second.Secret), client()); err != nil {
				t.Fatalf("ConfirmTOTP: %v", err)
			}
			// With one on: an aal1 session may neither enrol nor confirm;
			// an aal2 one is told to remove it first, and that nothing is
			// pending.
			_, err = e.svc.EnrollTOTP(e.ctx, p, client())
			checkErr(t, "enrol with aal1", err, errNeedAAL2)
			_, err = e.svc.ConfirmTOTP(e.ctx, p, e.code(second.Secret), client())
			checkErr(t, "confirm again with aal1", err, errNeedAAL2)
			e.nextStep()
			p2 := e.mustGrant(e.mfaToken(addr).Token, auth.FactorTOTP, e.code(second.Secret), auth.MethodPassword, auth.MethodTOTP)
			_, err = e.svc.EnrollTOTP(e.ctx, p2, client())
			checkErr(t, "enrol with one on", err, errTOTPExists)
			_, err = e.svc.ConfirmTOTP(e.ctx, p2, e.code(second.Secret), client())
			checkErr(t, "confirm twice", err, errNoEnrolment)

			// An enrolment expires after 15 minutes.
			late, early := email("late"), email("early")
			var ps []*auth.Principal
			var secrets []string
			for _, a := range []string{late, early} {
				e.signUp(a, goodPassword)
				pa := e.bearer(e.signIn(a, goodPassword, client()).AccessToken)
				en, err := e.svc.EnrollTOTP(e.ctx, pa, client())
				if err != nil {
					t.Fatalf("EnrollTOTP: %v", err)
				}
				ps, secrets = append(ps, pa), append(secrets, en.Secret)
			}
			e.clock.Advance(15*time.Minute - time.Second)
			if _, err := e.svc.ConfirmTOTP(e.ctx, ps[1], e.code(secrets[1]), client()); err != nil {
				t.Errorf("ConfirmTOTP just before 15 minutes: %v", err)
			}
			e.clock.Advance(time.Second)
			_, err = e.svc.ConfirmTOTP(e.ctx, ps[0], e.code(secrets[0]), client())
			checkErr(t, "confirm after 15 minutes", err, errNoEnrolment)
			if g := e.signIn(late, goodPassword, client()); g.MFA != nil {
				t.Error("an expired enrolment asks for a second factor")
			}
		})

		runMFA(t, st, "wrong tries and expiry", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("tries")
			m := e.mfaToken(mu.addr)
			right := e.code(mu.secret)
			wrong := fmt.Sprintf("%06d", (atoi(right)+1)%1000000)
			for i := 1; i <= 4; i++ {
				_, err := e.grant(m.Token, auth.FactorTOTP, wrong)
				checkErr(t, fmt.Sprintf("wrong code %d", i), err, errWrongCode)
			}
			_, err := e.grant(m.Token, auth.FactorTOTP, wrong)
			checkErr(t, "wrong code 5", err, errMFATooMany)
			_, err = e.grant(m.Token, auth.FactorTOTP, right)
			checkErr(t, "the right code after 5 wrong", err, errMFATooMany)
			// Four wrong codes leave the fifth try.
			m = e.mfaToken(mu.addr)
			for i := 1; i <= 4; i++ {
				_, err := e.grant(m.Token, auth.FactorBackupCode, "zzzz-zzzz-zz")
				checkErr(t, fmt.Sprintf("wrong backup code %d", i), err, errWrongCode)
			}
			e.mustGrant(m.Token, auth.FactorTOTP, right, auth.MethodPassword, auth.MethodTOTP)

			// The token lives 5 minutes.
			e.nextStep()
			t1, t2 := e.mfaToken(mu.addr), e.mfaToken(mu.addr)
			e.clock.Advance(5*time.Minute - time.Second)
			e.mustGrant(t1.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP)
			e.clock.Advance(time.Second)
			e.nextStep()
			_, err = e.grant(t2.Token, auth.FactorTOTP, e.code(mu.secret))
			checkErr(t, "after 5 minutes", err, errMFAExpired)

			for _, tok := range []string{"unknown-token", strings.Repeat("x", 129)} {
				_, err = e.grant(tok, auth.FactorTOTP, e.code(mu.secret))
				checkErr(t, "unknown token", err, errMFADead)
			}
			_, err = e.grant("", "sms", "")
			checkErr(t, "empty input", err, invalid(
				auth.FieldError{Field: "mfa_token", Message: "is required"},
				auth.FieldError{Field: "factor", Message: "must be totp, email, backup_code or webauthn"},
				auth.FieldError{Field: "code", Message: "is required"}))
		})
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestMFABackupCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "single use", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("backup")
			checkBackupCodes(t, mu.backup)
			// Dashes removed and upper case: still the code.
			typed := strings.ToUpper(strings.ReplaceAll(mu.backup[0], "-", ""))
			p := e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, typed, auth.MethodPassword, auth.MethodBackupCode)
			_, err := e.grant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, mu.backup[0])
			checkErr(t, "a used backup code", err, errWrongCode)
			if kinds, left := e.factors(p); !slices.Equal(kinds, []string{auth.FactorTOTP}) || left != 9 {
				t.Errorf("factors = %v, %d; want [totp] 9", kinds, left)
			}
			// Spaces instead of dashes work too.
			e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, strings.ReplaceAll(mu.backup[1], "-", " "),
				auth.MethodPassword, auth.MethodBackupCode)

			events, err := st.AuditEvents(e.ctx, mu.user.ID, "", 50)
			if err != nil {
				t.Fatalf("AuditEvents: %v", err)
			}
			var used []string
			for _, ev := range events {
				if ev.Kind == "backup_code_used" {
					used = append(used, ev.Detail)
				}
			}
			if !slices.Equal(used, []string{"8 backup codes left", "9 backup codes left"}) {
				t.Errorf("backup_code_used events %q (all: %+v)", used, events)
			}

			// A new set: aal2 only; the old codes die.
			_, err = e.svc.NewBackupCodes(e.ctx, mu.aal1, client())
			checkErr(t, "NewBackupCodes with aal1", err, errNeedAAL2)
			fresh, err := e.svc.NewBackupCodes(e.ctx, p, client())
			if err != nil {
				t.Fatalf("NewBackupCodes: %v", err)
			}
			checkBackupCodes(t, fresh)
			for _, c := range fresh {
				if slices.Contains(mu.backup, c) {
					t.Errorf("new backup code %q is an old one", c)
				}
			}
			if _, left := e.factors(p); left != 10 {
				t.Errorf("%d backup codes left after a new set", left)
			}
			_, err = e.grant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, mu.backup[2])
			checkErr(t, "an old backup code", err, errWrongCode)
			e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorBackupCode, fresh[9], auth.MethodPassword, auth.MethodBackupCode)
		})

		runMFA(t, st, "one code, eight sign-ins at once", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("race")
			tokens := make([]string, 8)
			for i := range tokens {
				tokens[i] = e.mfaToken(mu.addr).Token
			}
			ok, losers := grantsAtOnce(len(tokens), func(i int) error {
				_, err := e.grant(tokens[i], auth.FactorBackupCode, mu.backup[3])
				return err
			})
			for _, err := range losers {
				checkErr(t, "a losing use", err, errWrongCode)
			}
			if ok != 1 {
				t.Errorf("%d of 8 concurrent uses of one backup code succeeded, want 1", ok)
			}
			if _, left := e.factors(mu.aal1); left != 9 {
				t.Errorf("%d backup codes left, want 9", left)
			}
		})
	})
}

func TestMFAConcurrentTOTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "one code, eight sign-ins", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("race")
			tokens := make([]string, 8)
			for i := range tokens {
				tokens[i] = e.mfaToken(mu.addr).Token
			}
			code := e.code(mu.secret)
			ok, losers := grantsAtOnce(len(tokens), func(i int) error {
				_, err := e.grant(tokens[i], auth.FactorTOTP, code)
				return err
			})
			for _, err := range losers {
				checkErr(t, "a losing grant", err, errWrongCode)
			}
			if ok != 1 {
				t.Errorf("%d of 8 concurrent grants with one TOTP code succeeded, want 1", ok)
			}
		})
		runMFA(t, st, "one token, eight grants", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("race")
			tok := e.mfaToken(mu.addr).Token
			codes := append([]string{e.code(mu.secret)}, mu.backup[:7]...)
			factor := func(i int) string {
				if i == 0 {
					return auth.FactorTOTP
				}
				return auth.FactorBackupCode
			}
			ok, losers := grantsAtOnce(len(codes), func(i int) error {
				_, err := e.grant(tok, factor(i), codes[i])
				return err
			})
			for _, err := range losers {
				if k := auth.KindOf(err); k != auth.KindTokenRevoked && k != auth.KindTooManyAttempts {
					// The token is used (or, past five tries, dead).
					t.Errorf("a losing grant: %v", err)
				}
			}
			if ok != 1 {
				t.Errorf("%d of 8 concurrent grants on one MFA token succeeded, want 1", ok)
			}
		})
	})
}

// grantsAtOnce calls grant(i) for each i below n from n goroutines and
// returns how many succeeded and the errors of the others.
func grantsAtOnce(n int, grant func(i int) error) (ok int, losers []error) {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = grant(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			losers = append(losers, err)
		}
	}
	return ok, losers
}

// gateKey marks the context of a grant whose read of the MFA token is held.
type gateKey struct{}

type gate struct{ read, release chan struct{} }

// gatedTokens holds a marked grant right after it read its MFA token, so
// a test can make other grants meanwhile.
type gatedTokens struct{ auth.MFATokenStore }

func (g gatedTokens) MFATokenByHash(ctx context.Context, hash []byte) (*auth.MFAToken, error) {
	t, err := g.MFATokenStore.MFATokenByHash(ctx, hash)
	if gt, ok := ctx.Value(gateKey{}).(*gate); ok {
		close(gt.read)
		<-gt.release
	}
	return t, err
}

// Wrong codes sent while a grant is under way count against it: an
// attacker who sends many codes at once gets five tries, not one per
// request. And of grants that read one token at once, one wins.
func TestMFAConcurrentGrantsOnOneToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, func(f auth.MFATokenStore) auth.MFATokenStore { return gatedTokens{f} })
		mu := e.totpUser("gated")
		m := e.mfaToken(mu.addr)
		right := e.code(mu.secret)
		wrong := fmt.Sprintf("%06d", (atoi(right)+1)%1000000)
		gt := &gate{read: make(chan struct{}), release: make(chan struct{})}
		done := make(chan error, 1)
		go func() {
			ctx := context.WithValue(e.ctx, gateKey{}, gt)
			_, err := mfaGrant(ctx, e.svc, auth.MFAInput{Token: m.Token, Factor: auth.FactorTOTP, Code: right}, client())
			done <- err
		}()
		<-gt.read
		for i := 1; i <= 5; i++ {
			_, err := e.grant(m.Token, auth.FactorTOTP, wrong)
			if i < 5 {
				checkErr(t, fmt.Sprintf("wrong code %d", i), err, errWrongCode)
			} else {
				checkErr(t, "wrong code 5", err, errMFATooMany)
			}
		}
		close(gt.release)
		checkErr(t, "the right code read before five wrong ones", <-done, errMFATooMany)

		// A grant that read the token before another used it: refused,
		// though its own code is right.
		e.nextStep()
		m = e.mfaToken(mu.addr)
		gt = &gate{read: make(chan struct{}), release: make(chan struct{})}
		go func() {
			ctx := context.WithValue(e.ctx, gateKey{}, gt)
			_, err := mfaGrant(ctx, e.svc, auth.MFAInput{Token: m.Token, Factor: auth.FactorTOTP, Code: e.code(mu.secret)}, client())
			done <- err
		}()
		<-gt.read
		e.mustGrant(m.Token, auth.FactorBackupCode, mu.backup[0], auth.MethodPassword, auth.MethodBackupCode)
		close(gt.release)
		checkErr(t, "a grant that lost the race", <-done, errMFADead)
	})
}

func TestMFAEmailFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "email codes", func(t *testing.T, e *mfaEnv) {
			addr, _, p := e.signedIn("emailmfa")
			codes, err := e.svc.EnableEmailFactor(e.ctx, p, client())
			if err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			checkBackupCodes(t, codes) // the first factor brings backup codes
			if kinds, left := e.factors(p); !slices.Equal(kinds, []string{auth.FactorEmail}) || left != 10 {
				t.Errorf("factors = %v, %d", kinds, left)
			}
			_, err = e.svc.EnableEmailFactor(e.ctx, p, client())
			checkErr(t, "EnableEmailFactor with aal1 and one on", err, errNeedAAL2)

			m := e.mfaToken(addr)
			if !slices.Equal(m.Factors, []string{auth.FactorBackupCode, auth.FactorEmail}) {
				t.Errorf("factors %v", m.Factors)
			}
			// No code was sent yet: none works.
			_, err = e.grant(m.Token, auth.FactorEmail, "000000")
			checkErr(t, "an email code before the challenge", err, errWrongCode)
			err = e.svc.MFAChallenge(e.ctx, m.Token, auth.FactorTOTP)
			checkErr(t, "challenge totp", err, invalid(auth.FieldError{Field: "factor", Message: "must be email or webauthn"}))
			if err := e.svc.MFAChallenge(e.ctx, m.Token, auth.FactorEmail); err != nil {
				t.Fatalf("MFAChallenge: %v", err)
			}
			sent := e.mail.last(t, auth.KindMFACode, addr)
			if len(sent.Data.Code) != 6 || strings.Trim(sent.Data.Code, "0123456789") != "" {
				t.Fatalf("emailed code %q", sent.Data.Code)
			}
			// A second message within a minute is refused.
			m2 := e.mfaToken(addr)
			err = e.svc.MFAChallenge(e.ctx, m2.Token, auth.FactorEmail)
			if auth.KindOf(err) != auth.KindRateLimited {
				t.Errorf("a second challenge within a minute: %v", err)
			} else if ae := err.(*auth.Error); ae.RetryAfter <= 0 || ae.RetryAfter > time.Minute {
				t.Errorf("Retry-After %v", ae.RetryAfter)
			}
			if n := e.mail.count(auth.KindMFACode, addr); n != 1 {
				t.Errorf("%d messages sent, want 1", n)
			}
			// The code is bound to its MFA token.
			_, err = e.grant(m2.Token, auth.FactorEmail, sent.Data.Code)
			checkErr(t, "the code on another sign-in", err, errWrongCode)
			e.mustGrant(m.Token, auth.FactorEmail, sent.Data.Code, auth.MethodPassword, auth.MethodEmailCode)

			// A minute later: another code, for the second sign-in.
			e.clock.Advance(61 * time.Second)
			if err := e.svc.MFAChallenge(e.ctx, m2.Token, auth.FactorEmail); err != nil {
				t.Fatalf("MFAChallenge a minute later: %v", err)
			}
			again := e.mail.last(t, auth.KindMFACode, addr)
			_, err = e.grant(m2.Token, auth.FactorEmail, sent.Data.Code)
			checkErr(t, "the first code on the second sign-in", err, errWrongCode)
			p2 := e.mustGrant(m2.Token, auth.FactorEmail, again.Data.Code, auth.MethodPassword, auth.MethodEmailCode)

			// aal2 may add a second factor; the codes stay.
			en, err := e.svc.EnrollTOTP(e.ctx, p2, client())
			if err != nil {
				t.Fatalf("EnrollTOTP with aal2: %v", err)
			}
			if _, err := e.svc.ConfirmTOTP(e.ctx, p2, e.code(en.Secret), client()); err != nil {
				t.Fatalf("ConfirmTOTP with aal2: %v", err)
			}
			if kinds, _ := e.factors(p2); !slices.Equal(kinds, []string{auth.FactorEmail, auth.FactorTOTP}) {
				t.Errorf("factors %v", kinds)
			}
			_, err = e.svc.EnableEmailFactor(e.ctx, p2, client())
			checkErr(t, "EnableEmailFactor twice", err, errEmailFactorOn)
		})

		runMFA(t, st, "challenge without the factor", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("noemail")
			err := e.svc.MFAChallenge(e.ctx, e.mfaToken(mu.addr).Token, auth.FactorEmail)
			checkErr(t, "challenge email", err, errNoFactor)
			err = e.svc.MFAChallenge(e.ctx, "unknown", auth.FactorEmail)
			checkErr(t, "challenge with an unknown token", err, errMFADead)
			if n := e.mail.count(auth.KindMFACode, mu.addr); n != 0 {
				t.Errorf("%d messages sent", n)
			}
		})
	})
}

func TestMFARevocationKillsPendingSignIns(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tc := range []struct {
			name   string
			revoke func(e *mfaEnv, mu *mfaUser) error
		}{
			{"disable", func(e *mfaEnv, mu *mfaUser) error {
				yes, no := true, false
				if _, err := e.svc.AdminUpdateUser(e.ctx, mu.user.ID, auth.AdminUpdate{Disabled: &yes}); err != nil {
					return err
				}
				_, err := e.svc.AdminUpdateUser(e.ctx, mu.user.ID, auth.AdminUpdate{Disabled: &no}) // enabling does not revive it
				return err
			}},
			{"admin revoke", func(e *mfaEnv, mu *mfaUser) error { return e.svc.AdminRevokeSessions(e.ctx, mu.user.ID) }},
			{"password change", func(e *mfaEnv, mu *mfaUser) error {
				return e.svc.ChangePassword(e.ctx, mu.aal1, goodPassword, newPassword, client())
			}},
			{"logout global", func(e *mfaEnv, mu *mfaUser) error { return e.svc.Logout(e.ctx, mu.aal1, auth.ScopeGlobal) }},
			{"logout others", func(e *mfaEnv, mu *mfaUser) error { return e.svc.Logout(e.ctx, mu.aal1, auth.ScopeOthers) }},
		} {
			runMFA(t, st, tc.name, func(t *testing.T, e *mfaEnv) {
				mu := e.totpUser("revoke")
				m := e.mfaToken(mu.addr)
				if err := tc.revoke(e, mu); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				_, err := e.grant(m.Token, auth.FactorTOTP, e.code(mu.secret))
				checkErr(t, "the MFA token after "+tc.name, err, errMFADead)
				if err := e.svc.MFAChallenge(e.ctx, m.Token, auth.FactorEmail); auth.KindOf(err) != auth.KindTokenRevoked {
					t.Errorf("MFAChallenge after %s: %v", tc.name, err)
				}
			})
		}
		runMFA(t, st, "disabled while pending", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("disabled")
			m := e.mfaToken(mu.addr)
			// Even a store that kept the token must not finish the sign-in
			// of a disabled user.
			now := e.now()
			if err := st.SetUserDisabled(e.ctx, mu.user.ID, &now); err != nil {
				t.Fatal(err)
			}
			_, err := e.grant(m.Token, auth.FactorTOTP, e.code(mu.secret))
			checkErr(t, "grant for a disabled user", err, errDisabled)
		})
		runMFA(t, st, "deleted user", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("deleted")
			m := e.mfaToken(mu.addr)
			if err := e.svc.AdminDeleteUser(e.ctx, mu.user.ID); err != nil {
				t.Fatal(err)
			}
			_, err := e.grant(m.Token, auth.FactorTOTP, e.code(mu.secret))
			checkErr(t, "grant for a deleted user", err, errMFADead)
		})
	})
}

func TestMFAOtherFirstFactors(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "code, link, browser link, recovery", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("first")
			minute := func() { e.clock.Advance(61 * time.Second) } // the per-address send limit

			// An emailed code.
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mu.addr}); err != nil {
				t.Fatalf("RequestCode: %v", err)
			}
			g, err := otpGrant(e.ctx, e.svc, mu.addr, e.mail.last(t, auth.KindSignInCode, mu.addr).Data.Code, client())
			if err != nil || g.MFA == nil || g.AccessToken != "" {
				t.Fatalf("SignInCode: %+v, %v; want the second-factor step", g, err)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodOTP, auth.MethodTOTP)

			// A magic link by API.
			minute()
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mu.addr, Link: true}); err != nil {
				t.Fatalf("RequestCode link: %v", err)
			}
			g, err = magicLinkGrant(e.ctx, e.svc, linkToken(t, e.mail.last(t, auth.KindMagicLink, mu.addr)), client())
			if err != nil || g.MFA == nil || g.AccessToken != "" {
				t.Fatalf("SignInLink: %+v, %v; want the second-factor step", g, err)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodLink, auth.MethodTOTP)

			// A magic link in a browser: the second-factor step, then a
			// cookie session where the link said.
			minute()
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mu.addr, Link: true, RedirectTo: testIssuer + "/app"}); err != nil {
				t.Fatalf("RequestCode link: %v", err)
			}
			r, err := verifyLink(e.ctx, e.svc, linkToken(t, e.mail.last(t, auth.KindMagicLink, mu.addr)), client())
			if err != nil || r.MFA == nil || r.Cookie != "" || r.Session != nil {
				t.Fatalf("SignInLink: %+v, %v; want the second-factor step", r, err)
			}
			if f := e.svc.MFAFactors(e.ctx, r.MFA.Token); !slices.Equal(f, []string{auth.FactorBackupCode, auth.FactorTOTP}) {
				t.Errorf("MFAFactors %v", f)
			}
			br, err := mfaBrowser(e.ctx, e.svc, auth.MFAInput{Token: r.MFA.Token, Factor: auth.FactorTOTP, Code: e.code(mu.secret)}, client())
			if err != nil {
				t.Fatalf("SecondFactor: %v", err)
			}
			if br.Cookie == "" || br.Session == nil || br.Session.AAL != auth.AAL2 || br.RedirectTo != testIssuer+"/app" {
				t.Errorf("SecondFactor: %+v", br)
			}
			cp, err := e.svc.CookiePrincipal(e.ctx, br.Cookie)
			if err != nil || cp.Session.AAL != auth.AAL2 || !slices.Equal(cp.Session.AMR, []string{auth.MethodLink, auth.MethodTOTP}) {
				t.Errorf("cookie principal %+v, %v", cp, err)
			}
			if f := e.svc.MFAFactors(e.ctx, r.MFA.Token); f != nil {
				t.Errorf("MFAFactors of a used token: %v", f)
			}

			// Password recovery by code: the new password is set, and the
			// sign-in still needs the second factor.
			minute()
			e.nextStep()
			if err := e.svc.Recover(e.ctx, mu.addr); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			g, err = recoverGrant(e.ctx, e.svc, auth.RecoverInput{Email: mu.addr, Code: e.mail.last(t, auth.KindRecovery, mu.addr).Data.Code, NewPassword: newPassword}, client())
			if err != nil || g.MFA == nil || g.AccessToken != "" {
				t.Fatalf("ResetPassword: %+v, %v; want the second-factor step", g, err)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodOTP, auth.MethodTOTP)
			if g, err := passwordGrant(e.ctx, e.svc, mu.addr, newPassword, client()); err != nil || g.MFA == nil {
				t.Errorf("sign-in with the new password: %+v, %v", g, err)
			}
		})
	})
}

// linkToken answers the token of the link in a message.
func linkToken(t testing.TB, m sentMessage) string {
	t.Helper()
	u, err := url.Parse(m.Data.Link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q: %v", m.Data.Link, err)
	}
	return u.Query().Get("token")
}

// After a first factor from the mailbox, the email factor is not offered
// (another code in the same mailbox proves nothing more); after a password
// it is. A token started by an API client cannot finish in a browser, nor
// the other way round.
func TestMFAEmailAfterEmailAndChannels(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "email factor and channels", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("channels")
			if _, err := e.svc.EnableEmailFactor(e.ctx, e.mustGrant(e.mfaToken(mu.addr).Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodPassword, auth.MethodTOTP), client()); err != nil {
				t.Fatalf("EnableEmailFactor: %v", err)
			}
			if m := e.mfaToken(mu.addr); !slices.Equal(m.Factors, []string{auth.FactorBackupCode, auth.FactorEmail, auth.FactorTOTP}) {
				t.Errorf("after a password: factors %v", m.Factors)
			}
			e.clock.Advance(61 * time.Second)
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mu.addr}); err != nil {
				t.Fatalf("RequestCode: %v", err)
			}
			g, err := otpGrant(e.ctx, e.svc, mu.addr, e.mail.last(t, auth.KindSignInCode, mu.addr).Data.Code, client())
			if err != nil || g.MFA == nil {
				t.Fatalf("SignInCode: %+v, %v", g, err)
			}
			if !slices.Equal(g.MFA.Factors, []string{auth.FactorBackupCode, auth.FactorTOTP}) {
				t.Errorf("after an email code: factors %v, want no email", g.MFA.Factors)
			}
			if err := e.svc.MFAChallenge(e.ctx, g.MFA.Token, auth.FactorEmail); auth.KindOf(err) != auth.KindInvalidRequest {
				t.Errorf("MFAChallenge email after an email code: %v, want invalid_request", err)
			}
			// An API token in the browser's form, and a browser token by API.
			if _, err := mfaBrowser(e.ctx, e.svc, auth.MFAInput{Token: g.MFA.Token, Factor: auth.FactorTOTP, Code: e.code(mu.secret)}, client()); auth.KindOf(err) != auth.KindTokenRevoked {
				t.Errorf("API token finished in a browser: %v, want token_revoked", err)
			}
			if f := e.svc.MFAFactors(e.ctx, g.MFA.Token); f != nil {
				t.Errorf("the browser page offers factors for an API token: %v", f)
			}
			e.mustGrant(g.MFA.Token, auth.FactorTOTP, e.code(mu.secret), auth.MethodOTP, auth.MethodTOTP)
		})
	})
}
