package auth

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Enrolment and removal of second factors by the signed-in user.

// requireFactors answers errFactorsOff when second factors are not wired.
func (s *Service) requireFactors() error {
	if s.factors == nil {
		return errFactorsOff
	}
	return nil
}

// requireAAL2IfProtected refuses an aal1 session when the user has a
// second factor on: whoever changes factors must have passed one.
func (s *Service) requireAAL2IfProtected(ctx context.Context, p *Principal) error {
	kinds, err := s.onFactors(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if len(kinds) > 0 && p.Session.AAL != AAL2 {
		return errNeedAAL2
	}
	return nil
}

// TOTPEnrolment is a started authenticator set-up: the secret to type in,
// or the otpauth URL to show as a QR code.
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// EnrollTOTP starts (or restarts) authenticator set-up. The factor does
// nothing until ConfirmTOTP proves the app produces codes.
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal, c Client) (*TOTPEnrolment, error) {
	if err := s.requireFactors(); err != nil {
		return nil, err
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return nil, err
	}
	if f, err := s.factor(ctx, p.User.ID, FactorTOTP, true); err != nil {
		return nil, err
	} else if f != nil {
		return nil, errTOTPExists
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.AppName, AccountName: accountName(&p.User), Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: generate totp key: %w", err)
	}
	sealed, err := s.sealer.Seal(totpSealPurpose, []byte(key.Secret()))
	if err != nil {
		return nil, fmt.Errorf("auth: seal totp secret: %w", err)
	}
	f := &Factor{ID: newID(), UserID: p.User.ID, Kind: FactorTOTP, Secret: sealed, CreatedAt: s.now()}
	if err := s.factors.PutFactor(ctx, f); errors.Is(err, ErrFactorExists) {
		return nil, errTOTPExists
	} else if err != nil {
		return nil, storeErr("store factor", err)
	}
	return &TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP turns the pending authenticator on with a code from it and
// answers ten fresh backup codes, shown this once.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, c Client) ([]string, error) {
	if err := s.requireFactors(); err != nil {
		return nil, err
	}
	if ferr := codeField(code, 6); ferr != nil {
		return nil, ferr
	}
	// Confirming adds a factor (and new backup codes): once another factor
	// is on, that takes aal2, as starting the enrolment does.
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return nil, err
	}
	f, err := s.factor(ctx, p.User.ID, FactorTOTP, false)
	if err != nil {
		return nil, err
	}
	if f == nil || !s.now().Before(f.CreatedAt.Add(enrolTTL)) {
		return nil, errNoEnrolment
	}
	step, ok, err := s.matchTOTP(f, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Kind: KindInvalidCode, Message: "The code is not correct; check the app's clock and try the next code.", Fields: []FieldError{{"code", "is not correct"}}}
	}
	codes, hashes, err := s.newBackupCodes(p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := s.factors.ConfirmFactor(ctx, f.ID, step, s.now(), hashes); errors.Is(err, ErrNotFound) {
		return nil, errNoEnrolment
	} else if err != nil {
		return nil, storeErr("confirm factor", err)
	}
	s.audit(ctx, p.User.ID, "factor_added", c, FactorTOTP)
	return codes, nil
}

