package web

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/phone"
)

// The account page is one page of cards. Every form posts to its own
// route; a plain post answers a 303 back to the page (with a notice key,
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
)

// maxFormBytes bounds an account form's body; the largest real one (the
// authenticator confirmation) is well under a kilobyte.
const maxFormBytes = 64 << 10

// registerAccount registers the account page (/) and its forms.
func (s *Server) registerAccount() {
	s.mux.HandleFunc("GET /{$}", s.signedIn(s.account))
	for pattern, h := range map[string]func(http.ResponseWriter, *http.Request, *auth.Principal){
		"POST /account/name":                 s.accountName,
		"POST /account/phone":                s.accountPhone,
		"POST /account/phone/verify":         s.accountPhoneVerify,
		"POST /account/sessions/{id}/revoke": s.accountRevoke,
		"POST /account/sessions/others":      s.accountRevokeOthers,
		"POST /account/totp":                 s.accountTOTP,
		"POST /account/totp/confirm":         s.accountTOTPConfirm,
		"POST /account/totp/show":            s.accountTOTPShow,
		"POST /account/totp/remove":          s.accountRemoveFactor(auth.FactorTOTP, "totp_removed"),
		"POST /account/mfa/email/on":         s.accountEmailOn,
		"POST /account/mfa/email/off":        s.accountRemoveFactor(auth.FactorEmail, "email_off"),
		"POST /account/backup-codes":         s.accountBackupCodes,
		"POST /account/password":             s.accountPassword,
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
	"name":         {cardProfile, "Your name was saved."},
	"phone":        {cardPhone, "Your phone number is verified and saved."},
	"session":      {cardSessions, "That device was signed out."},
	"others":       {cardSessions, "You were signed out everywhere else."},
	"totp_removed": {cardMFA, "The authenticator app was removed."},
	"email_on":     {cardMFA, "Email codes are on as a second step."},
	"email_off":    {cardMFA, "Email codes are off."},
	"password":     {cardPassword, "Your password was changed, and every other device was signed out."},
	"password_set": {cardPassword, "Your password was set, and every other device was signed out."},
}

// needAAL2 explains a change refused to a session that did not pass a
// second factor: the remedy is signing in again with one.
const needAAL2 = "Sign in again with your second factor to change this."

// card is the state of one card in an answer.
type card struct {
	Notice, Error string
	// Fields holds per-field messages, by form field name.
	Fields map[string]string
	// Show puts the card in an htmx answer; OOB swaps it in out of band
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
	Since    string
	Profile  profileCard
	Phone    phoneCard
	Sessions sessionsCard
	MFA      mfaCard
	Password card
}

type profileCard struct {
	card
	// Name is the name field's value.
	Name string
}

type phoneCard struct {
	card
	// Available is false when the server sends no SMS.
	Available bool
	// CodeStep shows the code field: a code went to Pending.
	CodeStep bool
	Pending  string
	// Value is the number field's value.
	Value      string
	CodeLength int
	CodeTTL    string
}

type sessionsCard struct {
	card
	List []sessionRow
	// Others is set when another session than this one is live.
	Others bool
}

// sessionRow is one session as the list shows it.
type sessionRow struct {
	ID, Device, IP     string
	Created, LastSeen  moment
	Current, TwoFactor bool
}

type mfaCard struct {
	card
	// TOTP and Email say which factors are on; Any, whether one is.
	TOTP, Email, Any bool
	BackupLeft       int
	// EmailNote says why email codes cannot be turned on ("" when they can).
	EmailNote string
	// Enrol is an authenticator set-up waiting for its first code; Reveal
	// the confirmed one's QR code shown again.
	Enrol, Reveal *totpView
	// Codes are new backup codes, shown in this one answer.
	Codes     []string
	CodesFile string
}

// totpView shows an authenticator's key: as a QR code, a link for an app
// on the same device, and text.
type totpView struct {
	// Secret is the key grouped in fours for typing.
	Secret string
	// URL is the otpauth URL, which the confirm form carries back so a
	// wrong code can be retried without losing the QR code.
	URL  string
	QR   template.URL
	Link template.URL
}

// moment is a time as the page shows it: relative to now, with the exact
// time in the tooltip and the machine-readable form.
type moment struct {
	Text, ISO, Full string
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
		Profile: profileCard{Name: u.Name},
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
			ID: sess.ID, Device: deviceName(sess.UserAgent), IP: sess.IP,
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
		}
	}
	v.MFA.Any = len(kinds) > 0
	switch {
	case !*cfg.Email:
		v.MFA.EmailNote = "This server sends no email, so email codes are not available."
	case u.Email == "":
		v.MFA.EmailNote = "Email codes need an email address on your account."
	}
	return v, nil
}

