package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/opaque"
)

// Sealer seals secrets at rest (seal.Box satisfies it).
type Sealer interface {
	Seal(purpose string, plaintext []byte) ([]byte, error)
	Open(purpose string, sealed []byte) ([]byte, error)
}

const (
	// totpSealPurpose binds sealed TOTP secrets to their use.
	totpSealPurpose = "totp-secret"
	// totpPeriod and totpSkew are RFC 6238's 30 s step and ±1 step.
	totpPeriod = 30
	totpSkew   = 1
	// mfaTokenTTL is how long a first factor waits for the second.
	mfaTokenTTL = 5 * time.Minute
	// mfaMaxAttempts wrong second-factor codes kill an MFA token.
	mfaMaxAttempts = 5
	// enrolTTL is how long an unconfirmed authenticator enrolment lives.
	enrolTTL = 15 * time.Minute
	// qrMaxSessionAge bounds how old an aal2 session may be to see the QR
	// code (the secret) again.
	qrMaxSessionAge = 10 * time.Minute
	// backupCodeCount codes of backupCodeLength characters from a 32-letter
	// alphabet: 50 bits each.
	backupCodeCount  = 10
	backupCodeLength = 10
)

// MFARequired is what a first factor answers when a second is needed.
type MFARequired struct {
	Token   string
	Factors []string
}

var (
	errMFAToken       = &Error{Kind: KindTokenRevoked, Message: "This sign-in is not valid any more; start again."}
	errMFAExpired     = &Error{Kind: KindTokenExpired, Message: "This sign-in took too long; start again."}
	errMFATooMany     = &Error{Kind: KindTooManyAttempts, Message: "Too many wrong codes; start the sign-in again.", RetryAfter: time.Second}
	errNoFactor       = &Error{Kind: KindInvalidRequest, Message: "That second factor is not set up for this account.", Fields: []FieldError{{"factor", "is not set up"}}}
	errNeedAAL2       = &Error{Kind: KindForbidden, Message: "This needs a session signed in with a second factor (aal2)."}
	errFactorsOff     = &Error{Kind: KindUnavailable, Message: "Second factors are not configured on this server."}
	errTOTPExists     = &Error{Kind: KindInvalidRequest, Message: "An authenticator app is set up already; remove it first.", Fields: []FieldError{{"factor", "is set up already"}}}
	errNoEnrolment    = &Error{Kind: KindInvalidRequest, Message: "Start the authenticator set-up first.", Fields: []FieldError{{"code", "no set-up is waiting for a code"}}, Cause: ErrNoEnrolment}
	errQRTooLate      = &Error{Kind: KindForbidden, Message: "Sign in again with your second factor to see the QR code: it is shown only within 10 minutes of signing in."}
	errNoEmail        = &Error{Kind: KindInvalidRequest, Message: "The account has no email for email codes.", Fields: []FieldError{{"factor", "needs an email on the account"}}}
	errEmailFactorSet = &Error{Kind: KindInvalidRequest, Message: "Email is a second factor already.", Fields: []FieldError{{"factor", "is set up already"}}}
)

// signIn completes a first factor: tokens, or mfa_required when the user
// has a second factor on.
func (s *Service) signIn(ctx context.Context, u *User, c Client, amr []string) (*Grant, error) {
	m, err := s.requireMFA(ctx, u, amr, false, "")
	if err != nil {
		return nil, err
	}
	if m != nil {
		return &Grant{User: u, MFA: m}, nil
	}
	return s.startSession(ctx, u, c, amr)
}

// browserSignIn is signIn for a browser: a cookie session, or the MFA step.
func (s *Service) browserSignIn(ctx context.Context, u *User, c Client, amr []string, redirectTo string) (*LinkResult, error) {
	m, err := s.requireMFA(ctx, u, amr, true, redirectTo)
	if err != nil {
		return nil, err
	}
	if m != nil {
		return &LinkResult{User: u, MFA: m, RedirectTo: redirectTo}, nil
	}
	cookie, sess, err := s.BrowserSession(ctx, u, c, amr)
	if err != nil {
		return nil, err
	}
	return &LinkResult{Cookie: cookie, Session: sess, User: u, RedirectTo: redirectTo}, nil
}