// TOTPURL answers the otpauth URL of the confirmed authenticator again, to
// show its QR code: only to an aal2 session under 10 minutes old, since it
// reveals the secret.
func (s *Service) TOTPURL(ctx context.Context, p *Principal) (string, error) {
	if err := s.requireFactors(); err != nil {
		return "", err
	}
	if p.Session.AAL != AAL2 {
		return "", errNeedAAL2
	}
	if s.now().Sub(p.Session.CreatedAt) >= qrMaxSessionAge {
		return "", errQRTooLate
	}
	f, err := s.factor(ctx, p.User.ID, FactorTOTP, true)
	if err != nil {
		return "", err
	}
	if f == nil {
		return "", &Error{Kind: KindNotFound, Message: "No authenticator app is set up."}
	}
	secret, err := s.sealer.Open(totpSealPurpose, f.Secret)
	if err != nil {
		return "", fmt.Errorf("auth: open totp secret: %w", err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		return "", fmt.Errorf("auth: decode totp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.AppName, AccountName: accountName(&p.User), Period: totpPeriod, Secret: raw,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", fmt.Errorf("auth: totp url: %w", err)
	}
	return key.URL(), nil
}

// RemoveFactor turns a second factor off; it needs an aal2 session. When
// the last factor goes, the backup codes go with it.
func (s *Service) RemoveFactor(ctx context.Context, p *Principal, kind string, c Client) error {
	if err := s.requireFactors(); err != nil {
		return err
	}
	if p.Session.AAL != AAL2 {
		return errNeedAAL2
	}
	if err := s.factors.DeleteFactor(ctx, p.User.ID, kind); errors.Is(err, ErrNotFound) {
		return &Error{Kind: KindNotFound, Message: "That second factor is not set up."}
	} else if err != nil {
		return storeErr("delete factor", err)
	}
	s.audit(ctx, p.User.ID, "factor_removed", c, kind)
	kinds, err := s.onFactors(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if len(kinds) == 0 {
		if err := s.factors.ReplaceBackupCodes(ctx, p.User.ID, nil); err != nil {
			return storeErr("delete backup codes", err)
		}
	}
	return nil
}

// EnableEmailFactor makes emailed codes a second factor. The first factor
// a user turns on also gets backup codes, answered here once (nil when the
// user had a factor already).
func (s *Service) EnableEmailFactor(ctx context.Context, p *Principal, c Client) ([]string, error) {
	if err := s.requireFactors(); err != nil {
		return nil, err
	}
	if s.outbox == nil || !*s.cfg.Email {
		return nil, errNoMail
	}
	if p.User.Email == "" {
		return nil, errNoEmail
	}
	if err := s.requireAAL2IfProtected(ctx, p); err != nil {
		return nil, err
	}
	f := &Factor{ID: newID(), UserID: p.User.ID, Kind: FactorEmail, CreatedAt: s.now()}
	if err := s.factors.PutFactor(ctx, f); errors.Is(err, ErrFactorExists) {
		return nil, errEmailFactorSet
	} else if err != nil {
		return nil, storeErr("store factor", err)
	}
	var codes []string
	var hashes [][]byte
	left, err := s.factors.BackupCodesLeft(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("count backup codes", err)
	}
	if left == 0 {
		if codes, hashes, err = s.newBackupCodes(p.User.ID); err != nil {
			return nil, err
		}
	}
	if err := s.factors.ConfirmFactor(ctx, f.ID, 0, s.now(), hashes); err != nil {
		return nil, storeErr("confirm factor", err)
	}
	s.audit(ctx, p.User.ID, "factor_added", c, FactorEmail)
	return codes, nil
}

// NewBackupCodes replaces the user's backup codes (the old ones die) and
// answers the new ones, shown this once. It needs a factor on and aal2.
func (s *Service) NewBackupCodes(ctx context.Context, p *Principal, c Client) ([]string, error) {
	if err := s.requireFactors(); err != nil {
		return nil, err
	}
	kinds, err := s.onFactors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		return nil, &Error{Kind: KindInvalidRequest, Message: "Turn on a second factor first: backup codes stand in for one."}
	}
	if p.Session.AAL != AAL2 {
		return nil, errNeedAAL2
	}
	codes, hashes, err := s.newBackupCodes(p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := s.factors.ReplaceBackupCodes(ctx, p.User.ID, hashes); err != nil {
		return nil, storeErr("replace backup codes", err)
	}
	s.audit(ctx, p.User.ID, "backup_codes_replaced", c, "")
	return codes, nil
}

// accountName is how an authenticator app labels the account: its email,
// or its phone when it has none (the otpauth URL needs one).
func accountName(u *User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Phone
}
