package auth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/phone"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// SignUpInput is a new account: an email, a phone or both. Password is
// optional (passwordless account).
type SignUpInput struct {
	Email    string
	Phone    string
	Password string
	Name     string
	// EmailVerified and PhoneVerified are honoured only from the admin API.
	EmailVerified bool
	PhoneVerified bool
	// SendCode sends the sign-up's own messages (public sign-up): a
	// sign-in code by SMS to the new phone, which proves it, and, when the
	// account has a password or a phone beside its email, a code and link
	// to prove the email (an email-only passwordless account proves it by
	// signing in). The number must then be one codes may go to, and
	// without SMS the sign-up returns unavailable before creating
	// anything.
	SendCode bool
}

// SignUp creates an account. It returns email_taken for a known address
// (docs/contract.md chooses a clear 409 over enumeration safety for
// sign-up).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (_ *User, err error) {
	ctx, end := tracing.Start(ctx, "auth.SignUp")
	defer func() { end(err) }()
	method := "passwordless"
	if in.Password != "" {
		method = "password"
	}
	u, err := s.signUp(ctx, in)
	s.observeSignUp(method, err)
	return u, err
}

func (s *Service) signUp(ctx context.Context, in SignUpInput) (*User, error) {
	var email string
	var emailErr, phoneErr, passwordErr *Error
	if in.Email != "" || in.Phone == "" {
		email, emailErr = emailField("email", in.Email)
	}
	var number phone.Number
	if in.Phone != "" {
		number, phoneErr = s.phoneField("phone", in.Phone, in.SendCode)
	}
	name, nameErr := nameField(in.Name)
	if in.Password != "" {
		passwordErr = s.checkPassword("password", in.Password)
	}
	if ferr := collect(emailErr, phoneErr, nameErr, passwordErr); ferr != nil {
		return nil, ferr
	}
	sendCode := in.SendCode && number.E164 != ""
	if sendCode && !s.smsOn() {
		return nil, errNoSMS
	}
	var hash string
	if in.Password != "" {
		// Hash before touching the store: never hold a transaction or a
		// connection for the length of an argon2id run.
		h, err := s.hasher.Hash(ctx, in.Password)
		if err != nil {
			return nil, hashErr(err)
		}
		hash = h
	}
	now := s.now()
	u := &User{
		ID: newID(), Email: email, EmailVerified: in.EmailVerified && email != "",
		Phone: number.E164, PhoneVerified: in.PhoneVerified && number.E164 != "",
		Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		switch {
		case errors.Is(err, ErrEmailTaken):
			return nil, errEmailTaken
		case errors.Is(err, ErrPhoneTaken):
			return nil, errPhoneTaken
		}
		return nil, storeErr("create user", err)
	}
	if sendCode {
		s.sendSignUpCode(ctx, u, number)
	}
	if in.SendCode && email != "" && !u.EmailVerified && (hash != "" || number.E164 != "") {
		s.sendSignUpProof(ctx, u)
	}
	return u, nil
}
