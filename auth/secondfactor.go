package auth

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

const (
	// totpSealPurpose binds sealed TOTP secrets to their use.
	totpSealPurpose = "totp-secret"
	// totpPeriod and totpSkew are RFC 6238's 30 s step and ±1 step.
	totpPeriod = 30
	totpSkew   = 1
	// mfaTokenTTL is how long a first factor waits for the second.
	mfaTokenTTL = 5 * time.Minute
)

// MFARequired is what Finish returns when a second factor is needed: the
// MFA token to continue with (SecondFactor) and the factors it takes.
type MFARequired struct {
	Token   string
	Factors []string
}

var (
	errMFAToken        = &Error{Kind: KindTokenRevoked, Message: "This sign-in is not valid any more; start again."}
	errMFAExpired      = &Error{Kind: KindTokenExpired, Message: "This sign-in took too long; start again."}
	errMFATooMany      = &Error{Kind: KindTooManyAttempts, Message: "Too many wrong codes; start the sign-in again.", RetryAfter: time.Second}
	errNoFactor        = &Error{Kind: KindInvalidRequest, Message: "That second factor is not set up for this account.", Fields: []FieldError{{"factor", "is not set up"}}}
	errNeedAAL2        = &Error{Kind: KindForbidden, Message: "This needs a session signed in with a second factor (aal2).", Cause: ErrNeedsAAL2}
	errFactorsOff      = &Error{Kind: KindUnavailable, Message: "Second factors are not configured on this server."}
	errTOTPExists      = &Error{Kind: KindInvalidRequest, Message: "An authenticator app is set up already; remove it first.", Fields: []FieldError{{"factor", "is set up already"}}}
	errNoEnrolment     = &Error{Kind: KindInvalidRequest, Message: "Start the authenticator set-up first.", Fields: []FieldError{{"code", "no set-up is waiting for a code"}}, Cause: ErrNoEnrolment}
	errQRTooLate       = &Error{Kind: KindForbidden, Message: "Sign in again with your second factor to see the QR code: it is shown only within 10 minutes of signing in."}
	errNoEmail         = &Error{Kind: KindInvalidRequest, Message: "The account has no email for email codes.", Fields: []FieldError{{"factor", "needs an email on the account"}}}
	errMFASentRecently = &Error{Kind: KindRateLimited, Message: "A code was sent a moment ago; wait before asking again."}
	errEmailFactorSet  = &Error{Kind: KindInvalidRequest, Message: "Email is a second factor already.", Fields: []FieldError{{"factor", "is set up already"}}}
)

// factorsFor returns the second factors that can follow a first factor
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

