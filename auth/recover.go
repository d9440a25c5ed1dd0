package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/tracing"
)

// Recover sends a password-reset code and link. Like RequestCode it
// returns the same for every address; only existing, enabled accounts get
// a message.
func (s *Service) Recover(ctx context.Context, email string) (err error) {
	ctx, end := tracing.Start(ctx, "auth.Recover")
	defer func() { end(err) }()
	addr, ferr := emailField("email", email)
	if ferr != nil {
		return ferr
	}
	return s.sendChallenge(ctx, PurposeRecovery, KindRecovery, addr, "", false)
}

// RecoverInput resets a password with the emailed code (and the email) or
// the link's token.
type RecoverInput struct {
	Email       string
	Code        string
	Token       string
	NewPassword string
}

// ResetPassword sets a new password after the emailed code or link (from
// Recover) proves the mailbox, and ends every session of the account;
// Finish then signs in, in a browser or for an API client. The proof's
// method is the code's or the link's.
func (s *Service) ResetPassword(ctx context.Context, in RecoverInput) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.ResetPassword")
	defer func() { end(err) }()
	const flow = "recovery"
	ch, err := s.recoveryCheck(ctx, in)
	if err != nil {
		// A bad request is not a failed recovery; a wrong, used or
		// expired code or link is.
		if k := KindOf(err); k != KindInvalidRequest && k != KindWeakPassword {
			s.observe(flow, err)
		}
		return nil, err
	}
	u, err := s.setRecoveredPassword(ctx, ch, in.NewPassword)
	if err != nil {
		s.observe(flow, err)
		return nil, err
	}
	method := MethodOTP
	if in.Token != "" {
		method = MethodLink
	}
	return &Proof{user: u, methods: []string{method}, flow: flow}, nil
}

// recoveryCheck checks the new password and consumes the recovery
// challenge that in's code (with its email) or link token proves.
func (s *Service) recoveryCheck(ctx context.Context, in RecoverInput) (*Challenge, error) {
	perr := fieldError("new_password", "is required")
	if in.NewPassword != "" {
		perr = s.checkPassword("new_password", in.NewPassword)
	}
	if in.Token != "" {
		if perr != nil {
			return nil, perr
		}
		return s.checkLink(ctx, PurposeRecovery, in.Token)
	}
	addr, emailErr := emailField("email", in.Email)
	if ferr := collect(emailErr, codeField(strings.TrimSpace(in.Code), s.cfg.OTPLength), perr); ferr != nil {
		return nil, ferr
	}
	return s.checkCode(ctx, PurposeRecovery, addr, strings.TrimSpace(in.Code), guard{client: ClientFrom(ctx)})
}

// setRecoveredPassword sets the password of the account a recovery
// challenge proves and ends every session it had.
func (s *Service) setRecoveredPassword(ctx context.Context, ch *Challenge, password string) (*User, error) {
	u, err := s.challengeUser(ctx, ch)
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, hashErr(err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, s.now()); err != nil {
		return nil, storeErr("set password", err)
	}
	u.PasswordHash = hash
	if err := s.revokeUser(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	_ = s.throttle.Reset(ctx, accountKey(u.ID))
	return u, nil
}
