package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// registerSignIn registers /login, /signup, /recover, the second-factor
// step and /logout.
func (s *Server) registerSignIn() {
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("POST /login/code", s.loginCode)
	s.mux.HandleFunc("POST /login/link", s.loginLink)
	s.mux.HandleFunc("POST /login/verify", s.loginVerify)
	s.mux.HandleFunc("GET /login/password", s.loginPasswordPage)
	s.mux.HandleFunc("POST /login/password", s.loginPassword)
	s.mux.HandleFunc("POST /login/mfa", s.loginMFA)
	s.mux.HandleFunc("POST /login/mfa/email", s.loginMFAEmail)
	// The steps above answer posts; a step's URL opened (a bookmark, a
	// reload after the answer) starts over rather than answering 404.
	s.mux.HandleFunc("GET /login/{step...}", s.restartFlow("/login"))
	s.mux.HandleFunc("GET /signup", s.signupPage)
	s.mux.HandleFunc("POST /signup", s.signup)
	s.mux.HandleFunc("GET /recover", s.recoverPage)
	s.mux.HandleFunc("POST /recover", s.recoverSend)
	s.mux.HandleFunc("POST /recover/verify", s.recoverVerify)
	s.mux.HandleFunc("GET /recover/{step...}", s.restartFlow("/recover"))
	s.mux.HandleFunc("GET /logout", s.logoutPage)
	s.mux.HandleFunc("POST /logout", s.logout)
}

// Steps of the sign-in page (login.html).
const (
	loginStart        = "start"
	loginCodeStep     = "code"
	loginPasswordStep = "password"
	loginSignOut      = "signout"
)

// loginView is the sign-in page at one of its steps.
type loginView struct {
	Step string
	// Address is the email or phone as typed; Phone says which it is.
	Address string
	Phone   bool
	// Link: the code step after a magic link was sent (the email carries
	// the code too).
	Link bool
	// RedirectTo is the checked target, carried as a hidden field.
	RedirectTo string
	CodeLength int
	ExpiresIn  string
	Error      string
	Notice     string
	Fields     map[string]string
}

// identity returns the address as the flows take it: an email, or a phone.
func (v loginView) identity() auth.Identity {
	if v.Phone {
		return auth.Identity{Phone: v.Address}
	}
	return auth.Identity{Email: v.Address}
}

func (s *Server) loginView(step, address, redirectTo string) loginView {
	cfg := s.auth.Config()
	return loginView{
		Step: step, Address: address, Phone: isPhoneInput(address), RedirectTo: redirectTo,
		CodeLength: cfg.OTPLength, ExpiresIn: humanWait(cfg.OTPTTL.Seconds()),
	}
}

// login is step 1: one field for an email or a phone.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	target := s.allowedTarget(r.URL.Query().Get("redirect_to"))
	if s.alreadySignedIn(w, r, target) {
		return
	}
	v := s.loginView(loginStart, "", target)
	if r.URL.Query().Has("signed_out") {
		v.Notice = "You are signed out."
	}
	s.render(w, r, http.StatusOK, "login", v)
}

// alreadySignedIn sends a browser that has a live session on to target
// (or "/"), and reports whether it did.
func (s *Server) alreadySignedIn(w http.ResponseWriter, r *http.Request, target string) bool {
	p, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if p == nil {
		return false
	}
	if target == "" {
		target = "/"
	}
	s.redirect(w, r, target)
	return true
}

// loginCode sends a sign-in code by email or SMS and shows the code step.
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request) { s.sendCode(w, r, false) }

// loginLink sends a magic link (which carries the code too) by email.
func (s *Server) loginLink(w http.ResponseWriter, r *http.Request) { s.sendCode(w, r, true) }

// sendCode asks for a code or a link. Its answer is the same for known
// and unknown addresses: the code step, which says where the code went,
// never whether an account is there.
func (s *Server) sendCode(w http.ResponseWriter, r *http.Request, link bool) {
	if !s.readSignInForm(w, r) {
		return
	}
	v := s.loginView(loginStart, strings.TrimSpace(r.PostForm.Get("address")), s.allowedTarget(r.PostForm.Get("redirect_to")))
	switch {
	case v.Address == "":
		v.Fields = map[string]string{"address": "Enter your email or phone number."}
		s.render(w, r, http.StatusBadRequest, "login", v)
		return
	case link && v.Phone:
		v.Fields = map[string]string{"address": "Sign-in links go by email only. Use “Send me a code” for a phone."}
		s.render(w, r, http.StatusBadRequest, "login", v)
		return
	}
	id := v.identity()
	in := auth.CodeRequest{Email: id.Email, Phone: id.Phone, Link: link, RedirectTo: v.RedirectTo}
	if err := s.auth.RequestCode(r.Context(), in); err != nil {
		msg, fields := s.explain(r, err)
		if auth.KindOf(err) == auth.KindRateLimited {
			// A code went out a moment ago: it is still good, so offer
			// its field along with the wait.
			v.Step, v.Link, v.Error = loginCodeStep, link, msg
		} else if v.Fields = addressFields(fields); v.Fields == nil {
			v.Error = msg
		}
		s.render(w, r, signinStatus(err), "login", v)
		return
	}
	v.Step, v.Link = loginCodeStep, link
	s.render(w, r, http.StatusOK, "login", v)
}

