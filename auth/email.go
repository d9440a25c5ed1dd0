package auth

import (
	"context"
	"errors"
	"strings"
)

var (
	errEmailProven  = fieldError("email", "is already your proven email")
	errEmailTaken   = &Error{Kind: KindEmailTaken, Message: "An account with this email already exists.", Fields: []FieldError{{"email", "is already registered"}}}
	errUnverified   = &Error{Kind: KindEmailUnverified, Message: "Confirm your email before signing in with your password: we have sent you a code and a link."}
	errNotMeWithPwd = fieldError("not_me", "give the password or say it was not you, not both")
)

// RequestEmail sends a code and a link to email so the signed-in user can
// prove it: a new address the account changes to once it is proven, or the
// account's own unproven email again (a resend). Sends count against the
// per-address, per-client and global limits.
func (s *Service) RequestEmail(ctx context.Context, p *Principal, email string) error {
	addr, ferr := emailField("email", email)
	if ferr != nil {
		return ferr
	}
	u, err := s.userByID(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if addr == u.Email && u.EmailVerified {
		return errEmailProven
	}
	if addr != u.Email {
		// Whoever holds an address in another account, proven or not, keeps
		// it: a claim is how a mailbox's owner gets such an account.
		other, err := s.store.UserByEmail(ctx, addr)
		if err == nil && other.ID != u.ID {
			return errEmailTaken
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("find user", err)
		}
	}
	return s.sendEmailProof(ctx, u, addr, true)
}

// sendEmailProof sends a code and link that prove addr for u. The sign-up's
// own message (perAddress false) does not count toward the per-address
// limit: an address signs up once.
func (s *Service) sendEmailProof(ctx context.Context, u *User, addr string, perAddress bool) error {
	if !s.mailOn() {
		return errNoMail
	}
	var own []sendLimit
	if perAddress {
		own = append(own, sendLimit{s.sendLimit, "mail:" + addr, errSentRecently})
	}
	if err := s.allowMessage(ctx, own...); err != nil {
		return err
	}
	return s.issue(ctx, outgoing{
		purpose: PurposeEmail, kind: KindVerifyEmail, address: u.ID, to: addr, target: addr, user: u, link: true,
	})
}

// sendSignUpProof sends a new account's email its proof. The account
// exists either way; a message that cannot go out now (a limit, a store
// hiccup) can be asked for again with RequestEmail.
func (s *Service) sendSignUpProof(ctx context.Context, u *User) {
	if !s.mailOn() {
		return
	}
	if err := s.sendEmailProof(ctx, u, u.Email, false); err != nil && KindOf(err) != KindRateLimited {
		s.log.WarnContext(ctx, "send sign-up email proof", "user_id", u.ID, "err", err)
	}
}

// EmailProof proves an email with the code or link that RequestEmail (or
// the sign-up) sent. Who gives it decides what the proof keeps (see
// ProveEmail).
type EmailProof struct {
	// Code is the emailed code; Token the link's token instead.
	Code  string
	Token string
	// Email and Password name and prove the account without a session
	// (Email is needed with a code only).
	Email    string
	Password string
	// NotMe is the link opened by someone who cannot give the password
	// and says they did not set the account up.
	NotMe bool
}

// EmailProven is what a proof did.
type EmailProven struct {
	// User is the account as it is now; nil when nothing changed (a
	// "this was not me" on a change of address).
	User *User
	// Proof is set when the proof signs in (the link with the password,
	// or "this was not me"): Finish it.
	Proof *Proof
	// Claimed is set when the proof took the account over: it removed a
	// password, second factors, another address or sessions someone set up
	// without proving the address.
	Claimed bool
}

// ProveEmail checks in's code or link and records the email proven. A
// proof keeps what the account has only when it comes from someone who
// already holds it: a session of the account (p), or the account's
// password. Without them, a link may say "this was not me": on the
// sign-up's own address that is the first proof of a never-proven address
// and claims the account (docs/security.md, "Proving an address, and
// claiming an account"); on a change of address nothing changes, as the
// address was never the account's.
func (s *Service) ProveEmail(ctx context.Context, p *Principal, in EmailProof) (*EmailProven, error) {
	const flow = "email"
	c := ClientFrom(ctx)
	if in.NotMe && in.Password != "" {
		return nil, errNotMeWithPwd
	}
	if in.Token != "" {
		return s.proveEmailLink(ctx, p, in, c)
	}
	code := strings.TrimSpace(in.Code)
	codeErr := codeField(code, s.cfg.OTPLength)
	// The account: the session's, or the one the password proves.
	// keepEmail reads it as it is when the code is right.
	var userID string
	if p != nil {
		if codeErr != nil {
			return nil, codeErr
		}
		userID = p.User.ID
	} else {
		// passwordUser reports the code's error beside the email's and
		// the password's, before anything is counted.
		addr, ferr := emailField("email", in.Email)
		u, err := s.passwordUser(ctx, addr, collect(ferr, codeErr), in.Password, c, s.store.UserByEmail)
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	ch, err := s.checkCode(ctx, PurposeEmail, userID, code, guard{client: c})
	if err != nil {
		s.observe(flow, err)
		return nil, err
	}
	u, err := s.keepEmail(ctx, userID, ch.Target)
	if err != nil {
		return nil, err
	}
	return &EmailProven{User: u}, nil
}

// proveEmailLink is ProveEmail for a link: the session, the password or
// "this was not me" is looked at before the link is used, so a wrong
// password leaves the link for another try.
func (s *Service) proveEmailLink(ctx context.Context, p *Principal, in EmailProof, c Client) (*EmailProven, error) {
	info, err := s.Link(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	if info == nil || info.Purpose != PurposeEmail {
		return nil, errInvalidLink
	}
	holder := p != nil && p.User.ID == info.UserID
	var pwd *User
	switch {
	case holder:
	case in.Password != "":
		u, err := s.userByID(ctx, info.UserID)
		if err != nil {
			return nil, errInvalidLink
		}
		// The account just read is the one the password must prove, named
		// by its own identifier, so the throttle counts this account's
		// password guesses wherever they come from.
		if pwd, err = s.passwordUser(ctx, u.Email, nil, in.Password, c, func(context.Context, string) (*User, error) {
			return u, nil
		}); err != nil {
			return nil, err
		}
	case !in.NotMe:
		return nil, fieldError("password", "is required (or say it was not you)")
	}
	ch, err := s.checkLink(ctx, PurposeEmail, in.Token)
	if err != nil {
		return nil, err
	}
	if holder || pwd != nil {
		u, err := s.keepEmail(ctx, ch.UserID, ch.Target)
		if err != nil || holder {
			return &EmailProven{User: u}, err
		}
		return &EmailProven{User: u, Proof: &Proof{user: u, methods: []string{MethodPassword, MethodLink}, flow: "email"}}, nil
	}
	return s.notMe(ctx, ch)
}

// notMe is "this was not me" on a link: the first proof of the sign-up's
// own address by someone who does not hold the account.
func (s *Service) notMe(ctx context.Context, ch *Challenge) (*EmailProven, error) {
	u, err := s.userByID(ctx, ch.UserID)
	if err != nil {
		return nil, errInvalidLink
	}
	if u.Email != ch.Target {
		// A change of address the account asked for: the address was never
		// the account's, so refusing it leaves everything as it was.
		return &EmailProven{}, nil
	}
	if u.Disabled() {
		return nil, errDisabled
	}
	if u.EmailVerified {
		return &EmailProven{User: u, Proof: &Proof{user: u, methods: []string{MethodLink}, flow: "email"}}, nil
	}
	owner, claimed, err := s.proveFirst(ctx, u, &Challenge{Purpose: PurposeEmail, Address: u.Email}, false)
	if err != nil {
		return nil, err
	}
	if owner == nil {
		// Released from an account someone holds by a proven phone: the
		// mailbox's owner gets a new account, as a sign-in link would.
		if owner, err = s.signUpByProof(ctx, &Challenge{Purpose: PurposeSignIn, Address: ch.Target}, false); err != nil {
			return &EmailProven{}, nil
		}
	}
	return &EmailProven{User: owner, Proof: &Proof{user: owner, methods: []string{MethodLink}, flow: "email"}, Claimed: claimed}, nil
}

// keepEmail records target as the proven email of the account userID: the
// holder of the account proved it, so everything else stays.
func (s *Service) keepEmail(ctx context.Context, userID, target string) (*User, error) {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Email == target && u.EmailVerified {
		return u, nil
	}
	event := AuditEmailVerified
	if u.Email != target {
		event = AuditEmailChanged
	}
	u.Email, u.EmailVerified, u.UpdatedAt = target, true, s.now()
	if err := s.store.UpdateUser(ctx, u); errors.Is(err, ErrEmailTaken) {
		return nil, errEmailTaken // another account took it a moment ago
	} else if err != nil {
		return nil, storeErr("save email", err)
	}
	s.forgetUser(ctx, u.ID)
	s.audit(ctx, u.ID, event, ClientFrom(ctx), "")
	return u, nil
}

// LinkInfo is what a link is for, read without using it up.
type LinkInfo struct {
	Purpose string
	// UserID is the account it was sent for ("" for an address without
	// one); Address is the email it proves (PurposeEmail) or was sent to.
	UserID  string
	Address string
}

// Link returns what a live link token is for, without consuming it, so
// the page a link opens can show the right form; nil for a token that is
// unknown, used or expired.
func (s *Service) Link(ctx context.Context, token string) (*LinkInfo, error) {
	ch, err := s.linkByToken(ctx, token)
	if err != nil || ch == nil || ch.ConsumedAt != nil || !s.now().Before(ch.LinkExpiresAt) {
		return nil, err
	}
	addr := ch.Address
	if ch.Target != "" {
		addr = ch.Target
	}
	return &LinkInfo{Purpose: ch.Purpose, UserID: ch.UserID, Address: addr}, nil
}