// cardOf answers the state of the card named name.
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
	s.render(w, r, http.StatusOK, "account", v)
}

// answer writes v after a form post to card name: the whole page for a
// plain post, the card (and the cards marked OOB) for htmx.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, status int, v *accountView, name string) {
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
		s.redirect(w, r, "/?done="+key+"#"+d.card)
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
	s.answer(w, r, http.StatusOK, v, d.card)
}

// cardFields are the fields of each card's forms, which errors may name.
var cardFields = map[string][]string{
	cardProfile:  {"name"},
	cardPhone:    {"phone", "code"},
	cardMFA:      {"code"},
	cardPassword: {"current_password", "new_password"},
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
			w.Header().Set("Retry-After", strconv.Itoa(int(ae.RetryAfter.Seconds()+0.999)))
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
	s.answer(w, r, status, v, name)
}

// secondFactorFirst explains a change refused for want of a second factor
// in this session as what to do about it.
func secondFactorFirst(p *auth.Principal, err error, what string) error {
	if auth.KindOf(err) == auth.KindForbidden && p.Session.AAL != auth.AAL2 {
		return &auth.Error{Kind: auth.KindForbidden, Message: what}
	}
	return err
}

func (s *Server) accountName(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PostFormValue("name")
	if _, err := s.auth.UpdateProfile(r.Context(), p, auth.ProfileUpdate{Name: &name}); err != nil {
		s.accountFail(w, r, p, cardProfile, err, "name", func(v *accountView) { v.Profile.Name = name })
		return
	}
	s.accountDone(w, r, p, "name")
}

// accountPhone sends a code to a phone to add; the card turns into the
// code step. With resend set the form came from that step, which stays.
func (s *Server) accountPhone(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	number := r.PostFormValue("phone")
	resend := r.PostFormValue("resend") != ""
	if err := s.auth.RequestPhoneChange(r.Context(), p, number); err != nil {
		primary := "phone"
		if resend {
			primary = ""
		}
		s.accountFail(w, r, p, cardPhone, err, primary, func(v *accountView) {
			v.Phone.Value = number
			if resend { // the code step stays, with the error above it
				v.Phone.CodeStep, v.Phone.Pending = true, normalPhone(number)
				if m := v.Phone.Fields["phone"]; m != "" {
					v.Phone.Error = m
				}
				v.Phone.Fields = nil
			}
		})
		return
	}
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Phone.CodeStep, v.Phone.Pending = true, normalPhone(number)
	v.Phone.Notice = "We sent a code by text message to " + v.Phone.Pending + "."
	s.answer(w, r, http.StatusOK, v, cardPhone)
}

func (s *Server) accountPhoneVerify(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pending := normalPhone(r.PostFormValue("phone"))
	if _, err := s.auth.VerifyPhone(r.Context(), p, r.PostFormValue("code"), client(r)); err != nil {
		s.accountFail(w, r, p, cardPhone, err, "code", func(v *accountView) {
			v.Phone.CodeStep, v.Phone.Pending = true, pending
			if m := v.Phone.Fields["phone"]; m != "" { // taken meanwhile: the step is over
				v.Phone.CodeStep, v.Phone.Value = false, pending
			}
		})
		return
	}
	s.accountDone(w, r, p, "phone", cardProfile)
}

// normalPhone answers a number carried back by a form in E.164, or "" for
// anything that is not a valid number (it is only shown, never used).
func normalPhone(raw string) string {
	n, err := phone.Parse(raw)
	if err != nil {
		return ""
	}
	return n.E164
}

func (s *Server) accountRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	if err := s.auth.RevokeSession(r.Context(), p, id); err != nil {
		s.accountFail(w, r, p, cardSessions, err, "", nil)
		return
	}
	if id == p.Session.ID { // this very session: nothing left to show here
		http.SetCookie(w, s.o.Cookies.Clear())
		s.redirect(w, r, "/login")
		return
	}
	s.accountDone(w, r, p, "session")
}

