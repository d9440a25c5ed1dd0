package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/useragent"
)

// The account page is one page of cards. Every form posts to its own
// route; a plain post gets a 303 back to the page (with a notice key,
// never free text, in the URL) or, when something is shown only once
// (backup codes, the authenticator's secret, the phone code step), the
// page itself. An htmx post gets back the card it targeted, plus any other
// card the change affected, swapped out of band.

// Card names: each is its card's element id and its fragment's name.
const (
	cardProfile  = "profile"
	cardPhone    = "phone"
	cardSessions = "sessions"
	cardMFA      = "mfa"
	cardPassword = "password"
	// cardPasskeys ("passkeys") is in passkeys.go.
)

// registerAccount registers the account page (/) and its forms.
func (s *Server) registerAccount() {
	s.mux.HandleFunc("GET /{$}", s.signedIn(s.account))
	for pattern, h := range map[string]func(http.ResponseWriter, *http.Request, *auth.Principal){
		"POST /account/name":                   s.accountName,
		"POST /account/email/verify":           s.accountEmailVerify,
		"POST /account/email/resend":           s.accountEmailResend,
		"POST /account/phone":                  s.accountPhone,
		"POST /account/phone/verify":           s.accountPhoneVerify,
		"POST /account/sessions/{id}/revoke":   s.accountRevoke,
		"POST /account/sessions/others":        s.accountRevokeOthers,
		"POST /account/totp":                   s.accountTOTP,
		"POST /account/totp/confirm":           s.accountTOTPConfirm,
		"POST /account/totp/show":              s.accountTOTPShow,
		"POST /account/totp/remove":            s.accountRemoveFactor(auth.FactorTOTP, "totp_removed"),
		"POST /account/mfa/email/on":           s.accountEmailOn,
		"POST /account/mfa/email/off":          s.accountRemoveFactor(auth.FactorEmail, "email_off"),
		"POST /account/backup-codes":           s.accountBackupCodes,
		"POST /account/password":               s.accountPassword,
		"POST /account/identities/{id}/remove": s.accountUnlink,
	} {
		s.mux.HandleFunc(pattern, s.signedIn(s.accountForm(h)))
	}
}

// accountForm reads a form post (bounded) before its handler runs.
func (s *Server) accountForm(next func(http.ResponseWriter, *http.Request, *auth.Principal)) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.render(w, r, http.StatusBadRequest, "error", errorView{
				Title: "Form not readable", Message: "The form could not be read. Go back to your account page and try again.",
			})
			return
		}
		next(w, r, p)
	}
}

// doneNotices are the notices a plain post's redirect may ask for
// (/?done=KEY), each shown in its card. Only these keys mean anything, so
// nobody can make the page say something of their choosing.
var doneNotices = map[string]struct{ card, text string }{
	"name":       {cardProfile, "Your name was saved."},
	"email":      {cardProfile, "Your email is confirmed."},
	"email_sent": {cardProfile, "We sent a new code and link to your email."},
	"claimed": {cardProfile, "Your email is confirmed, and this account is now yours: " +
		"the password, second factors and sessions someone else set up were removed."},
	"phone":        {cardPhone, "Your phone number is verified and saved."},
	"session":      {cardSessions, "That device was signed out."},
	"others":       {cardSessions, "You were signed out everywhere else."},
	"totp_removed": {cardMFA, "The authenticator app was removed."},
	"email_on":     {cardMFA, "Email codes are on as a second step."},
	"email_off":    {cardMFA, "Email codes are off."},
	"password":     {cardPassword, "Your password was changed, and every other device was signed out."},
	"password_set": {cardPassword, "Your password was set, and every other device was signed out."},
	"passkey_added": {cardPasskeys, "Your passkey was added. Next time, sign in with it: " +
		"choose “Sign in with a passkey”, or pick it when your browser offers it in the email field."},
	"passkey_renamed":  {cardPasskeys, "The passkey was renamed."},
	"identity_linked":  {cardIdentities, "The sign-in method was linked: you can now sign in with it."},
	"identity_removed": {cardIdentities, "The sign-in method was unlinked: it no longer signs you in."},
	"passkey_removed":  {cardPasskeys, "The passkey was removed. Remember to delete it from your device or password manager too."},
}