// requireMFA answers nil when u has no second factor on, else a fresh MFA
// token bound to u and the first factor.
func (s *Service) requireMFA(ctx context.Context, u *User, amr []string, browser bool, redirectTo string) (*MFARequired, error) {
	if s.factors == nil || u.NoFactors {
		return nil, nil
	}
	kinds, err := s.factorsFor(ctx, u.ID, amr)
	if err != nil || len(kinds) == 0 {
		return nil, err
	}
	plain, hash, err := opaque.New()
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &MFAToken{ID: newID(), UserID: u.ID, Hash: hash, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(mfaTokenTTL), Browser: browser, RedirectTo: redirectTo}
	if err := s.factors.CreateMFAToken(ctx, t); err != nil {
		return nil, storeErr("create mfa token", err)
	}
	return &MFARequired{Token: plain, Factors: kinds}, nil
}

// factorsFor answers the second factors that can follow a first factor
// with methods amr. After a code or link from the mailbox, another code in
// the same mailbox proves nothing more, so email is left out: the second
// factor must be something else (and with nothing else on, the email
// sign-in stays a single factor, aal1).
func (s *Service) factorsFor(ctx context.Context, userID string, amr []string) ([]string, error) {
	kinds, err := s.onFactors(ctx, userID)
	if err != nil {
		return nil, err
	}
	if emailFirst(amr) {
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == FactorEmail })
		if !slices.ContainsFunc(kinds, func(k string) bool { return k != FactorBackupCode }) {
			return nil, nil // only backup codes would be left: no second factor on for this path
		}
	}
	return kinds, nil
}

// emailFirst reports a first factor proven through the mailbox.
func emailFirst(amr []string) bool {
	return slices.Contains(amr, MethodOTP) || slices.Contains(amr, MethodLink)
}

// onFactors answers the second factors a user can finish a sign-in with.
func (s *Service) onFactors(ctx context.Context, userID string) ([]string, error) {
	list, err := s.factors.Factors(ctx, userID)
	if err != nil {
		return nil, storeErr("list factors", err)
	}
	var kinds []string
	for _, f := range list {
		if f.Confirmed() {
			kinds = append(kinds, f.Kind)
		}
	}
	if len(kinds) == 0 {
		return nil, nil
	}
	left, err := s.factors.BackupCodesLeft(ctx, userID)
	if err != nil {
		return nil, storeErr("count backup codes", err)
	}
	if left > 0 {
		kinds = append(kinds, FactorBackupCode)
	}
	slices.Sort(kinds)
	return kinds, nil
}

// Factors answers the second factors the principal has on, and how many
// unused backup codes remain.
func (s *Service) Factors(ctx context.Context, p *Principal) (kinds []string, backupLeft int, err error) {
	if s.factors == nil {
		return []string{}, 0, nil
	}
	kinds, err = s.onFactors(ctx, p.User.ID)
	if err != nil {
		return nil, 0, err
	}
	kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == FactorBackupCode })
	if kinds == nil {
		kinds = []string{}
	}
	backupLeft, err = s.factors.BackupCodesLeft(ctx, p.User.ID)
	if err != nil {
		return nil, 0, storeErr("count backup codes", err)
	}
	return kinds, backupLeft, nil
}

