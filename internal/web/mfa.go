package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// The second-factor step of a sign-in (mfa.html): after a first factor,
// an account with a second factor on gets this step instead of a session.
// Every first factor's page (and the link page, verify.go) leads here.

// registerMFA registers the step's posts: the code, sending an email
// code, and showing the step of a token (for a sign-in that a script
// finished, which gets the token in JSON).
func (s *Server) registerMFA() {
	s.mux.HandleFunc("POST /login/mfa", s.loginMFA)
	s.mux.HandleFunc("POST /login/mfa/email", s.loginMFAEmail)
	s.mux.HandleFunc("POST /login/mfa/step", s.loginMFAStep)
}

// loginMFAStep shows the second-factor step of the posted MFA token: what
// the pages show after any first factor, for a sign-in finished by
// static/passkey.js, which posts the token here. It consumes nothing.
func (s *Server) loginMFAStep(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	token := r.PostForm.Get("mfa_token")
	factors := s.auth.MFAFactors(r.Context(), token)
	if len(factors) == 0 {
		s.renderMFAEnded(w, r, nil)
		return
	}
	s.render(w, r, http.StatusOK, "mfa", newSigninMFAView(token, factors, ""))
}

// signinMFAView is the second-factor step.
type signinMFAView struct {
	Token   string
	Factors []signinFactor
	// CanEmail offers to send an email code.
	CanEmail bool
	// Numeric: every factor offered takes digits only (no backup codes,
	// which have letters), so phones can show a number pad.
	Numeric bool
	Hint    string
	// Dead: the sign-in cannot go on (used, expired, too many tries).
	Dead bool
	// Passkey: the account's passkey can finish the step; passkey.js
	// offers it first, above the code factors (which are all the page
	// shows without JavaScript).
	Passkey bool
	flash
}

// signinFactor is one factor's radio button.
type signinFactor struct {
	Value, Label string
	Checked      bool
}

// signinFactorOrder is the order factors are offered in: the usual one first,
// backup codes (for a lost device) last.
var signinFactorOrder = []struct{ kind, label, hint string }{
	{auth.FactorTOTP, "Authenticator app", "your authenticator app"},
	{auth.FactorEmail, "Code by email", "the email we send you"},
	{auth.FactorBackupCode, "Backup code", "one of your backup codes"},
}

// newSigninMFAView offers factors, with selected checked (else the first).
func newSigninMFAView(token string, factors []string, selected string) signinMFAView {
	v := signinMFAView{
		Token: token, Numeric: true, CanEmail: slices.Contains(factors, auth.FactorEmail),
		Passkey: slices.Contains(factors, auth.FactorWebAuthn),
	}
	if !slices.Contains(factors, selected) {
		selected = ""
	}
	var hints []string
	for _, f := range signinFactorOrder {
		if !slices.Contains(factors, f.kind) {
			continue
		}
		if selected == "" {
			selected = f.kind
		}
		v.Factors = append(v.Factors, signinFactor{Value: f.kind, Label: f.label, Checked: f.kind == selected})
		hints = append(hints, f.hint)
		if f.kind == auth.FactorBackupCode {
			v.Numeric = false
		}
	}
	switch len(hints) {
	case 0:
	case 1:
		v.Hint = "The code from " + hints[0] + "."
	default:
		v.Hint = "The code from " + strings.Join(hints[:len(hints)-1], ", ") + " or " + hints[len(hints)-1] + "."
	}
	return v
}

// renderMFA shows the second-factor step of a sign-in.
func (s *Server) renderMFA(w http.ResponseWriter, r *http.Request, status int, m *auth.MFARequired, message string) {
	v := newSigninMFAView(m.Token, m.Factors, "")
	if status >= http.StatusBadRequest {
		v.Error = message
	} else {
		v.Notice = message
	}
	s.render(w, r, status, "mfa", v)
}

// renderMFAEnded says the sign-in cannot go on and offers a new start.
func (s *Server) renderMFAEnded(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := mfaEnded(err)
	s.render(w, r, status, "mfa", signinMFAView{Dead: true, flash: flash{Error: msg + " Start again to sign in."}})
}

// mfaEnded says why a sign-in cannot go on (err is the last refusal), with
// the status of the answer.
func mfaEnded(err error) (int, string) {
	status, msg := http.StatusUnauthorized, "This sign-in is not valid any more."
	switch auth.KindOf(err) {
	case auth.KindTokenExpired:
		msg = "This sign-in took too long."
	case auth.KindTooManyAttempts:
		status, msg = http.StatusTooManyRequests, "Too many wrong codes were entered."
	case auth.KindForbidden:
		status, msg = http.StatusForbidden, "This account is disabled."
	}
	return status, msg
}

// loginMFA checks the second factor and finishes the sign-in.
func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	ctx := r.Context()
	in := auth.MFAInput{Token: r.PostForm.Get("mfa_token"), Factor: r.PostForm.Get("factor"), Code: r.PostForm.Get("code")}
	err := s.signIn(w, r, auth.Cookie(""))(s.auth.SecondFactor(ctx, in, client(r), auth.Cookie("")))
	if err == nil {
		return
	}
	// Redraw the step without consuming anything; a token that is dead
	// (used, expired, out of tries) has no factors left.
	factors := s.auth.MFAFactors(ctx, in.Token)
	if len(factors) == 0 {
		s.renderMFAEnded(w, r, err)
		return
	}
	v := newSigninMFAView(in.Token, factors, in.Factor)
	msg, fields := s.explain(r, err)
	switch auth.KindOf(err) {
	case auth.KindInvalidCode:
		v.Fields = map[string]string{"code": codeMessages[auth.KindInvalidCode]}
	case auth.KindInvalidRequest:
		if fields["code"] != "" {
			v.Fields = map[string]string{"code": fields["code"]}
		} else {
			v.Error = "Choose one of the second factors below."
		}
	default:
		v.Error = msg
	}
	s.render(w, r, signinStatus(err), "mfa", v)
}

// loginMFAEmail sends the email second-factor code.
func (s *Server) loginMFAEmail(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	ctx := r.Context()
	token := r.PostForm.Get("mfa_token")
	err := s.auth.MFAChallenge(ctx, token, auth.FactorEmail)
	factors := s.auth.MFAFactors(ctx, token)
	if len(factors) == 0 {
		s.renderMFAEnded(w, r, err)
		return
	}
	v := newSigninMFAView(token, factors, auth.FactorEmail)
	status := http.StatusOK
	if err != nil {
		v.Error, _ = s.explain(r, err)
		status = signinStatus(err)
	} else {
		v.Notice = "We emailed you a code. Enter it below."
	}
	s.render(w, r, status, "mfa", v)
}