// codeMessages are what a wrong or an expired code shows at the code field,
// on every page that takes one.
var codeMessages = map[auth.Kind]string{
	auth.KindInvalidCode: "That code is not correct. Check it and try again.",
	auth.KindCodeExpired: "That code has expired. Send a new one below.",
}

// loginVerify checks the code and signs in, or shows the second factor.
func (s *Server) loginVerify(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	v := s.loginView(loginCodeStep, strings.TrimSpace(r.PostForm.Get("address")), s.allowedTarget(r.PostForm.Get("redirect_to")))
	res, err := s.finish(r, auth.Cookie(v.RedirectTo))(s.auth.SignInCode(r.Context(), v.identity(), r.PostForm.Get("code")))
	if err == nil {
		s.startSession(w, r, res)
		return
	}
	msg, fields := s.explain(r, err)
	switch auth.KindOf(err) {
	case auth.KindInvalidCode, auth.KindCodeExpired:
		v.Fields = map[string]string{"code": codeMessages[auth.KindOf(err)]}
	case auth.KindInvalidRequest:
		if fields["code"] != "" {
			v.Fields = map[string]string{"code": fields["code"]}
		} else {
			// The hidden address is bad (edited by hand): start over.
			v.Step, v.Fields = loginStart, addressFields(fields)
		}
	default:
		v.Error = msg
	}
	s.render(w, r, signinStatus(err), "login", v)
}

// loginPasswordPage is the password form.
func (s *Server) loginPasswordPage(w http.ResponseWriter, r *http.Request) {
	target := s.allowedTarget(r.URL.Query().Get("redirect_to"))
	if s.alreadySignedIn(w, r, target) {
		return
	}
	s.render(w, r, http.StatusOK, "login", s.loginView(loginPasswordStep, "", target))
}

// loginPassword signs in with a password. A wrong password and an unknown
// account answer the same.
func (s *Server) loginPassword(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	v := s.loginView(loginPasswordStep, strings.TrimSpace(r.PostForm.Get("address")), s.allowedTarget(r.PostForm.Get("redirect_to")))
	if v.Address == "" {
		v.Fields = map[string]string{"address": "Enter your email or phone number."}
		s.render(w, r, http.StatusBadRequest, "login", v)
		return
	}
	res, err := s.finish(r, auth.Cookie(v.RedirectTo))(s.auth.SignInPassword(r.Context(), v.identity(), r.PostForm.Get("password"), client(r)))
	if err == nil {
		s.startSession(w, r, res)
		return
	}
	msg, fields := s.explain(r, err)
	switch auth.KindOf(err) {
	case auth.KindInvalidCredentials:
		v.Error = "That email or password is not correct."
		if v.Phone {
			v.Error = "That phone number or password is not correct."
		}
	case auth.KindInvalidRequest:
		v.Fields = addressFields(fields)
		if f := fields["password"]; f != "" {
			if v.Fields == nil {
				v.Fields = map[string]string{}
			}
			v.Fields["password"] = f
		}
	default:
		v.Error = msg
	}
	s.render(w, r, signinStatus(err), "login", v)
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
	Dead   bool
	Error  string
	Notice string
	Fields map[string]string
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
	v := signinMFAView{Token: token, Numeric: true, CanEmail: slices.Contains(factors, auth.FactorEmail)}
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
	status, msg := http.StatusUnauthorized, "This sign-in is not valid any more."
	switch auth.KindOf(err) {
	case auth.KindTokenExpired:
		msg = "This sign-in took too long."
	case auth.KindTooManyAttempts:
		status, msg = http.StatusTooManyRequests, "Too many wrong codes were entered."
	case auth.KindForbidden:
		status, msg = http.StatusForbidden, "This account is disabled."
	}
	s.render(w, r, status, "mfa", signinMFAView{Dead: true, Error: msg + " Start again to sign in."})
}