// mfaToken loads a live MFA token.
func (s *Service) mfaToken(ctx context.Context, token string) (*MFAToken, *User, error) {
	if s.factors == nil {
		return nil, nil, errFactorsOff
	}
	if token == "" || len(token) > 128 {
		return nil, nil, errMFAToken
	}
	t, err := s.factors.MFATokenByHash(ctx, opaque.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errMFAToken
	} else if err != nil {
		return nil, nil, storeErr("find mfa token", err)
	}
	switch {
	case t.ConsumedAt != nil:
		return nil, nil, errMFAToken
	case t.Attempts >= mfaMaxAttempts:
		return nil, nil, errMFATooMany
	case !s.now().Before(t.ExpiresAt):
		return nil, nil, errMFAExpired
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errMFAToken
	} else if err != nil {
		return nil, nil, storeErr("find user", err)
	}
	if u.Disabled() {
		return nil, nil, errDisabled
	}
	return t, u, nil
}

// MFAChallenge sends the email second-factor code for an MFA token.
func (s *Service) MFAChallenge(ctx context.Context, token, factor string) error {
	if factor != FactorEmail {
		return fieldError("factor", "must be email")
	}
	t, u, err := s.mfaToken(ctx, token)
	if err != nil {
		return err
	}
	kinds, err := s.factorsFor(ctx, u.ID, t.AMR)
	if err != nil {
		return err
	}
	if !slices.Contains(kinds, FactorEmail) {
		return errNoFactor
	}
	if s.outbox == nil || s.cfg.NoEmail {
		return errNoMail
	}
	if s.sendLimit != nil {
		// Its own budget: the sign-in code that may have come a moment ago
		// must not hold this one back.
		wait, err := s.sendLimit.Allow(ctx, "mfa-mail:"+u.Email)
		if err != nil {
			return storeErr("send limit", err)
		}
		if wait > 0 {
			return &Error{Kind: KindRateLimited, Message: "A code was sent a moment ago; wait before asking again.", RetryAfter: wait}
		}
	}
	code, err := newCode(s.cfg.OTPLength)
	if err != nil {
		return err
	}
	msg, err := s.outbox.Compose(ctx, KindMFACode, u.Email, MessageData{Code: code, ExpiresIn: s.cfg.OTPTTL})
	if err != nil {
		return fmt.Errorf("auth: compose message: %w", err)
	}
	expires := s.now().Add(min(s.cfg.OTPTTL, t.ExpiresAt.Sub(s.now())))
	if err := s.factors.SetMFAEmailCode(ctx, t.ID, s.codeHash(t.ID, code), expires, msg); err != nil {
		return storeErr("store email code", err)
	}
	s.outbox.Wake()
	return nil
}

// MFAInput is the second step of a sign-in.
type MFAInput struct {
	Token  string
	Factor string
	Code   string
}

// MFAGrant finishes a sign-in with a second factor: aal2 tokens.
func (s *Service) MFAGrant(ctx context.Context, in MFAInput, c Client) (*Grant, error) {
	t, u, err := s.secondFactor(ctx, in, c, false)
	if err != nil {
		s.observe("mfa", err)
		return nil, err
	}
	g, err := s.startSession(ctx, u, c, t.AMR)
	s.observe("mfa", err)
	return g, err
}

// MFABrowser is MFAGrant for a browser whose first factor was a magic link:
// a cookie session and where to go.
func (s *Service) MFABrowser(ctx context.Context, in MFAInput, c Client) (*LinkResult, error) {
	t, u, err := s.secondFactor(ctx, in, c, true)
	if err != nil {
		s.observe("mfa", err)
		return nil, err
	}
	cookie, sess, err := s.BrowserSession(ctx, u, c, t.AMR)
	s.observe("mfa", err)
	if err != nil {
		return nil, err
	}
	target := s.allowedRedirect(t.RedirectTo)
	if target == "" {
		target = "/"
	}
	return &LinkResult{Cookie: cookie, Session: sess, User: u, RedirectTo: target}, nil
}