func (s *Server) accountRevokeOthers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := s.auth.Logout(r.Context(), p, auth.ScopeOthers); err != nil {
		s.accountFail(w, r, p, cardSessions, err, "", nil)
		return
	}
	s.accountDone(w, r, p, "others")
}

// accountTOTP starts an authenticator set-up: the answer shows the key,
// once, and asks for a first code.
func (s *Server) accountTOTP(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	e, err := s.auth.EnrollTOTP(r.Context(), p, client(r))
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	if v, tv, ok := s.accountWithTOTP(w, r, p, e.URL); ok {
		v.MFA.Enrol = tv
		s.answer(w, r, http.StatusOK, v, cardMFA)
	}
}

// accountWithTOTP answers the account page's view and the view of the
// authenticator at otpURL (its QR code and key), or answers the request
// with the failure and ok false.
func (s *Server) accountWithTOTP(w http.ResponseWriter, r *http.Request, p *auth.Principal, otpURL string) (v *accountView, tv *totpView, ok bool) {
	tv, err := newTOTPView(otpURL)
	if err == nil {
		v, err = s.accountView(r.Context(), p)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return v, tv, true
}

// accountTOTPConfirm turns the authenticator on with its first code and
// shows the backup codes, in this answer only.
func (s *Server) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	codes, err := s.auth.ConfirmTOTP(r.Context(), p, strings.TrimSpace(r.PostFormValue("code")), client(r))
	if err != nil {
		gone := enrolmentGone(err)
		if gone {
			err = &auth.Error{Kind: auth.KindInvalidRequest, Message: "The set-up has expired or was not started. Start it again."}
		}
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "code", func(v *accountView) {
			if !gone {
				v.MFA.Enrol = s.carriedTOTP(r.PostFormValue("otpauth_url"), p)
			}
			if v.MFA.Enrol == nil && v.MFA.Fields["code"] != "" { // no code field to show it at
				v.MFA.Error, v.MFA.Fields = v.MFA.Fields["code"], nil
			}
		})
		return
	}
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.MFA.Notice = "Your authenticator app is on. From now on, signing in asks for a code from it."
	v.MFA.Codes = codes
	s.answer(w, r, http.StatusOK, v, cardMFA)
}

// enrolmentGone reports ConfirmTOTP's answer for a set-up that expired
// or was never started: showing the old key again would not help.
func enrolmentGone(err error) bool { return errors.Is(err, auth.ErrNoEnrolment) }

// carriedTOTP rebuilds the set-up view from the otpauth URL the confirm
// form carried back, so that a mistyped code costs no new scan. It is only
// shown to the person who posted it (cross-site posts never get here), and
// only if it is an authenticator key for this account.
func (s *Server) carriedTOTP(raw string, p *auth.Principal) *totpView {
	if raw == "" || len(raw) > 512 {
		return nil
	}
	key, err := otp.NewKeyFromURL(raw)
	if err != nil || key.Type() != "totp" || key.Issuer() != s.auth.Config().AppName ||
		(key.AccountName() != p.User.Email && key.AccountName() != p.User.Phone) {
		return nil
	}
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret()); err != nil || len(key.Secret()) > 64 {
		return nil
	}
	tv, err := newTOTPView(raw)
	if err != nil {
		return nil
	}
	return tv
}

// accountTOTPShow shows the confirmed authenticator's QR code again, for
// a second device: only to a fresh session that passed a second factor.
func (s *Server) accountTOTPShow(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u, err := s.auth.TOTPURL(r.Context(), p)
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, "Sign in again with your second factor to see the QR code again."), "", nil)
		return
	}
	if v, tv, ok := s.accountWithTOTP(w, r, p, u); ok {
		v.MFA.Reveal = tv
		s.answer(w, r, http.StatusOK, v, cardMFA)
	}
}

// accountRemoveFactor answers the handler that turns off the second factor
// kind (it needs an aal2 session) and reports done.
func (s *Server) accountRemoveFactor(kind, done string) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if err := s.auth.RemoveFactor(r.Context(), p, kind, client(r)); err != nil {
			s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
			return
		}
		s.accountDone(w, r, p, done)
	}
}