// needAAL2 explains a change refused to a session that did not pass a
// second factor: the remedy is confirming it with one (the card links
// the step-up page).
const needAAL2 = "Confirm it’s you with your second factor to change this."

// card is the state of one card in a response.
type card struct {
	flash
	// Show puts the card in an htmx response; OOB swaps it in out of band
	// (it changed, but the form targeted another card).
	Show, OOB bool
}

// fail records an error in the card: messages for the fields the card's
// forms have go next to them; otherwise the message goes to primary (the
// one field the form is about) or above the form.
func (c *card) fail(err error, msg string, fields map[string]string, primary string, formFields ...string) {
	for _, f := range formFields {
		if m := fields[f]; m != "" {
			if c.Fields == nil {
				c.Fields = map[string]string{}
			}
			c.Fields[f] = m
		}
	}
	if len(c.Fields) > 0 {
		return
	}
	if k := auth.KindOf(err); primary != "" && k != "" && k != auth.KindUnavailable {
		c.Fields = map[string]string{primary: msg}
		return
	}
	c.Error = msg
}

// accountView is the account page.
type accountView struct {
	User *auth.User
	// Since is when the account was made.
	Since      string
	Profile    profileCard
	Phone      phoneCard
	Sessions   sessionsCard
	MFA        mfaCard
	Passkeys   passkeysCard
	Identities identitiesCard
	Password   card
}

// profileCard is the card of the account's name.
type profileCard struct {
	card
	// Name is the name field's value.
	Name string
	// Mail: the server sends email, so an unproven one can be proven
	// here; CodeLength is the length of the code that proves it.
	Mail       bool
	CodeLength int
}