// loginMFA checks the second factor and finishes the sign-in.
func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	ctx := r.Context()
	in := auth.MFAInput{Token: r.PostForm.Get("mfa_token"), Factor: r.PostForm.Get("factor"), Code: r.PostForm.Get("code")}
	res, err := s.finish(r, auth.Cookie(""))(s.auth.SecondFactor(ctx, in, client(r), auth.Cookie("")))
	if err == nil {
		s.startSession(w, r, res)
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

// signupView is the sign-up form.
type signupView struct {
	Address, Name, RedirectTo string
	// Taken: the address has an account; the page offers to sign in.
	Taken bool
	// Focus names the field that gets the focus.
	Focus  string
	Error  string
	Notice string
	Fields map[string]string
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signup", signupView{Focus: "address", RedirectTo: s.allowedTarget(r.URL.Query().Get("redirect_to"))})
}

// signup creates an account. With an email and a password it signs in
// at once; otherwise the address must be proven first, so the browser goes
// to the code step of sign-in for it.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	ctx := r.Context()
	v := signupView{
		Address: strings.TrimSpace(r.PostForm.Get("address")), Name: r.PostForm.Get("name"),
		RedirectTo: s.allowedTarget(r.PostForm.Get("redirect_to")),
	}
	password := r.PostForm.Get("password")
	byPhone := isPhoneInput(v.Address)
	in := auth.SignUpInput{Name: v.Name, Password: password}
	if byPhone {
		in.Phone, in.SendCode = v.Address, true
	} else {
		in.Email = v.Address
	}
	if v.Address == "" {
		v.Fields, v.Focus = map[string]string{"address": "Enter your email or phone number."}, "address"
		s.render(w, r, http.StatusBadRequest, "signup", v)
		return
	}
	if _, err := s.auth.SignUp(ctx, in); err != nil {
		msg, fields := s.explain(r, err)
		switch auth.KindOf(err) {
		case auth.KindEmailTaken, auth.KindPhoneTaken:
			v.Taken = true
			v.Fields = map[string]string{"address": msg}
		case auth.KindInvalidRequest, auth.KindWeakPassword:
			v.Fields = addressFields(fields)
			for _, f := range []string{"name", "password"} {
				if fields[f] != "" {
					if v.Fields == nil {
						v.Fields = map[string]string{}
					}
					v.Fields[f] = fields[f]
				}
			}
			if v.Fields == nil {
				v.Error = msg
			}
		default:
			v.Error = msg
		}
		for _, f := range []string{"address", "name", "password"} {
			if v.Fields[f] != "" {
				v.Focus = f
				break
			}
		}
		s.render(w, r, signinStatus(err), "signup", v)
		return
	}
	if !byPhone && password != "" {
		res, err := s.finish(r, auth.Cookie(v.RedirectTo))(s.auth.SignInPassword(ctx, auth.Identity{Email: v.Address}, password, client(r)))
		if err != nil {
			// The account exists; let the person sign in to it.
			lv := s.loginView(loginPasswordStep, v.Address, v.RedirectTo)
			lv.Notice = "Your account is created. Sign in to continue."
			lv.Error, _ = s.explain(r, err)
			s.render(w, r, signinStatus(err), "login", lv)
			return
		}
		s.startSession(w, r, res)
		return
	}
	lv := s.loginView(loginCodeStep, v.Address, v.RedirectTo)
	lv.Notice = "Your account is created. Enter the code we sent to finish signing in."
	status := http.StatusOK
	if !byPhone {
		// A phone's code went out with the sign-up (SendCode).
		if err := s.auth.RequestCode(ctx, auth.CodeRequest{Email: v.Address, RedirectTo: v.RedirectTo}); err != nil {
			lv.Error, _ = s.explain(r, err)
			status = signinStatus(err)
		}
	}
	s.render(w, r, status, "login", lv)
}

// recoverView is the password-reset page at one of its steps.
type recoverView struct {
	Step       string
	Email      string
	CodeLength int
	ExpiresIn  string
	Error      string
	Notice     string
	Fields     map[string]string
}

func (s *Server) recoverView(step, email string) recoverView {
	cfg := s.auth.Config()
	return recoverView{Step: step, Email: email, CodeLength: cfg.OTPLength, ExpiresIn: humanWait(cfg.OTPTTL.Seconds())}
}

func (s *Server) recoverPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "recover", s.recoverView(loginStart, ""))
}

