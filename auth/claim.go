package auth

import (
	"context"
	"errors"
	"slices"
)

// Audit events of proving an address (docs/security.md, "Claiming an
// account").
const (
	// AuditAccountClaimed: the first proof of a never-proven address took
	// the account over; the detail names the address kind (email, phone).
	AuditAccountClaimed = "account_claimed"
	// AuditAddressReleased: an account that someone holds by another,
	// proven address lost an address it never proved to the person who
	// proved it.
	AuditAddressReleased = "address_released"
	// AuditEmailVerified: the holder of the account proved its email.
	AuditEmailVerified = "email_verified"
	// AuditEmailChanged: the holder of the account proved a new email.
	AuditEmailChanged = "email_changed"
)

var errClaimRace = &Error{Kind: KindInvalidCredentials, Message: "The account's password changed while you were signing in; sign in again."}

// errPasskeyGone refuses a passkey sign-in whose passkey was removed (by
// a claim, a reset or its owner) while it was finishing.
var errPasskeyGone = &Error{Kind: KindInvalidCredentials, Message: "The passkey was removed while you were signing in; sign in again."}

// proveFirst handles the first proof of the address ch proves for u, who
// has it but never proved it, and returns the account the proof signs in
// to (nil: none, the proof goes on as for an address with no account),
// and whether it took the account over.
//
// Nobody can tell the person proving the address from whoever typed it
// in: a victim proving their own mailbox and an attacker who signed up
// with it beforehand ("pre-hijacking") look the same. So the proof keeps
// nothing anyone set up without proving the address, unless it comes
// from someone who already holds the account (ProveEmail's session or
// password, or the sign-up's own code).
func (s *Service) proveFirst(ctx context.Context, u *User, ch *Challenge, byPhone bool) (*User, bool, error) {
	switch {
	case ch.SignUp:
		// The code the sign-up sent a moment ago: the person who set the
		// account up typed the number, and only its holder reads the code.
		return u, false, s.markProven(ctx, u, byPhone)
	case provenOther(u, byPhone):
		// Someone holds the account by an address they proved; the one
		// proving this address now may be someone else, so the address
		// leaves that account (its holder only typed it in) instead of
		// either person losing anything.
		return nil, false, s.releaseAddress(ctx, u, byPhone)
	}
	claimed, err := s.claim(ctx, u, byPhone)
	return u, claimed, err
}

// provenOther reports whether u holds another address than the one being
// proven (a phone when byPhone is false, else an email) and has proven it.
func provenOther(u *User, byPhone bool) bool {
	if byPhone {
		return u.Email != "" && u.EmailVerified
	}
	return u.Phone != "" && u.PhoneVerified
}

// markProven records that u's email (or phone) is proven.
func (s *Service) markProven(ctx context.Context, u *User, byPhone bool) error {
	if byPhone {
		u.PhoneVerified = true
	} else {
		u.EmailVerified = true
	}
	u.UpdatedAt = s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return storeErr("verify address", err)
	}
	s.forgetUser(ctx, u.ID)
	return nil
}

// releaseAddress takes the never-proven email (or phone) off u.
func (s *Service) releaseAddress(ctx context.Context, u *User, byPhone bool) error {
	kind := "email"
	if byPhone {
		u.Phone, u.PhoneVerified, kind = "", false, "phone"
	} else {
		u.Email, u.EmailVerified = "", false
	}
	u.UpdatedAt = s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return storeErr("release address", err)
	}
	s.forgetUser(ctx, u.ID)
	s.audit(ctx, u.ID, AuditAddressReleased, ClientFrom(ctx), kind)
	return nil
}

