package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// The profile card's banner while the account's email is not proven yet
// (a sign-up with a password leaves it so and mails a code and a link):
// the emailed code proves it from here, and "Send again" mails a new one.
// The link itself opens its own page (verify_email.go).

// accountEmailVerify proves the account's email with the emailed code.
// The session is the account's, so the proof keeps everything.
func (s *Server) accountEmailVerify(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if _, err := s.auth.ProveEmail(r.Context(), p, auth.EmailProof{Code: r.PostFormValue("code")}); err != nil {
		s.accountFail(w, r, p, cardProfile, err, "code", nil)
		return
	}
	s.accountDone(w, r, p, "email")
}

// accountEmailResend mails a new code and link for the account's own
// unproven email.
func (s *Server) accountEmailResend(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	// The address as stored now: the principal's copy may be cached.
	u, err := s.auth.User(r.Context(), p)
	if err == nil {
		err = s.auth.RequestEmail(r.Context(), p, u.Email)
	}
	if err != nil {
		s.accountFail(w, r, p, cardProfile, err, "", func(v *accountView) {
			// The form has no email field: say what is wrong with the
			// address (proven meanwhile) above it.
			var ae *auth.Error
			if errors.As(err, &ae) {
				for _, f := range ae.Fields {
					if f.Field == "email" {
						v.Profile.Error = fieldLabel(f.Field) + " " + f.Message + "."
					}
				}
			}
		})
		return
	}
	s.accountDone(w, r, p, "email_sent")
}
