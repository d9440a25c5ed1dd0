package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/phone"
)

// The phone card of the account page: adding or changing a phone number
// takes a code sent to it by SMS, shown as a second step of the card.

// phoneCard is the phone card, at its number step or its code step.
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
	s.respond(w, r, http.StatusOK, v, cardPhone)
}

// accountPhoneVerify saves the number a code went to once the code is
// right: the number is then the account's, verified.
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

// normalPhone returns a number carried back by a form in E.164, or "" for
// anything that is not a valid number (it is only shown, never used).
func normalPhone(raw string) string {
	n, err := phone.Parse(raw)
	if err != nil {
		return ""
	}
	return n.E164
}
