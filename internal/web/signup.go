package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// registerSignUp registers /signup.
func (s *Server) registerSignUp() {
	s.mux.HandleFunc("GET /signup", s.signupPage)
	s.mux.HandleFunc("POST /signup", s.signup)
}

// signupView is the sign-up form.
type signupView struct {
	Address, Name, RedirectTo string
	// Taken: the address has an account; the page offers to sign in.
	Taken bool
	// Focus names the field that gets the focus.
	Focus string
	// Passkeys: the page offers to create the account with a passkey
	// (passkeySignUpOn; passkey.js shows it where the browser can).
	Passkeys bool
	// Providers are the "Continue with" buttons.
	Providers []providerButton
	flash
}

// signupPage shows the empty form.
func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	target := s.allowedTarget(r.URL.Query().Get("redirect_to"))
	s.render(w, r, http.StatusOK, "signup", signupView{
		Focus: "address", RedirectTo: target, Passkeys: s.passkeySignUpOn(), Providers: s.providerButtons(target),
	})
}

// signup creates an account. With an email and a password it signs in
// at once (where the server requires a proven email first, it says to
// check the email instead); otherwise the address must be proven first, so
// the browser goes to the code step of sign-in for it.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	ctx := r.Context()
	v := signupView{
		Address: strings.TrimSpace(r.PostForm.Get("address")), Name: r.PostForm.Get("name"),
		RedirectTo: s.allowedTarget(r.PostForm.Get("redirect_to")), Passkeys: s.passkeySignUpOn(),
	}
	v.Providers = s.providerButtons(v.RedirectTo)
	password := r.PostForm.Get("password")
	byPhone := isPhoneInput(v.Address)
	// SendCode: the sign-up's own messages go out, a phone's code or an
	// email's proof (for an account with a password).
	in := auth.SignUpInput{Name: v.Name, Password: password, SendCode: true}
	if byPhone {
		in.Phone = v.Address
	} else {
		in.Email = v.Address
	}
	if v.Address == "" {
		v.Fields, v.Focus = map[string]string{"address": "Enter your email or phone number."}, "address"
		s.render(w, r, http.StatusBadRequest, "signup", v)
		return
	}
	u, err := s.auth.SignUp(ctx, in)
	if err != nil {
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
		if s.auth.Config().RequireVerifiedEmail && !u.EmailVerified {
			// The password cannot sign in until the email is proven, and
			// the sign-up mailed its code and link: that is the next step,
			// not an error. (Trying the password would only replace that
			// message with another.)
			s.render(w, r, http.StatusOK, "check_email", checkEmailView{Address: u.Email, RedirectTo: v.RedirectTo})
			return
		}
		err := s.signIn(w, r, s.cookie(v.RedirectTo))(s.auth.SignInPassword(ctx, auth.Identity{Email: v.Address}, password, client(r)))
		if auth.KindOf(err) == auth.KindEmailUnverified {
			// The setting came on meanwhile; the refusal mailed a new proof.
			s.render(w, r, http.StatusOK, "check_email", checkEmailView{Address: v.Address, RedirectTo: v.RedirectTo})
			return
		}
		if err != nil {
			// The account exists; let the person sign in to it.
			lv := s.loginView(loginPasswordStep, v.Address, v.RedirectTo)
			lv.Notice = "Your account is created. Sign in to continue."
			lv.Error, _ = s.explain(r, err)
			s.render(w, r, signinStatus(err), "login", lv)
		}
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

// checkEmailView is the page of a password sign-in that waits for its
// email to be proven: the code and link that prove it went out.
type checkEmailView struct {
	// Address is the email, or "" when the person typed a phone.
	Address    string
	RedirectTo string
}