// recoverSend emails a reset code and link. The answer is the same for
// every address.
func (s *Server) recoverSend(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	v := s.recoverView(loginStart, strings.TrimSpace(r.PostForm.Get("email")))
	if err := s.auth.Recover(r.Context(), v.Email); err != nil {
		msg, fields := s.explain(r, err)
		switch {
		case auth.KindOf(err) == auth.KindRateLimited:
			v.Step, v.Error = loginCodeStep, msg
		case fields["email"] != "":
			v.Fields = map[string]string{"email": fields["email"]}
		default:
			v.Error = msg
		}
		s.render(w, r, signinStatus(err), "recover", v)
		return
	}
	v.Step = loginCodeStep
	s.render(w, r, http.StatusOK, "recover", v)
}

// recoverVerify sets the new password with the emailed code and signs in;
// every other session of the account ends.
func (s *Server) recoverVerify(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	v := s.recoverView(loginCodeStep, strings.TrimSpace(r.PostForm.Get("email")))
	in := auth.RecoverInput{Email: v.Email, Code: r.PostForm.Get("code"), NewPassword: r.PostForm.Get("new_password")}
	res, err := s.finish(r, auth.Cookie(""))(s.auth.ResetPassword(r.Context(), in))
	if err == nil {
		s.startSession(w, r, res)
		return
	}
	msg, fields := s.explain(r, err)
	switch auth.KindOf(err) {
	case auth.KindInvalidCode, auth.KindCodeExpired:
		v.Fields = map[string]string{"code": codeMessages[auth.KindOf(err)]}
	case auth.KindInvalidRequest, auth.KindWeakPassword:
		v.Fields = map[string]string{}
		for _, f := range []string{"code", "new_password"} {
			if fields[f] != "" {
				v.Fields[f] = fields[f]
			}
		}
		if fields["email"] != "" {
			// The hidden email is bad (edited by hand): start over.
			v.Step, v.Fields = loginStart, map[string]string{"email": fields["email"]}
		}
	default:
		v.Error = msg
	}
	s.render(w, r, signinStatus(err), "recover", v)
}

// logoutPage asks before signing out: a GET never changes anything, so a
// link or a prefetch cannot sign anyone out.
func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p == nil {
		s.redirect(w, r, "/login")
		return
	}
	label := p.User.Email
	if label == "" {
		label = p.User.Phone
	}
	s.render(w, r, http.StatusOK, "login", loginView{Step: loginSignOut, Address: label})
}

// logout ends this browser's session and removes its cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p != nil {
		if err := s.auth.Logout(r.Context(), p, auth.ScopeLocal); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, s.o.Cookies.Clear())
	s.redirect(w, r, "/login?signed_out=1")
}

// restartFlow answers a GET of a step that only answers posts by going to the
// start of its flow.
func (s *Server) restartFlow(start string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target := start
		if t := s.allowedTarget(r.URL.Query().Get("redirect_to")); t != "" && start == "/login" {
			target += "?redirect_to=" + url.QueryEscape(t)
		}
		s.redirect(w, r, target)
	}
}

// maxSignInForm bounds a posted form, like the API's bodies (64 KiB).
const maxSignInForm = 64 << 10

// readSignInForm reads a posted form, bounded like the API's bodies; a body it
// cannot read gets the error page.
func (s *Server) readSignInForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInForm)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		s.render(w, r, status, "error", errorView{Title: "The form could not be read", Message: "Go back, reload the page and try again."})
		return false
	}
	return true
}

// signinStatus is the status of a page that shows err.
func signinStatus(err error) int { return httpauth.Status(auth.KindOf(err)) }

// addressFields moves the flows' email or phone field error onto the
// page's one "Email or phone" field; nil when there is none.
func addressFields(fields map[string]string) map[string]string {
	for _, f := range []string{"email", "phone"} {
		if m := fields[f]; m != "" {
			return map[string]string{"address": m}
		}
	}
	return nil
}

// isPhoneInput tells a phone from an email in the one address field: a
// phone starts with + or is digits (with the usual separators) only. A
// phone without + is refused by the flows with a message asking for one,
// rather than guessed at.
func isPhoneInput(address string) bool {
	a := strings.TrimSpace(address)
	if strings.HasPrefix(a, "+") {
		return true
	}
	digits := false
	for _, c := range a {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			return false
		}
	}
	return digits
}

// allowedTarget returns target when it is safe to send the browser to
// after signing in, else "": auth.AllowedRedirect's rule (the one the
// flows apply again), and not one of the sign-in pages, which would loop.
func (s *Server) allowedTarget(target string) string {
	target = auth.AllowedRedirect(target, s.o.AllowedRedirects)
	if strings.HasPrefix(target, "/") {
		u, err := url.Parse(target)
		if err != nil {
			return ""
		}
		for _, p := range []string{"/login", "/logout"} {
			if u.Path == p || strings.HasPrefix(u.Path, p+"/") {
				return ""
			}
		}
	}
	return target
}
