package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// registerRecover registers /recover, the password reset by an emailed
// code (the emailed link opens verify.go's page instead).
func (s *Server) registerRecover() {
	s.mux.HandleFunc("GET /recover", s.recoverPage)
	s.mux.HandleFunc("POST /recover", s.recoverSend)
	s.mux.HandleFunc("POST /recover/verify", s.recoverVerify)
	s.mux.HandleFunc("GET /recover/{step...}", s.restartFlow("/recover"))
}

// recoverView is the password-reset page at one of its steps.
type recoverView struct {
	Step       string
	Email      string
	CodeLength int
	ExpiresIn  string
	flash
}

// recoverView returns the page at step for email, with the code's length
// and lifetime as configured.
func (s *Server) recoverView(step, email string) recoverView {
	cfg := s.auth.Config()
	return recoverView{Step: step, Email: email, CodeLength: cfg.OTPLength, ExpiresIn: humanWait(cfg.OTPTTL.Seconds())}
}

// recoverPage shows the first step: the email to send a reset code to.
func (s *Server) recoverPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "recover", s.recoverView(loginStart, ""))
}

// recoverSend emails a reset code and link. The response is the same for
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
	err := s.signIn(w, r, s.cookie(""))(s.auth.ResetPassword(r.Context(), in))
	if err == nil {
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
