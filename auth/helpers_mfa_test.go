package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

// The mfaEnv (a Service with second factors, audit and a recording
// outbox on a real store) and its helpers, for the flow tests.

// mfaAppName is the issuer authenticator apps show for the test service.
const mfaAppName = "Gatehouse MFA Test"

var mfaCodeKey = bytes.Repeat([]byte{0x3c}, 32)

// totpOpts are RFC 6238's parameters as authenticator apps use them.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpAt computes the code an authenticator app shows at at.
func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatalf("totp code: %v", err)
	}
	return code
}

// The errors of the second-factor flows, as clients see them.
var (
	errMFADead       = &auth.Error{Kind: auth.KindTokenRevoked, Message: "This sign-in is not valid any more; start again."}
	errMFAExpired    = &auth.Error{Kind: auth.KindTokenExpired, Message: "This sign-in took too long; start again."}
	errMFATooMany    = &auth.Error{Kind: auth.KindTooManyAttempts, Message: "Too many wrong codes; start the sign-in again.", RetryAfter: time.Second}
	errWrongCode     = &auth.Error{Kind: auth.KindInvalidCode, Message: "The code is not correct."}
	errNeedAAL2      = &auth.Error{Kind: auth.KindForbidden, Message: "This needs a session signed in with a second factor (aal2)."}
	errFactorsOff    = &auth.Error{Kind: auth.KindUnavailable, Message: "Second factors are not configured on this server."}
	errQRTooLate     = &auth.Error{Kind: auth.KindForbidden, Message: "Sign in again with your second factor to see the QR code: it is shown only within 10 minutes of signing in."}
	errTOTPExists    = &auth.Error{Kind: auth.KindInvalidRequest, Message: "An authenticator app is set up already; remove it first.", Fields: []auth.FieldError{{Field: "factor", Message: "is set up already"}}}
	errNoEnrolment   = &auth.Error{Kind: auth.KindInvalidRequest, Message: "Start the authenticator set-up first.", Fields: []auth.FieldError{{Field: "code", Message: "no set-up is waiting for a code"}}}
	errEnrolCode     = &auth.Error{Kind: auth.KindInvalidCode, Message: "The code is not correct; check the app's clock and try the next code.", Fields: []auth.FieldError{{Field: "code", Message: "is not correct"}}}
	errNoFactor      = &auth.Error{Kind: auth.KindInvalidRequest, Message: "That second factor is not set up for this account.", Fields: []auth.FieldError{{Field: "factor", Message: "is not set up"}}}
	errFactorNotSet  = &auth.Error{Kind: auth.KindNotFound, Message: "That second factor is not set up."}
	errEmailFactorOn = &auth.Error{Kind: auth.KindInvalidRequest, Message: "Email is a second factor already.", Fields: []auth.FieldError{{Field: "factor", Message: "is set up already"}}}
	errNoFactorOn    = &auth.Error{Kind: auth.KindInvalidRequest, Message: "Turn on a second factor first: backup codes stand in for one."}
)

// fakeOutbox records what the flows send; the store enqueues the message
// it answers like a real one.
type fakeOutbox struct {
	clock auth.Clock
	mu    sync.Mutex
	sent  []sentMessage
}

type sentMessage struct {
	Kind, To string
	Data     auth.MessageData
}

func (o *fakeOutbox) Compose(_ context.Context, kind, to string, d auth.MessageData) (*auth.Message, error) {
	o.mu.Lock()
	o.sent = append(o.sent, sentMessage{Kind: kind, To: to, Data: d})
	o.mu.Unlock()
	payload := make([]byte, 32)
	_, _ = rand.Read(payload)
	now := o.clock.Now().UTC().Truncate(time.Microsecond)
	channel := "email"
	if kind == auth.KindSMSCode {
		channel = "sms"
	}
	return &auth.Message{ID: uuid.NewString(), Kind: kind, Channel: channel, To: to, Payload: payload,
		Status: auth.MessagePending, NextAttemptAt: now, CreatedAt: now}, nil
}

func (o *fakeOutbox) Wake() {}

// last answers the last message of kind to address.
func (o *fakeOutbox) last(t testing.TB, kind, to string) sentMessage {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.sent) - 1; i >= 0; i-- {
		if m := o.sent[i]; m.Kind == kind && m.To == to {
			return m
		}
	}
	t.Fatalf("no %s message to %s among %d", kind, to, len(o.sent))
	return sentMessage{}
}

