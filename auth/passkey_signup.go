package auth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse/gatehouse/internal/tracing"
)

// Passkey-first sign-up: an account whose only credential is a passkey,
// no password. The begin checks the email as SignUp does and makes the
// account's ID now, since it is the passkey's user handle; the finish
// stores the account and the passkey together and signs in.

var (
	errPasskeySignUpOff = &Error{Kind: KindForbidden, Message: "Sign-up without a password is turned off on this server."}
	errNoSignUpUV       = &Error{Kind: KindInvalidCredential, Message: "The authenticator did not verify you (no PIN, fingerprint or face); a passkey that is an account's only way in must."}
)

// signUpCeremony is the Data of a CeremonySignUp: the account to create
// and the relying party's session data.
type signUpCeremony struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
	RP     []byte `json:"rp"`
}

// BeginPasskeySignUp starts creating an account with a passkey and no
// password: it returns the challenge_id to finish with (SignUpPasskey)
// and the PublicKeyCredentialCreationOptionsJSON, user verification
// required. The email and the profile name are checked as SignUp checks
// them, and a known one is
// email_taken (409) here already, as SignUp answers; the finish checks
// again. Sign-up without a password must be on (Config.PasswordlessSignup,
// which also lets a code create an account).
func (s *Service) BeginPasskeySignUp(ctx context.Context, email, name string) (challengeID string, optionsJSON []byte, err error) {
	if err := s.passkeysOn(); err != nil {
		return "", nil, err
	}
	if !*s.cfg.PasswordlessSignup {
		return "", nil, errPasskeySignUpOff
	}
	addr, emailErr := emailField("email", email)
	name, nameErr := nameField(name)
	if ferr := collect(emailErr, nameErr); ferr != nil {
		return "", nil, ferr
	}
	if err := s.allowCeremony(ctx); err != nil {
		return "", nil, err
	}
	switch _, err := s.store.UserByEmail(ctx, addr); {
	case err == nil:
		return "", nil, errEmailTaken
	case !errors.Is(err, ErrNotFound):
		return "", nil, storeErr("find user", err)
	}
	u := User{ID: newID(), Email: addr, Name: name}
	optionsJSON, rpData, err := s.rp.BeginSignUp(u)
	if err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(signUpCeremony{UserID: u.ID, Email: addr, Name: name, RP: rpData})
	if err != nil {
		return "", nil, err
	}
	id, err := s.putCeremony(ctx, Ceremony{Purpose: CeremonySignUp, Data: data})
	if err != nil {
		return "", nil, err
	}
	return id, optionsJSON, nil
}

// SignUpPasskey finishes a passkey sign-up: it checks the browser's
// RegistrationResponseJSON against the sign-up's challenge (used up,
// whatever the outcome; 400 invalid_credential when it does not verify or
// the authenticator did not verify the user), stores the account (no
// password, its email not proven yet) and the passkey, named name or
// after its authenticator, and returns the proof Finish turns into an
// aal2 session. An email taken meanwhile is email_taken and nothing is
// stored. The email proof goes out as after a password sign-up.
func (s *Service) SignUpPasskey(ctx context.Context, challengeID string, credentialJSON []byte, name string, c Client) (_ *Proof, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignUpPasskey")
	defer func() { end(err) }()
	const flow = "passkey_signup"
	p, err := s.signUpPasskey(ctx, challengeID, credentialJSON, name, c)
	s.observeSignUp("passkey", err)
	if err != nil {
		s.observe(flow, err)
	}
	return p, err
}

func (s *Service) signUpPasskey(ctx context.Context, challengeID string, credentialJSON []byte, name string, c Client) (*Proof, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	if !*s.cfg.PasswordlessSignup {
		return nil, errPasskeySignUpOff
	}
	name, ferr := passkeyName(name, true)
	if ferr != nil {
		return nil, ferr
	}
	if len(credentialJSON) == 0 {
		return nil, fieldError("credential", "is required")
	}
	cer, err := s.takeCeremony(ctx, challengeID, CeremonySignUp, errBadRegistration)
	if err != nil {
		return nil, err
	}
	var sc signUpCeremony
	if err := json.Unmarshal(cer.Data, &sc); err != nil || sc.UserID == "" || sc.Email == "" {
		return nil, errBadRegistration
	}
	now := s.now()
	u := &User{ID: sc.UserID, Email: sc.Email, Name: sc.Name, CreatedAt: now, UpdatedAt: now}
	pk, err := s.rp.FinishRegistration(*u, sc.RP, credentialJSON)
	if errors.Is(err, ErrPasskeyInvalid) || errors.Is(err, ErrPasskeyUnknown) {
		return nil, &Error{Kind: KindInvalidCredential, Message: errBadRegistration.Message, Cause: err}
	} else if err != nil {
		return nil, err
	}
	if !pk.UserVerified {
		// The relying party asked for it and checks it; this is the flow's
		// own rule, kept beside its reason: the passkey is the account's
		// only credential, so it must prove two factors at once.
		return nil, errNoSignUpUV
	}
	pk.UserID, pk.Name, pk.CreatedAt = u.ID, s.namePasskey(name, pk.AAGUID), now
	if err := s.store.CreateUser(ctx, u); errors.Is(err, ErrEmailTaken) {
		return nil, errEmailTaken // another sign-up took it since the begin
	} else if err != nil {
		return nil, storeErr("create user", err)
	}
	if err := s.passkeys.AddPasskey(ctx, pk); err != nil {
		// No half account: one without its passkey has no way in but
		// its email, which its creator may not hold.
		if derr := s.store.DeleteUser(ctx, u.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
			s.log.ErrorContext(ctx, "remove the account of a failed passkey sign-up", "user_id", u.ID, "err", derr)
		}
		if errors.Is(err, ErrPasskeyExists) {
			return nil, ErrPasskeyExists
		}
		return nil, storeErr("add passkey", err)
	}
	s.audit(ctx, u.ID, AuditPasskeyAdded, c, pk.Name)
	s.sendSignUpProof(ctx, u)
	return &Proof{user: u, methods: []string{MethodWebAuthn}, flow: "passkey_signup"}, nil
}
