package auth

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/phone"
)

var (
	errNoSMS          = &Error{Kind: KindUnavailable, Message: "Sign-in by SMS is not configured on this server."}
	errCountryBusy    = &Error{Kind: KindRateLimited, Message: "Too many codes went to numbers in this country recently; try again later."}
	errPhoneTaken     = &Error{Kind: KindPhoneTaken, Message: "An account with this phone already exists.", Fields: []FieldError{{"phone", "is already registered"}}}
	errEmailAndPhone  = &Error{Kind: KindInvalidRequest, Message: "The request is not valid.", Fields: []FieldError{{"phone", "give an email or a phone, not both"}}}
	errLinkNeedsEmail = fieldError("type", "links are sent by email only; a phone gets a code")
)

// AuditPhoneChanged is the audit event of a phone added or changed.
const AuditPhoneChanged = "phone_changed"

// smsOn reports whether SMS delivery is configured.
func (s *Service) smsOn() bool {
	return s.challenges != nil && s.outbox != nil && s.cfg.SMS
}

// phoneField validates and normalises a phone. With sending, the number
// must also be one a code may go to (the country allow-list): it is
// refused as a bad field, before any limit is counted or store read.
func (s *Service) phoneField(field, raw string, sending bool) (phone.Number, *Error) {
	if strings.TrimSpace(raw) == "" {
		return phone.Number{}, fieldError(field, "is required")
	}
	n, err := phone.Parse(raw)
	if err != nil {
		return phone.Number{}, fieldError(field, err.Error())
	}
	if sending && len(s.cfg.SMSRegions) > 0 && !slices.Contains(s.cfg.SMSRegions, n.Region) {
		return phone.Number{}, fieldError(field, "numbers from this country are not accepted")
	}
	return n, nil
}

// sendSMS issues o as a code by SMS to n, within the per-number and
// per-country limits. Both limits count known and unknown numbers alike.
func (s *Service) sendSMS(ctx context.Context, n phone.Number, o outgoing) error {
	if !s.smsOn() {
		return errNoSMS
	}
	if err := s.allowMessage(ctx,
		sendLimit{s.sendLimit, "sms:" + n.E164, errSentRecently},
		sendLimit{s.ccLimit, "cc:" + strconv.Itoa(n.CallingCode), errCountryBusy},
	); err != nil {
		return err
	}
	o.kind, o.to, o.host = KindSMSCode, n.E164, s.host
	return s.issue(ctx, o)
}

// requestSMSCode sends a sign-in code by SMS; like the email form, the
// answer and the work are the same whether or not the number has an
// account.
func (s *Service) requestSMSCode(ctx context.Context, in CodeRequest) error {
	if in.Email != "" {
		return errEmailAndPhone
	}
	if in.Link {
		return errLinkNeedsEmail
	}
	n, ferr := s.phoneField("phone", in.Phone, true)
	if ferr != nil {
		return ferr
	}
	if !s.smsOn() {
		return errNoSMS
	}
	u, err := s.store.UserByPhone(ctx, n.E164)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeErr("find user", err)
	}
	return s.sendSMS(ctx, n, outgoing{purpose: PurposeSignIn, address: n.E164, user: u, signUp: true})
}

// RequestPhoneChange sends a code by SMS to a phone the signed-in user
// wants to add or change to. A number another account has verified is
// refused; one another account only claimed (never verified) is not, as
// whoever proves it first owns it.
func (s *Service) RequestPhoneChange(ctx context.Context, p *Principal, number string) error {
	n, ferr := s.phoneField("phone", number, true)
	if ferr != nil {
		return ferr
	}
	if !s.smsOn() {
		return errNoSMS
	}
	if err := s.phoneHeldElsewhere(ctx, n.E164, p.User.ID); err != nil {
		return err
	}
	u := p.User
	return s.sendSMS(ctx, n, outgoing{purpose: PurposePhone, address: u.ID, target: n.E164, user: &u})
}

// phoneHeldElsewhere returns phone_taken when another account has
// verified the number.
func (s *Service) phoneHeldElsewhere(ctx context.Context, number, userID string) error {
	holder, err := s.otherPhoneHolder(ctx, number, userID)
	if err == nil && holder != nil && holder.PhoneVerified {
		return errPhoneTaken
	}
	return err
}

// otherPhoneHolder returns the account other than userID that has number,
// verified or not, or nil when there is none.
func (s *Service) otherPhoneHolder(ctx context.Context, number, userID string) (*User, error) {
	holder, err := s.store.UserByPhone(ctx, number)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, storeErr("find user", err)
	case holder.ID == userID:
		return nil, nil
	}
	return holder, nil
}

// VerifyPhone saves the phone the last RequestPhoneChange code went to as
// the user's verified phone. An account that only claimed the number
// without verifying it loses it: the person who proved it owns it.
func (s *Service) VerifyPhone(ctx context.Context, p *Principal, code string, c Client) (*User, error) {
	code = strings.TrimSpace(code)
	if ferr := codeField(code, s.cfg.OTPLength); ferr != nil {
		return nil, ferr
	}
	ch, err := s.checkCode(ctx, PurposePhone, p.User.ID, code, guard{client: c})
	if err != nil {
		return nil, err
	}
	if err := s.takePhone(ctx, ch.Target, p.User.ID); err != nil {
		return nil, err
	}
	u, err := s.userByID(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	u.Phone, u.PhoneVerified, u.UpdatedAt = ch.Target, true, s.now()
	if err := s.store.UpdateUser(ctx, u); errors.Is(err, ErrPhoneTaken) {
		return nil, errPhoneTaken // verified elsewhere a moment ago
	} else if err != nil {
		return nil, storeErr("save phone", err)
	}
	s.forgetUser(ctx, u.ID)
	s.audit(ctx, u.ID, AuditPhoneChanged, c, "")
	return u, nil
}

// takePhone clears the way for userID, who has just proven number: it
// returns phone_taken when another account has verified the number, and
// removes it from another account that holds it unverified. One lookup
// serves both.
func (s *Service) takePhone(ctx context.Context, number, userID string) error {
	holder, err := s.otherPhoneHolder(ctx, number, userID)
	switch {
	case err != nil || holder == nil:
		return err
	case holder.PhoneVerified:
		return errPhoneTaken
	}
	holder.Phone, holder.UpdatedAt = "", s.now()
	if err := s.store.UpdateUser(ctx, holder); err != nil {
		return storeErr("release phone", err)
	}
	s.forgetUser(ctx, holder.ID)
	return nil
}

// sendSignUpCode sends a new account's first sign-in code to its phone.
// The account exists either way: a code that cannot go out now (a limit,
// a store hiccup) can be asked for again with RequestCode.
func (s *Service) sendSignUpCode(ctx context.Context, u *User, n phone.Number) {
	err := s.sendSMS(ctx, n, outgoing{purpose: PurposeSignIn, address: n.E164, user: u, first: true})
	if err != nil && KindOf(err) != KindRateLimited {
		s.log.WarnContext(ctx, "send sign-up code", "user_id", u.ID, "err", err)
	}
}