// accountView loads what the page shows, as stored now.
func (s *Server) accountView(ctx context.Context, p *auth.Principal) (*accountView, error) {
	u, err := s.auth.User(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	list, err := s.auth.Sessions(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	kinds, left, err := s.auth.Factors(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	cfg := s.auth.Config()
	v := &accountView{
		User:    u,
		Since:   u.CreatedAt.UTC().Format("2 January 2006"),
		Profile: profileCard{Name: u.Name, Mail: *cfg.Email, CodeLength: cfg.OTPLength},
		Phone: phoneCard{
			Available: cfg.SMS, CodeLength: cfg.OTPLength, CodeTTL: humanWait(cfg.OTPTTL.Seconds()),
		},
		MFA: mfaCard{BackupLeft: left, CodesFile: codesFile(s.o.AppName)},
	}
	// The current session was seen within the last minute (reading its
	// cookie slides it): the server's clock, near enough for "2 hours ago".
	now := p.Session.LastSeenAt
	for _, sess := range list {
		v.Sessions.List = append(v.Sessions.List, sessionRow{
			ID: sess.ID, Device: useragent.Device(sess.UserAgent), IP: sess.IP,
			Created: when(sess.CreatedAt, now), LastSeen: when(sess.LastSeenAt, now),
			Current: sess.Current, TwoFactor: sess.AAL == auth.AAL2,
		})
		v.Sessions.Others = v.Sessions.Others || !sess.Current
	}
	for _, k := range kinds {
		switch k {
		case auth.FactorTOTP:
			v.MFA.TOTP = true
		case auth.FactorEmail:
			v.MFA.Email = true
		case auth.FactorWebAuthn:
			v.MFA.Passkey = true
		}
	}
	v.MFA.Any = len(kinds) > 0
	if v.MFA.Any && p.Session.AAL != auth.AAL2 {
		v.MFA.StepUp = s.path("/step-up?redirect_to=" + url.QueryEscape(s.path("/")+"#mfa"))
	}
	if s.auth.PasskeysOn() {
		passkeys, err := s.auth.Passkeys(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("account page: %w", err)
		}
		v.Passkeys.On, v.Passkeys.List = true, passkeyRows(passkeys, now)
	}
	if v.Identities, err = s.identitiesView(ctx, p, now); err != nil {
		return nil, err
	}
	switch {
	case !*cfg.Email:
		v.MFA.EmailNote = "This server sends no email, so email codes are not available."
	case u.Email == "":
		v.MFA.EmailNote = "Email codes need an email address on your account."
	}
	return v, nil
}

// cardOf returns the state of the card named name.
func (v *accountView) cardOf(name string) *card {
	switch name {
	case cardProfile:
		return &v.Profile.card
	case cardPhone:
		return &v.Phone.card
	case cardSessions:
		return &v.Sessions.card
	case cardMFA:
		return &v.MFA.card
	case cardPassword:
		return &v.Password
	case cardPasskeys:
		return &v.Passkeys.card
	case cardIdentities:
		return &v.Identities.card
	}
	panic("web: no account card " + name)
}

// account shows the page, with the notice a redirect asked for.
func (s *Server) account(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d, ok := doneNotices[r.URL.Query().Get("done")]; ok {
		v.cardOf(d.card).Notice = d.text
	}
	v.Passkeys.Offer = s.offerPasskey(r, p, v)
	s.render(w, r, http.StatusOK, "account", v)
}

// respond writes v after a form post to card name: the whole page for a
// plain post, the card (and the cards marked OOB) for htmx.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, v *accountView, name string) {
	if !isHTMX(r) {
		s.render(w, r, status, "account", v)
		return
	}
	v.cardOf(name).Show = true
	s.renderPart(w, r, status, "account", "answer", v)
}

// accountDone finishes a form that changed something and has nothing to
// show once: a plain post goes back to the page (at the card, with the
// notice of key); htmx gets the card with the notice, and the cards in
// also, which the change affected too.
func (s *Server) accountDone(w http.ResponseWriter, r *http.Request, p *auth.Principal, key string, also ...string) {
	d := doneNotices[key]
	if !isHTMX(r) {
		s.redirect(w, r, s.path("/?done="+key+"#"+d.card))
		return
	}
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.cardOf(d.card).Notice = d.text
	for _, a := range also {
		v.cardOf(a).OOB = true
	}
	s.respond(w, r, http.StatusOK, v, d.card)
}

// cardFields are the fields of each card's forms, which errors may name.
var cardFields = map[string][]string{
	cardProfile:  {"name", "code"},
	cardPhone:    {"phone", "code"},
	cardMFA:      {"code"},
	cardPassword: {"current_password", "new_password"},
	cardPasskeys: {"name"},
}

// accountFail re-renders the page (or, for htmx, the card) with err shown
// in card name; primary is the field an error without one is about, and
// edit restores what the form showed (typed values, the step it was at).
func (s *Server) accountFail(w http.ResponseWriter, r *http.Request, p *auth.Principal, name string, err error, primary string, edit func(*accountView)) {
	msg, fields := s.explain(r, err)
	status := http.StatusServiceUnavailable
	var ae *auth.Error
	if errors.As(err, &ae) {
		status = httpauth.Status(ae.Kind)
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", httpauth.RetryAfter(ae.RetryAfter))
		}
	}
	v, verr := s.accountView(r.Context(), p)
	if verr != nil {
		s.fail(w, r, verr)
		return
	}
	v.cardOf(name).fail(err, msg, fields, primary, cardFields[name]...)
	if edit != nil {
		edit(v)
	}
	s.respond(w, r, status, v, name)
}

// secondFactorFirst explains a change refused for want of a second factor
// in this session as what to do about it.
func secondFactorFirst(p *auth.Principal, err error, what string) error {
	if auth.KindOf(err) == auth.KindForbidden && p.Session.AAL != auth.AAL2 {
		return &auth.Error{Kind: auth.KindForbidden, Message: what}
	}
	return err
}

// accountName saves the name the profile card shows.
func (s *Server) accountName(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PostFormValue("name")
	if _, err := s.auth.UpdateProfile(r.Context(), p, auth.ProfileUpdate{Name: &name}); err != nil {
		s.accountFail(w, r, p, cardProfile, err, "name", func(v *accountView) { v.Profile.Name = name })
		return
	}
	s.accountDone(w, r, p, "name")
}