func (o *fakeOutbox) count(kind, to string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, m := range o.sent {
		if m.Kind == kind && m.To == to {
			n++
		}
	}
	return n
}

// mfaEnv is an env whose Service has second factors, audit and email
// wired to the real store (and a recording outbox).
type mfaEnv struct {
	*env
	mail *fakeOutbox
}

// newMFAEnv wires a Service with second factors over st. wrap, when not
// nil, puts a wrapper between the flows and the MFA token store.
func newMFAEnv(t *testing.T, st *sqlstore.Store, wrap func(auth.MFATokenStore) auth.MFATokenStore) *mfaEnv {
	t.Helper()
	return newMFAEnvWith(t, st, wrap, nil)
}

// newMFAEnvWith is newMFAEnv with the config changed by edit (when not nil).
func newMFAEnvWith(t *testing.T, st *sqlstore.Store, wrap func(auth.MFATokenStore) auth.MFATokenStore, edit func(*auth.Config)) *mfaEnv {
	t.Helper()
	return newMFAEnvDeps(t, st, edit, func(d *auth.Deps) {
		if wrap != nil {
			d.MFATokens = wrap(d.MFATokens)
		}
	})
}

// newMFAEnvDeps is newMFAEnvWith with the ports changed by editDeps (when
// not nil), for a service whose short-lived ports live elsewhere.
func newMFAEnvDeps(t *testing.T, st *sqlstore.Store, edit func(*auth.Config), editDeps func(*auth.Deps)) *mfaEnv {
	t.Helper()
	e := newEnv(t, st)
	mail := &fakeOutbox{clock: e.clock}
	cfg := auth.Config{SuccessorKey: successorKey, CodeKey: mfaCodeKey, AppName: mfaAppName,
		PublicURL: testIssuer, AllowedRedirects: []string{testIssuer}}
	if edit != nil {
		edit(&cfg)
	}
	deps := auth.Deps{
		Store: st, Hasher: password.New(fastParams, 4), Policy: password.DefaultPolicy, Signer: e.keys, Throttle: e.throttle,
		Clock: e.clock, Observer: e.obs,
		Challenges: st, Outbox: mail, Messages: st, SendLimiter: throttle.NewWindow(e.clock, nil, 0),
		Factors: st, MFATokens: st, Sealer: testBox(), Audit: st,
	}
	if editDeps != nil {
		editDeps(&deps)
	}
	svc, err := auth.New(cfg, deps)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.svc, e.cfg = svc, svc.Config()
	return &mfaEnv{env: e, mail: mail}
}

// runMFA runs fn as a parallel subtest with its own mfaEnv on st.
func runMFA(t *testing.T, st *sqlstore.Store, name string, fn func(t *testing.T, e *mfaEnv)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t, newMFAEnv(t, st, nil))
	})
}

// code answers the authenticator's code now.
func (e *mfaEnv) code(secret string) string { return totpAt(e.t, secret, e.clock.Now()) }

// nextStep moves the clock to the next 30-second TOTP step.
func (e *mfaEnv) nextStep() { e.clock.Advance(30 * time.Second) }

// mfaUser is an account with an authenticator app on.
type mfaUser struct {
	addr   string
	user   *auth.User
	aal1   *auth.Principal // a session from before the factor was on
	secret string
	backup []string
}

// totpUser signs up, signs in (aal1) and turns an authenticator on.
func (e *mfaEnv) totpUser(tag string) *mfaUser {
	e.t.Helper()
	addr, _, p := e.signedIn(tag)
	// Its holder proved the email, so a code or link sign-in later is
	// not a claim that would take the factor away.
	u := e.proveEmail(p)
	secret, codes := e.turnOnTOTP(p)
	return &mfaUser{addr: addr, user: u, aal1: p, secret: secret, backup: codes}
}

// turnOnTOTP sets up and confirms an authenticator for p's account and
// answers its secret and backup codes; the clock moves past the
// confirming code's step.
func (e *mfaEnv) turnOnTOTP(p *auth.Principal) (secret string, backup []string) {
	e.t.Helper()
	en, err := e.svc.EnrollTOTP(e.ctx, p, client())
	if err != nil {
		e.t.Fatalf("EnrollTOTP: %v", err)
	}
	codes, err := e.svc.ConfirmTOTP(e.ctx, p, e.code(en.Secret), client())
	if err != nil {
		e.t.Fatalf("ConfirmTOTP: %v", err)
	}
	e.nextStep() // the confirming code's step is used
	return en.Secret, codes
}