// onFactors returns the second factors a user can finish a sign-in with.
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
	// A passkey is a second factor too: something held, so after a
	// password or a code it finishes the sign-in at aal2, and a user with
	// one needs aal2 to change factors (requireAAL2IfProtected), as with
	// an authenticator app.
	if has, err := s.hasPasskey(ctx, userID); err != nil {
		return nil, err
	} else if has {
		kinds = append(kinds, FactorWebAuthn)
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

// mfaToken loads a live MFA token.
func (s *Service) mfaToken(ctx context.Context, token string) (*MFAToken, *User, error) {
	if s.factors == nil {
		return nil, nil, errFactorsOff
	}
	if token == "" || len(token) > 128 {
		return nil, nil, errMFAToken
	}
	t, err := s.mfaTokens.MFATokenByHash(ctx, opaque.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errMFAToken
	} else if err != nil {
		return nil, nil, storeErr("find mfa token", err)
	}
	switch {
	case t.ConsumedAt != nil:
		return nil, nil, errMFAToken
	case s.spent(t.Attempts):
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
		return fieldError("factor", "must be email or webauthn")
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
	if s.outbox == nil || !*s.cfg.Email {
		return errNoMail
	}
	// Its own budget: the sign-in code that may have come a moment ago
	// must not hold this one back.
	if err := s.allowMessage(ctx, sendLimit{s.sendLimit, "mfa-mail:" + u.Email, errMFASentRecently}); err != nil {
		return err
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
	if err := s.setMFAEmailCode(ctx, t.ID, s.codeHash(t.ID, code), expires, msg); err != nil {
		return storeErr("store email code", err)
	}
	s.outbox.Wake()
	return nil
}

// MFAInput is the second step of a sign-in.
type MFAInput struct {
	Token  string
	Factor string
	// Code is the code of a totp, email or backup_code factor.
	Code string
	// ChallengeID and Credential are a webauthn factor's: the challenge
	// BeginPasskeySecondFactor made for this token, and the browser's
	// AuthenticationResponseJSON.
	ChallengeID string
	Credential  []byte
}

// SecondFactor proves the second factor of a sign-in that Finish paused
// with an MFA token, and uses the token up; Finish then ends the sign-in
// with both factors' methods (aal2). ch must be the channel the first
// factor was finished on: a sign-in started by a browser ends in a cookie,
// one started by an API client in tokens, never the other way round.
// Every wrong code counts against the token; at Config.OTPMaxAttempts it
// is dead.
func (s *Service) SecondFactor(ctx context.Context, in MFAInput, c Client, ch Channel) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SecondFactor")
	defer func() { end(err) }()
	const flow = "mfa"
	t, u, method, err := s.secondFactor(ctx, in, c, ch)
	if err != nil {
		s.observe(flow, err)
		return nil, err
	}
	return &Proof{
		user: u, methods: append(slices.Clone(t.AMR), method), flow: flow,
		redirectTo: t.RedirectTo, second: true, channel: ch, session: t.SessionID,
	}, nil
}

// secondFactor checks the code of one factor against an MFA token and
// consumes the token; it returns the method the factor proved.
func (s *Service) secondFactor(ctx context.Context, in MFAInput, c Client, ch Channel) (*MFAToken, *User, string, error) {
	var fields []FieldError
	if in.Token == "" {
		fields = append(fields, FieldError{"mfa_token", "is required"})
	}
	if in.Factor != FactorTOTP && in.Factor != FactorEmail && in.Factor != FactorBackupCode && in.Factor != FactorWebAuthn {
		fields = append(fields, FieldError{"factor", "must be totp, email, backup_code or webauthn"})
	}
	code := strings.TrimSpace(in.Code)
	switch {
	case in.Factor == FactorWebAuthn:
		if in.ChallengeID == "" {
			fields = append(fields, FieldError{"challenge_id", "is required"})
		}
		if len(in.Credential) == 0 {
			fields = append(fields, FieldError{"credential", "is required"})
		}
	case code == "":
		fields = append(fields, FieldError{"code", "is required"})
	case len(code) > 32:
		fields = append(fields, FieldError{"code", "must be at most 32 characters"})
	}
	if len(fields) > 0 {
		return nil, nil, "", &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: fields}
	}
	t, u, err := s.mfaToken(ctx, in.Token)
	if err != nil {
		return nil, nil, "", err
	}
	if t.Browser != ch.cookie {
		return nil, nil, "", errMFAToken
	}
	kinds, err := s.factorsFor(ctx, u.ID, t.AMR)
	if err != nil {
		return nil, nil, "", err
	}
	if !slices.Contains(kinds, in.Factor) {
		return nil, nil, "", errNoFactor
	}
	var method string
	var match func(context.Context) (bool, error)
	wrong := errInvalidCode
	switch in.Factor {
	case FactorWebAuthn:
		// A passkey that does not verify is a wrong code like any other:
		// it counts against the token and the account's second-factor
		// limit, so neither a flood of forged assertions nor fresh MFA
		// tokens get an attacker further than a guessed TOTP code would.
		method, wrong = MethodWebAuthn, errPasskeySignIn
		match = func(ctx context.Context) (bool, error) { return s.checkPasskeyFactor(ctx, t, u, in, c) }
	case FactorTOTP:
		method = MethodTOTP
		match = func(ctx context.Context) (bool, error) { return s.checkTOTP(ctx, u.ID, code) }
	case FactorEmail:
		method = MethodEmailCode
		match = func(context.Context) (bool, error) {
			return t.EmailCodeHash != nil && t.EmailCodeExpiresAt != nil && s.now().Before(*t.EmailCodeExpiresAt) &&
				hmac.Equal(s.codeHash(t.ID, code), t.EmailCodeHash), nil
		}
	case FactorBackupCode:
		method = MethodBackupCode
		match = func(ctx context.Context) (bool, error) { return s.useBackupCode(ctx, u, code, c) }
	}
	err = s.tryCode(ctx, attempt{
		count: func(ctx context.Context) (int, error) { return s.mfaTokens.FailMFAToken(ctx, t.ID) },
		match: match,
		// gone: the token was revoked a moment ago.
		gone: errMFAToken, tooMany: errMFATooMany, wrong: wrong,
		guard: guard{user: u, client: c},
	})
	if err != nil {
		return nil, nil, "", err
	}
	used, err := s.mfaTokens.ConsumeMFAToken(ctx, t.ID, s.now())
	if err != nil {
		return nil, nil, "", storeErr("consume mfa token", err)
	}
	if !used {
		return nil, nil, "", errMFAToken
	}
	return t, u, method, nil
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

// matchTOTP returns the time step whose code equals code, comparing each
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

// MFAFactors returns the factors that can finish the sign-in of a live MFA
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
