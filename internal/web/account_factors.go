package web

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// The two-step card of the account page: the authenticator app's set-up
// (its QR code and key), email codes as a second factor, and backup codes.
// Every change here needs a session that passed a second factor, when the
// account has one (auth decides; secondFactorFirst words the refusal).

// mfaCard is the two-step card.
type mfaCard struct {
	card
	// TOTP and Email say which factors are on; Any, whether one is.
	TOTP, Email, Any bool
	// Passkey: the account has a passkey, which auth counts as a second
	// factor (a password or code sign-in asks for it), so the card says
	// so, and offers backup codes for the day the passkey is lost.
	Passkey bool
	// StepUp is the step-up page's address, back to this card, for a
	// session signed in without the second factor the account has: its
	// changes here need one (aal2), which the page adds to this session.
	StepUp     string
	BackupLeft int
	// EmailNote says why email codes cannot be turned on ("" when they can).
	EmailNote string
	// Enrol is an authenticator set-up waiting for its first code; Reveal
	// the confirmed one's QR code shown again.
	Enrol, Reveal *totpView
	// Codes are new backup codes, shown in this one response.
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

// accountTOTP starts an authenticator set-up: the response shows the key,
// once, and asks for a first code.
func (s *Server) accountTOTP(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	e, err := s.auth.EnrollTOTP(r.Context(), p, client(r))
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	if v, tv, ok := s.accountWithTOTP(w, r, p, e.URL); ok {
		v.MFA.Enrol = tv
		s.respond(w, r, http.StatusOK, v, cardMFA)
	}
}

// accountWithTOTP returns the account page's view and the view of the
// authenticator at otpURL (its QR code and key), or writes the failure and
// returns ok false.
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
// shows the backup codes, in this response only.
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
	s.respond(w, r, http.StatusOK, v, cardMFA)
}

// enrolmentGone reports whether err is ConfirmTOTP's refusal of a set-up
// that expired or was never started: showing the old key again would not
// help.
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
		s.respond(w, r, http.StatusOK, v, cardMFA)
	}
}

// accountRemoveFactor returns the handler that turns off the second factor
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
// brings backup codes, shown in this response only.
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

// showCodes writes the two-step card with new backup codes: this response
// is the only place they are ever shown.
func (s *Server) showCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal, notice string, codes []string) {
	v, err := s.accountView(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.MFA.Notice = notice
	v.MFA.Codes = codes
	s.respond(w, r, http.StatusOK, v, cardMFA)
}

// accountBackupCodes replaces the backup codes and shows the new ones, in
// this response only.
func (s *Server) accountBackupCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	codes, err := s.auth.NewBackupCodes(r.Context(), p, client(r))
	if err != nil {
		s.accountFail(w, r, p, cardMFA, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	s.showCodes(w, r, p, "You have new backup codes; the old ones no longer work.", codes)
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
