package auth

import (
	"context"
	"errors"
	"slices"
)

// A passkey as the second step of a sign-in: after a password or a code,
// the user's passkey finishes it at aal2, as an authenticator app does.
// The ceremony is bound to the MFA token that began it (CeremonyMFA with
// the token's ID in Ceremony.MFATokenID), so it finishes that token's
// second step only: not another token's, and not a sign-in.

// hasPasskey reports whether the user has a passkey (false when passkeys
// are off).
func (s *Service) hasPasskey(ctx context.Context, userID string) (bool, error) {
	if s.passkeysOn() != nil {
		return false, nil
	}
	list, err := s.passkeys.Passkeys(ctx, userID)
	if err != nil {
		return false, storeErr("list passkeys", err)
	}
	return len(list) > 0, nil
}

// BeginPasskeySecondFactor starts a passkey as the second step of the
// sign-in paused with mfaToken: it returns the challenge_id to send back
// with the credential (MFAInput) and the
// PublicKeyCredentialRequestOptionsJSON, whose allowCredentials are the
// user's passkeys. User verification is only preferred: the first factor
// is proven already, and holding the passkey is the second.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (challengeID string, optionsJSON []byte, err error) {
	if err := s.passkeysOn(); err != nil {
		return "", nil, err
	}
	t, u, err := s.mfaToken(ctx, mfaToken)
	if err != nil {
		return "", nil, err
	}
	kinds, err := s.factorsFor(ctx, u.ID, t.AMR)
	if err != nil {
		return "", nil, err
	}
	if !slices.Contains(kinds, FactorWebAuthn) {
		return "", nil, errNoFactor
	}
	if err := s.allowCeremony(ctx); err != nil {
		return "", nil, err
	}
	list, err := s.passkeys.Passkeys(ctx, u.ID)
	if err != nil {
		return "", nil, storeErr("list passkeys", err)
	}
	if len(list) == 0 {
		return "", nil, errNoFactor // removed since factorsFor looked
	}
	optionsJSON, data, err := s.rp.BeginSecondFactor(list)
	if err != nil {
		return "", nil, err
	}
	id, err := s.putCeremony(ctx, Ceremony{Purpose: CeremonyMFA, UserID: u.ID, MFATokenID: t.ID, Data: data})
	if err != nil {
		return "", nil, err
	}
	return id, optionsJSON, nil
}

// checkPasskeyFactor is the match of a webauthn second step (secondFactor
// counted the try already): the ceremony must be this token's and is used
// up whatever the outcome, the credential one of the token's user's
// passkeys, and its signature counter must go forwards. Every refusal is
// a wrong answer (false), counted like a wrong code; only the server's
// own failures are errors.
func (s *Service) checkPasskeyFactor(ctx context.Context, t *MFAToken, u *User, in MFAInput, c Client) (bool, error) {
	if s.passkeysOn() != nil || len(in.ChallengeID) > 128 {
		return false, nil
	}
	cer, err := s.ceremonies.TakeCeremony(ctx, in.ChallengeID, CeremonyMFA, s.now())
	if errors.Is(err, ErrNotFound) {
		return false, nil // used, expired, or not a second step's ceremony
	} else if err != nil {
		return false, storeErr("take ceremony", err)
	}
	if cer.MFATokenID != t.ID || cer.UserID != u.ID {
		return false, nil // another sign-in's second step
	}
	lookup := func(handle, _ []byte) (User, []Passkey, error) {
		if string(handle) != u.ID {
			return User{}, nil, ErrNotFound
		}
		list, err := s.passkeys.Passkeys(ctx, u.ID)
		if err != nil {
			return User{}, nil, err
		}
		return *u, list, nil
	}
	_, used, _, err := s.rp.FinishLogin(cer.Data, in.Credential, lookup)
	switch {
	case errors.Is(err, ErrPasskeyCounter):
		s.counterRegressed(ctx, u.ID, used, c)
		return false, nil
	case errors.Is(err, ErrPasskeyInvalid) || errors.Is(err, ErrPasskeyUnknown):
		return false, nil
	case err != nil:
		return false, storeErr("finish passkey second factor", err)
	}
	return s.usePasskey(ctx, u.ID, used, c)
}
