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
	flash
}

// signupPage shows the empty form.
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
		if err := s.signIn(w, r, auth.Cookie(v.RedirectTo))(s.auth.SignInPassword(ctx, auth.Identity{Email: v.Address}, password, client(r))); err != nil {
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