// secondFactor checks the code of one factor against an MFA token and
// consumes the token; t.AMR then holds both factors' methods.
//
// browser says which channel is finishing: an MFA token started by a
// browser (a magic link) ends in a cookie, one started by an API client
// ends in tokens, never the other way round.
func (s *Service) secondFactor(ctx context.Context, in MFAInput, c Client, browser bool) (*MFAToken, *User, error) {
	var fields []FieldError
	if in.Token == "" {
		fields = append(fields, FieldError{"mfa_token", "is required"})
	}
	if in.Factor != FactorTOTP && in.Factor != FactorEmail && in.Factor != FactorBackupCode {
		fields = append(fields, FieldError{"factor", "must be totp, email or backup_code"})
	}
	code := strings.TrimSpace(in.Code)
	if code == "" {
		fields = append(fields, FieldError{"code", "is required"})
	} else if len(code) > 32 {
		fields = append(fields, FieldError{"code", "must be at most 32 characters"})
	}
	if len(fields) > 0 {
		return nil, nil, &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: fields}
	}
	t, u, err := s.mfaToken(ctx, in.Token)
	if err != nil {
		return nil, nil, err
	}
	if t.Browser != browser {
		return nil, nil, errMFAToken
	}
	kinds, err := s.factorsFor(ctx, u.ID, t.AMR)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(kinds, in.Factor) {
		return nil, nil, errNoFactor
	}
	// Count the try before checking the code: tries made at once must not
	// all pass on the count read before any of them was recorded, or an
	// attacker sending many codes in parallel would get far more than
	// mfaMaxAttempts guesses.
	tries, err := s.factors.FailMFAToken(ctx, t.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errMFAToken // revoked a moment ago
	} else if err != nil {
		return nil, nil, storeErr("count try", err)
	}
	if tries > mfaMaxAttempts {
		return nil, nil, errMFATooMany
	}
	var ok bool
	var method string
	switch in.Factor {
	case FactorTOTP:
		method = MethodTOTP
		ok, err = s.checkTOTP(ctx, u.ID, code)
	case FactorEmail:
		method = MethodEmailCode
		ok = t.EmailCodeHash != nil && t.EmailCodeExpiresAt != nil && s.now().Before(*t.EmailCodeExpiresAt) &&
			hmac.Equal(s.codeHash(t.ID, code), t.EmailCodeHash)
	case FactorBackupCode:
		method = MethodBackupCode
		ok, err = s.useBackupCode(ctx, u, code, c)
	}
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		if tries >= mfaMaxAttempts {
			return nil, nil, errMFATooMany
		}
		return nil, nil, errInvalidCode
	}
	used, err := s.factors.ConsumeMFAToken(ctx, t.ID, s.now())
	if err != nil {
		return nil, nil, storeErr("consume mfa token", err)
	}
	if !used {
		return nil, nil, errMFAToken
	}
	t.AMR = append(slices.Clone(t.AMR), method)
	return t, u, nil
}

// checkTOTP accepts a code of the confirmed authenticator for the current
// step ±1, at most once per step (and never a step before the last used).
func (s *Service) checkTOTP(ctx context.Context, userID, code string) (bool, error) {
	f, err := s.factor(ctx, userID, FactorTOTP, true)
	if err != nil || f == nil {
		return false, err
	}
	step, ok, err := s.matchTOTP(f, code)
	if err != nil || !ok {
		return false, err
	}
	fresh, err := s.factors.UseTOTPStep(ctx, f.ID, step)
	if err != nil {
		return false, storeErr("record totp step", err)
	}
	return fresh, nil
}