// accountEmailOn makes email codes a second factor; the first factor on
// brings backup codes, shown in this answer only.
func (s *Server) accountEmailOn(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	codes, err := s.auth.EnableEmailFactor(r.Context(), p, client(r))
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	if codes == nil {
		s.accountDone(w, r, p, "email_on")
		return
	}
	s.showCodes(w, r, p, doneNotices["email_on"].text, codes)
}

// showCodes answers the two-step card with new backup codes: this answer
// is the only place they are ever shown.
func (s *Server) showCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal, notice string, codes []string) {
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.MFA.Notice = notice
	v.MFA.Codes = codes
	s.answer(w, r, http.StatusOK, v, cardMFA)
}

// accountBackupCodes replaces the backup codes and shows the new ones, in
// this answer only.
func (s *Server) accountBackupCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	codes, err := s.auth.NewBackupCodes(r.Context(), p, client(r))
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	s.showCodes(w, r, p, "You have new backup codes; the old ones no longer work.", codes)
}

// accountPassword changes (or first sets) the password, which ends every
// other session.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u, err := s.auth.User(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := "password"
	if !u.HasPassword() {
		key = "password_set"
	}
	err = s.auth.ChangePassword(r.Context(), p, r.PostFormValue("current_password"), r.PostFormValue("new_password"), client(r))
	if err != nil {
		s.accountFail(w, r, p, cardPassword, err, "", nil)
		return
	}
	s.accountDone(w, r, p, key, cardSessions)
}

// newTOTPView renders an otpauth URL as what the page shows.
func newTOTPView(rawURL string) (*totpView, error) {
	key, err := otp.NewKeyFromURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("web: parse otpauth url: %w", err)
	}
	qr, err := httpauth.QRPNG(rawURL)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	var grouped strings.Builder
	for i, c := range key.Secret() {
		if i > 0 && i%4 == 0 {
			grouped.WriteByte(' ')
		}
		grouped.WriteRune(c)
	}
	return &totpView{
		Secret: grouped.String(),
		URL:    rawURL,
		// Both are made here from our own key, so they are safe as URLs:
		// html/template would otherwise refuse the data: and otpauth:
		// schemes.
		QR:   template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(qr)),
		Link: template.URL(rawURL),
	}, nil
}

// codesFile names the downloaded backup codes after the app.
func codesFile(app string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(app) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if name == "" {
		name = "account"
	}
	return name + "-backup-codes.txt"
}

// when shows t relative to now: recent times as "5 minutes ago", older
// ones as a date.
func when(t, now time.Time) moment {
	t = t.UTC()
	m := moment{ISO: t.Format(time.RFC3339), Full: t.Format("2 January 2006, 15:04 UTC")}
	switch d := now.Sub(t); {
	case d < time.Minute:
		m.Text = "just now"
	case d < time.Hour:
		m.Text = plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		m.Text = plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		m.Text = plural(int(d/(24*time.Hour)), "day") + " ago"
	default:
		m.Text = t.Format("2 January 2006")
	}
	return m
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// deviceName answers a short readable name for a user agent, such as
// "Chrome on macOS", or the raw string shortened when it is not a browser
// we know.
func deviceName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown device"
	}
	b, o := browserOf(ua), systemOf(ua)
	switch {
	case b != "" && o != "":
		return b + " on " + o
	case b != "":
		return b
	}
	return shorten(ua, 60)
}

// browserOf names the browser of a user agent. The order matters: most
// browsers also claim to be Chrome or Safari.
func browserOf(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		return "Edge"
	case has("OPR/", "Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Firefox/", "FxiOS/"):
		return "Firefox"
	case has("CriOS/", "Chrome/"):
		return "Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Safari/") && has("Version/"):
		return "Safari"
	}
	return ""
}

// systemOf names the operating system of a user agent.
func systemOf(ua string) string {
	switch {
	case strings.Contains(ua, "iPhone"):
		return "iPhone"
	case strings.Contains(ua, "iPad"):
		return "iPad"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "Macintosh"), strings.Contains(ua, "Mac OS X"):
		return "macOS"
	case strings.Contains(ua, "Linux"):
		return "Linux"
	}
	return ""
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
