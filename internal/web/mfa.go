package web

import (
	"net/http"
	"slices"
	"time"

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
	// factor is the choice of "Use another way"; none (the script's post)
	// is the one used last on this browser.
	selected := r.PostForm.Get("factor")
	if selected == "" {
		selected = lastFactor(r)
	}
	v := newSigninMFAView(token, factors, selected)
	v.StepUp = stepUpForm(r)
	s.render(w, r, http.StatusOK, "mfa", v)
}

// lastFactorCookie remembers on this browser the second factor that last
// finished a sign-in, so the step offers it first next time. It holds a
// factor kind, nothing secret; a backup code is never remembered (it is
// for a lost device, not the usual way).
const lastFactorCookie = "gatehouse_mfa_last"

// lastFactor returns the factor this browser used last ("" for none).
func lastFactor(r *http.Request) string {
	c, err := r.Cookie(lastFactorCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// rememberFactor sets lastFactorCookie to kind, unless it is a backup code.
func (s *Server) rememberFactor(w http.ResponseWriter, kind string) {
	if kind == auth.FactorBackupCode || kind != auth.FactorWebAuthn &&
		!slices.ContainsFunc(signinFactorOrder, func(f signinFactorKind) bool { return f.kind == kind }) {
		return
	}
	http.SetCookie(w, &http.Cookie{
		// Path /: the step follows a link (/v1/verify) and a provider
		// (/v1/oauth/…) too, not only /login.
		Name: lastFactorCookie, Value: kind, Path: "/",
		MaxAge:   int((400 * 24 * time.Hour).Seconds()), // the most browsers keep a cookie
		HttpOnly: true, Secure: !s.o.Cookies.Insecure, SameSite: http.SameSiteLaxMode,
	})
}

// signinMFAView is the second-factor step: one way at a time (Chosen,
// the one used last on this browser, else the first of
// signinFactorOrder), the others behind "Use another way".
type signinMFAView struct {
	Token string
	// Factors are the code factors, in signinFactorOrder; Chosen is the
	// one the form asks for, Others the rest.
	Factors []signinFactor
	Chosen  signinFactor
	Others  []signinFactor
	// CanEmail offers to send an email code.
	CanEmail bool
	// Numeric: the chosen factor takes digits only (a backup code has
	// letters), so phones can show a number pad.
	Numeric bool
	Hint    string
	// Dead: the sign-in cannot go on (used, expired, too many tries).
	Dead bool
	// StepUp: the step raises a signed-in session (the step-up page)
	// rather than finishing a sign-in; only the words differ.
	StepUp bool
	// Passkey: the account's passkey can finish the step. Without
	// JavaScript, or where the browser cannot use passkeys, the page shows
	// only the code factors. PasskeyFirst: passkey.js shows the passkey
	// alone, the code form behind "Use a code instead"; otherwise the
	// passkey waits under "Use another way".
	Passkey      bool
	PasskeyFirst bool
	flash
}

// signinFactor is one code factor the step can ask for.
type signinFactor struct {
	// Value is the factor kind; Label names it; Use is its "Use another
	// way" button; Prompt labels the code field; Hint says where the code
	// is.
	Value, Label, Use, Prompt, Hint string
	Checked                         bool
}

// signinFactorKind describes a code factor for the step.
type signinFactorKind struct{ kind, label, use, prompt, hint string }

// signinFactorOrder is the order factors are offered in when this browser
// has used none: the usual one first, backup codes (for a lost device)
// last.
var signinFactorOrder = []signinFactorKind{
	{auth.FactorTOTP, "Authenticator app", "Use your authenticator app", "Code from your authenticator app", "The 6-digit code your authenticator app shows now."},
	{auth.FactorEmail, "Code by email", "Get a code by email", "Code from the email", "Choose “Email me a code”, then enter the code from that email."},
	{auth.FactorBackupCode, "Backup code", "Use a backup code", "Backup code", "One of the backup codes you saved when you turned on your second factor. Each works once."},
}

// newSigninMFAView asks for selected (else the first factor in order) and
// offers the others behind "Use another way".
func newSigninMFAView(token string, factors []string, selected string) signinMFAView {
	v := signinMFAView{
		Token: token, Numeric: true, CanEmail: slices.Contains(factors, auth.FactorEmail),
		Passkey: slices.Contains(factors, auth.FactorWebAuthn),
	}
	if !slices.Contains(factors, selected) {
		selected = ""
	}
	// The passkey comes first unless a code was chosen, or used last on
	// this browser; then it waits behind "Use another way" like the rest.
	v.PasskeyFirst = v.Passkey && (selected == "" || selected == auth.FactorWebAuthn)
	if selected == auth.FactorWebAuthn {
		selected = ""
	}
	for _, f := range signinFactorOrder {
		if !slices.Contains(factors, f.kind) {
			continue
		}
		if selected == "" {
			selected = f.kind
		}
		sf := signinFactor{Value: f.kind, Label: f.label, Use: f.use, Prompt: f.prompt, Hint: f.hint, Checked: f.kind == selected}
		v.Factors = append(v.Factors, sf)
		if sf.Checked {
			v.Chosen, v.Hint, v.Numeric = sf, sf.Hint, f.kind != auth.FactorBackupCode
		} else {
			v.Others = append(v.Others, sf)
		}
	}
	return v
}

// renderMFA shows the second-factor step of a sign-in.
func (s *Server) renderMFA(w http.ResponseWriter, r *http.Request, status int, m *auth.MFARequired, message string) {
	v := newSigninMFAView(m.Token, m.Factors, lastFactor(r))
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
	proof, err := s.auth.SecondFactor(ctx, in, client(r), s.cookie(""))
	if err == nil {
		// Before signIn writes the answer's status line.
		s.rememberFactor(w, in.Factor)
	}
	if err = s.signIn(w, r, s.cookie(""))(proof, err); err == nil {
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
	v.StepUp = stepUpForm(r)
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
	v.StepUp = stepUpForm(r)
	status := http.StatusOK
	if err != nil {
		v.Error, _ = s.explain(r, err)
		status = signinStatus(err)
	} else {
		v.Notice = "We emailed you a code. Enter it below."
	}
	s.render(w, r, status, "mfa", v)
}