// matchTOTP answers the time step whose code equals code, comparing each
// candidate in constant time.
func (s *Service) matchTOTP(f *Factor, code string) (int64, bool, error) {
	secret, err := s.sealer.Open(totpSealPurpose, f.Secret)
	if err != nil {
		return 0, false, fmt.Errorf("auth: open totp secret: %w", err)
	}
	now := s.clock.Now()
	step := now.Unix() / totpPeriod
	var found int64
	match := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false, fmt.Errorf("auth: totp code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, match = step+d, 1
		}
	}
	return found, match == 1, nil
}

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: totpSkew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// factor answers the user's factor of kind (confirmed or the pending
// enrolment), or nil.
func (s *Service) factor(ctx context.Context, userID, kind string, confirmed bool) (*Factor, error) {
	list, err := s.factors.Factors(ctx, userID)
	if err != nil {
		return nil, storeErr("list factors", err)
	}
	for i := range list {
		if list[i].Kind == kind && list[i].Confirmed() == confirmed {
			return &list[i], nil
		}
	}
	return nil, nil
}

// backupAlphabet is Crockford's base32 in lower case: no i, l, o, u, so a
// code read aloud or copied by hand is hard to get wrong.
const backupAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newBackupCodes answers n codes formatted xxxx-xxxx-xx and their hashes.
func (s *Service) newBackupCodes(userID string) ([]string, [][]byte, error) {
	codes := make([]string, backupCodeCount)
	hashes := make([][]byte, backupCodeCount)
	buf := make([]byte, backupCodeLength)
	for i := range codes {
		if _, err := rand.Read(buf); err != nil {
			return nil, nil, fmt.Errorf("auth: random backup code: %w", err)
		}
		var b strings.Builder
		for j, c := range buf {
			if j == 4 || j == 8 {
				b.WriteByte('-')
			}
			b.WriteByte(backupAlphabet[c&31]) // 256 is a multiple of 32: uniform
		}
		codes[i] = b.String()
		hashes[i] = s.backupHash(userID, codes[i])
	}
	return codes, hashes, nil
}

// normalizeBackupCode undoes what people do to codes: case, dashes and
// spaces, and Crockford's look-alikes.
func normalizeBackupCode(code string) string {
	r := strings.NewReplacer("-", "", " ", "", "i", "1", "l", "1", "o", "0", "u", "v")
	return r.Replace(strings.ToLower(code))
}

// backupHash keys the hash by the server secret and the user: 50 bits is
// too few for a plain hash to withstand a stolen database.
func (s *Service) backupHash(userID, code string) []byte {
	return s.codeHash("backup:"+userID, normalizeBackupCode(code))
}

func (s *Service) useBackupCode(ctx context.Context, u *User, code string, c Client) (bool, error) {
	if len(normalizeBackupCode(code)) != backupCodeLength {
		return false, nil
	}
	used, left, err := s.factors.UseBackupCode(ctx, u.ID, s.backupHash(u.ID, code), s.now())
	if err != nil {
		return false, storeErr("use backup code", err)
	}
	if used {
		s.audit(ctx, u.ID, "backup_code_used", c, fmt.Sprintf("%d backup codes left", left))
	}
	return used, nil
}

// audit records an event; a failure is logged, never fatal to the flow.
func (s *Service) audit(ctx context.Context, userID, kind string, c Client, detail string) {
	if s.auditLog == nil {
		return
	}
	e := &AuditEvent{ID: newID(), UserID: userID, Kind: kind, IP: truncate(c.IP, 64), UserAgent: truncate(c.UserAgent, 512), Detail: detail, CreatedAt: s.now()}
	if err := s.auditLog.AddAuditEvent(ctx, e); err != nil {
		s.log.WarnContext(ctx, "audit event", "kind", kind, "user_id", userID, "err", err)
	}
}

// MFAFactors answers the factors that can finish the sign-in of a live MFA
// token, or nil when the token is not live (for the browser's second-factor
// page, which must redraw itself without consuming anything).
func (s *Service) MFAFactors(ctx context.Context, token string) []string {
	t, u, err := s.mfaToken(ctx, token)
	if err != nil || !t.Browser {
		return nil
	}
	kinds, err := s.factorsFor(ctx, u.ID, t.AMR)
	if err != nil {
		return nil
	}
	return kinds
}
