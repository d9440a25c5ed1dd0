package auth

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Enrolment and removal of second factors by the signed-in user, and the
// backup codes that come with them.

const (
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

// Sealer seals secrets at rest (seal.Box satisfies it).
type Sealer interface {
	Seal(purpose string, plaintext []byte) ([]byte, error)
	Open(purpose string, sealed []byte) ([]byte, error)
}

// requireFactors returns errFactorsOff when second factors are not wired.
func (s *Service) requireFactors() error {
	if s.factors == nil {
		return errFactorsOff
	}
	return nil
}

// requireAAL2IfProtected refuses an aal1 session when the user has a
// second factor on (a passkey is one): whoever changes factors, passkeys
// included, must have passed one, or a stolen aal1 session could add an
// authenticator of the thief's or remove the owner's.
func (s *Service) requireAAL2IfProtected(ctx context.Context, p *Principal) error {
	if p.Session.AAL == AAL2 || s.factors == nil {
		return nil // nothing to look up: passed already, or no factor can be on
	}
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
// returns ten fresh backup codes, shown this once.
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

// TOTPURL returns the otpauth URL of the confirmed authenticator again, to
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
// a user turns on also gets backup codes, returned here once (nil when the
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
// returns the new ones, shown this once. It needs a factor on and aal2.
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

// Factors returns the second factors the principal has on, and how many
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

// factor returns the user's factor of kind (confirmed or the pending
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

// newBackupCodes returns n codes formatted xxxx-xxxx-xx and their hashes.
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