// claim hands u to the person who has just proven its email (or phone)
// for the first time: whatever was set up without that proof goes — the
// password, every second factor, every linked provider identity, the
// other address (never proven, or
// proveFirst would have released this one instead), every session, refresh
// token and sign-in halfway through its second factor. An account with
// nothing of the kind just gets the address proven; claimed says which.
func (s *Service) claim(ctx context.Context, u *User, byPhone bool) (claimed bool, err error) {
	factors, err := s.hasFactorData(ctx, u)
	if err != nil {
		return false, err
	}
	other := u.Phone
	if byPhone {
		other = u.Email
	}
	// An identity linked without proving the address (by whoever set the
	// account up, to their own provider account) is a way back in too.
	idents, err := s.hasIdentity(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if !u.HasPassword() && !factors && !idents && other == "" {
		return false, s.markProven(ctx, u, byPhone)
	}
	// The password goes first: a password sign-in already past its check
	// when this runs makes its session after the sessions below are
	// revoked, and Finish then finds the password changed (stillHeld) and
	// ends that session itself.
	if u.HasPassword() {
		if err := s.store.SetPasswordHash(ctx, u.ID, "", s.now()); err != nil {
			return false, storeErr("remove password", err)
		}
		u.PasswordHash = ""
	}
	if factors {
		if err := s.dropFactors(ctx, u.ID); err != nil {
			return false, err
		}
	}
	u.NoFactors = true
	if idents {
		if err := s.dropIdentities(ctx, u.ID); err != nil {
			return false, err
		}
	}
	kind := "email"
	if byPhone {
		u.Email, u.EmailVerified, kind = "", false, "phone"
	} else {
		u.Phone, u.PhoneVerified = "", false
	}
	if err := s.markProven(ctx, u, byPhone); err != nil {
		return false, err
	}
	if err := s.revokeUser(ctx, u.ID, ""); err != nil {
		return false, err
	}
	_ = s.throttle.Reset(ctx, accountKey(u.ID))
	s.audit(ctx, u.ID, AuditAccountClaimed, ClientFrom(ctx), kind)
	s.obs.AccountClaimed()
	s.log.InfoContext(ctx, "account claimed by the first proof of its address", "user_id", u.ID, "address", kind)
	return true, nil
}

// hasFactorData reports whether u has any second factor, confirmed or
// being set up, backup codes, or a passkey: a passkey someone added
// without proving the address is as much a way back in as a password.
func (s *Service) hasFactorData(ctx context.Context, u *User) (bool, error) {
	if s.factors == nil || u.NoFactors {
		// NoFactors is filled in by a store that looked for confirmed
		// factors and passkeys; an enrolment in progress is dropped with
		// the session that started it, and cannot be confirmed without
		// one.
		return false, nil
	}
	if has, err := s.hasPasskey(ctx, u.ID); err != nil || has {
		return has, err
	}
	list, err := s.factors.Factors(ctx, u.ID)
	if err != nil {
		return false, storeErr("list factors", err)
	}
	if len(list) > 0 {
		return true, nil
	}
	left, err := s.factors.BackupCodesLeft(ctx, u.ID)
	if err != nil {
		return false, storeErr("count backup codes", err)
	}
	return left > 0, nil
}

// dropFactors removes every second factor, backup code and passkey of a
// user (what the first proof of an address and an admin's reset take
// away: a passkey is a second factor and a way to sign in on its own).
func (s *Service) dropFactors(ctx context.Context, userID string) error {
	if err := s.dropPasskeys(ctx, userID); err != nil {
		return err
	}
	fs, err := s.factors.Factors(ctx, userID)
	if err != nil {
		return storeErr("list factors", err)
	}
	for _, f := range fs {
		// ErrNotFound: a concurrent reset removed it a moment ago.
		if err := s.factors.DeleteFactor(ctx, userID, f.Kind); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("delete factor", err)
		}
	}
	if err := s.factors.ReplaceBackupCodes(ctx, userID, nil); err != nil {
		return storeErr("delete backup codes", err)
	}
	return nil
}

// stillHeld ends sess and refuses the sign-in when p proved a password
// that is no longer the account's, or used a passkey or a linked identity
// that is no longer the account's: a claim, a recovery, a password change or the passkey's
// removal ran while this sign-in was between its check and its session,
// after the sessions that existed were revoked.
func (s *Service) stillHeld(ctx context.Context, p *Proof, sess *Session) error {
	byPassword := slices.Contains(p.methods, MethodPassword)
	if !byPassword && p.passkey == nil && p.identity == "" {
		return nil
	}
	held, err := s.holds(ctx, p, byPassword)
	if held {
		return nil
	}
	if rerr := s.revoke(ctx, sess.ID); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	switch {
	case byPassword:
		return errClaimRace
	case p.identity != "":
		return errIdentityGone
	}
	return errPasskeyGone
}

// holds reports whether the account still has what p proved: its
// password (byPassword) and the passkey it used.
func (s *Service) holds(ctx context.Context, p *Proof, byPassword bool) (bool, error) {
	if byPassword {
		now, err := s.store.UserByID(ctx, p.user.ID)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, storeErr("find user", err)
		}
		if now.PasswordHash != p.user.PasswordHash || now.PasswordHash == "" {
			return false, nil
		}
	}
	if p.passkey != nil {
		pk, err := s.passkeys.PasskeyByID(ctx, p.passkey)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, storeErr("find passkey", err)
		}
		if pk.UserID != p.user.ID {
			return false, nil
		}
	}
	if p.identity != "" {
		return s.holdsIdentity(ctx, p.user.ID, p.identity)
	}
	return true, nil
}

// dropPasskeys removes every passkey of a user (none when passkeys are
// off).
func (s *Service) dropPasskeys(ctx context.Context, userID string) error {
	if s.passkeysOn() != nil {
		return nil
	}
	list, err := s.passkeys.Passkeys(ctx, userID)
	if err != nil {
		return storeErr("list passkeys", err)
	}
	for _, p := range list {
		// ErrNotFound: removed a moment ago by its owner or a reset.
		if err := s.passkeys.DeletePasskey(ctx, userID, p.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("delete passkey", err)
		}
	}
	return nil
}
