package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// registerSignIn registers /login and its steps: the code or link, and the
// password. The second-factor step, sign-up, recovery and signing out are
// their own pages (mfa.go, signup.go, recover.go, logout.go).
func (s *Server) registerSignIn() {
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("POST /login/code", s.loginCode)
	s.mux.HandleFunc("POST /login/link", s.loginLink)
	s.mux.HandleFunc("POST /login/verify", s.loginVerify)
	s.mux.HandleFunc("GET /login/password", s.loginPasswordPage)
	s.mux.HandleFunc("POST /login/password", s.loginPassword)
	// The steps take posts; a step's URL opened (a bookmark, a reload
	// after the response) starts over rather than being a 404.
	s.mux.HandleFunc("GET /login/{step...}", s.restartFlow("/login"))
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
	// Passkeys: passkeys are on, so the page offers them (the button,
	// and the address field's autofill); static/passkey.js shows them
	// where the browser can make them.
	Passkeys bool
	// Providers are the "Continue with" buttons.
	Providers []providerButton
	flash
}

// identity returns the address as the flows take it: an email, or a phone.
func (v loginView) identity() auth.Identity {
	if v.Phone {
		return auth.Identity{Phone: v.Address}
	}
	return auth.Identity{Email: v.Address}
}

// loginView returns the page at step for address, with the code's length
// and lifetime as configured.
func (s *Server) loginView(step, address, redirectTo string) loginView {
	cfg := s.auth.Config()
	return loginView{
		Step: step, Address: address, Phone: isPhoneInput(address), RedirectTo: redirectTo,
		CodeLength: cfg.OTPLength, ExpiresIn: humanWait(cfg.OTPTTL.Seconds()),
		Passkeys: s.auth.PasskeysOn(), Providers: s.providerButtons(redirectTo),
	}
}

// login is step 1: one field for an email or a phone.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	target := s.allowedTarget(r.URL.Query().Get("redirect_to"))
	if s.alreadySignedIn(w, r, target) {
		return
	}
	v := s.loginView(loginStart, "", target)
	switch {
	case r.URL.Query().Has("signed_out"):
		v.Notice = "You are signed out."
	case s.cookieDropped(r):
		v.Error = cookieDroppedMessage
	}
	if _, err := r.Cookie(signInMarkerName); err == nil {
		http.SetCookie(w, clearSignInMarker())
	}
	s.render(w, r, http.StatusOK, "login", v)
}

// signInMarkerName is a cookie set beside the session cookie of a
// successful sign-in, without Secure and for a minute, where the public
// URL is plain http. A browser that
// comes back to the sign-in page with the marker but no session cookie
// kept the one and dropped the other: the Secure cookie of a sign-in over
// plain http (a public URL on http with no TLS in front). Saying so beats
// a right password that silently lands back here. The marker holds no
// secret (its value is "check") and proves nothing: at worst, a site that
// sets it makes this page show the hint.
const signInMarkerName = "gatehouse_signed_in"

// cookieDroppedMessage is the hint the sign-in page shows then.
const cookieDroppedMessage = "You signed in, but your browser did not keep the session cookie, so you are not signed in. " +
	"The cookie is Secure and this page was reached over plain http: Gatehouse must be served over https " +
	"(GATEHOUSE_PUBLIC_URL), with GATEHOUSE_TLS_TERMINATED_BY_PROXY=true only when a proxy in front of it ends TLS."

func signInMarker() *http.Cookie {
	return &http.Cookie{
		Name: signInMarkerName, Value: "check", Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}

func clearSignInMarker() *http.Cookie {
	return &http.Cookie{Name: signInMarkerName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// cookieDropped reports a browser that brought the marker of a sign-in
// back without its session cookie (signInMarkerName).
func (s *Server) cookieDropped(r *http.Request) bool {
	if _, err := r.Cookie(signInMarkerName); err != nil {
		return false
	}
	return s.o.Cookies.Value(r) == ""
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
		target = s.path("/")
	}
	s.redirect(w, r, target)
	return true
}

// loginCode sends a sign-in code by email or SMS and shows the code step.
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request) { s.sendCode(w, r, false) }

// loginLink sends a magic link (which carries the code too) by email.
func (s *Server) loginLink(w http.ResponseWriter, r *http.Request) { s.sendCode(w, r, true) }

// sendCode asks for a code or a link. Its response is the same for known
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
	err := s.signIn(w, r, s.cookie(v.RedirectTo))(s.auth.SignInCode(r.Context(), v.identity(), r.PostForm.Get("code")))
	if err == nil {
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
// account get the same response.
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
	err := s.signIn(w, r, s.cookie(v.RedirectTo))(s.auth.SignInPassword(r.Context(), v.identity(), r.PostForm.Get("password"), client(r)))
	if err == nil {
		return
	}
	if auth.KindOf(err) == auth.KindEmailUnverified {
		// Only told to someone who gave the right password.
		cv := checkEmailView{RedirectTo: v.RedirectTo}
		if !v.Phone {
			cv.Address = v.Address
		}
		s.render(w, r, http.StatusForbidden, "check_email", cv)
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

// restartFlow returns the handler that sends a GET of a step that only
// takes posts to the start of its flow.
func (s *Server) restartFlow(start string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target := s.path(start)
		if t := s.allowedTarget(r.URL.Query().Get("redirect_to")); t != "" && start == "/login" {
			target += "?redirect_to=" + url.QueryEscape(t)
		}
		s.redirect(w, r, target)
	}
}

// readSignInForm reads a posted form, bounded like the API's bodies; a body it
// cannot read gets the error page.
func (s *Server) readSignInForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
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
		for _, p := range []string{s.path("/login"), s.path("/logout"), s.path("/step-up")} {
			if u.Path == p || strings.HasPrefix(u.Path, p+"/") {
				return ""
			}
		}
	}
	return target
}