// mfaToken signs in with the password and answers the MFA step, which must
// be asked for.
func (e *mfaEnv) mfaToken(addr string) *auth.MFARequired {
	e.t.Helper()
	g, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
	if err != nil {
		e.t.Fatalf("SignInPassword(%s): %v", addr, err)
	}
	if g.MFA == nil || g.MFA.Token == "" {
		e.t.Fatalf("SignInPassword(%s): no second factor asked for: %+v", addr, g)
	}
	if g.AccessToken != "" || g.RefreshToken != "" || g.Session != nil {
		e.t.Fatalf("SignInPassword(%s) asked for a second factor and answered credentials too: %+v", addr, g)
	}
	return g.MFA
}

// grant finishes a sign-in with a second factor.
func (e *mfaEnv) grant(token, factor, code string) (*auth.Grant, error) {
	return mfaGrant(e.ctx, e.svc, auth.MFAInput{Token: token, Factor: factor, Code: code}, client())
}

// mustGrant finishes a sign-in that must succeed with an aal2 session of
// methods amr, and answers the principal of its access token.
func (e *mfaEnv) mustGrant(token, factor, code string, amr ...string) *auth.Principal {
	e.t.Helper()
	g, err := e.grant(token, factor, code)
	if err != nil {
		e.t.Fatalf("SecondFactor(%s): %v", factor, err)
	}
	if g.AccessToken == "" || g.RefreshToken == "" || g.Session == nil || g.MFA != nil {
		e.t.Fatalf("SecondFactor(%s): %+v", factor, g)
	}
	if g.Session.AAL != auth.AAL2 || !slices.Equal(g.Session.AMR, amr) {
		e.t.Errorf("SecondFactor(%s): session aal %q amr %v; want aal2 %v", factor, g.Session.AAL, g.Session.AMR, amr)
	}
	checkSession(e.t, "stored aal2 session", e.storedSession(g.Session.ID), g.Session)
	p := e.bearer(g.AccessToken)
	if p.Session.AAL != auth.AAL2 || !slices.Equal(p.Session.AMR, amr) {
		e.t.Errorf("principal of the aal2 token: aal %q amr %v", p.Session.AAL, p.Session.AMR)
	}
	return p
}

// factors answers Factors of p, which must not fail.
func (e *mfaEnv) factors(p *auth.Principal) ([]string, int) {
	e.t.Helper()
	kinds, left, err := e.svc.Factors(e.ctx, p)
	if err != nil {
		e.t.Fatalf("Factors: %v", err)
	}
	return kinds, left
}

var backupRE = regexp.MustCompile(`^[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{2}$`)

func checkBackupCodes(t testing.TB, codes []string) {
	t.Helper()
	if len(codes) != 10 {
		t.Fatalf("%d backup codes, want 10: %q", len(codes), codes)
	}
	for _, c := range codes {
		if !backupRE.MatchString(c) {
			t.Errorf("backup code %q is not xxxx-xxxx-xx in Crockford's alphabet", c)
		}
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(codes)))); n != len(codes) {
		t.Errorf("backup codes repeat: %q", codes)
	}
}

// proveEmail proves the principal's own email with the code RequestEmail
// sends (the signed-in holder keeps everything), then lets the per-address
// send limit pass, and answers the account as it is now.
func (e *mfaEnv) proveEmail(p *auth.Principal) *auth.User {
	e.t.Helper()
	if err := e.svc.RequestEmail(e.ctx, p, p.User.Email); err != nil {
		e.t.Fatalf("RequestEmail: %v", err)
	}
	got, err := e.svc.ProveEmail(e.ctx, p, auth.EmailProof{Code: e.mail.last(e.t, auth.KindVerifyEmail, p.User.Email).Data.Code})
	if err != nil || got.User == nil || !got.User.EmailVerified {
		e.t.Fatalf("ProveEmail: %+v, %v", got, err)
	}
	e.clock.Advance(61 * time.Second)
	return got.User
}
