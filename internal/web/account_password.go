package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// The password card of the account page. Changing the password signs
// every other device out, so its response refreshes the sessions card too.

// accountPassword changes (or first sets) the password, which ends every
// other session.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u, err := s.auth.User(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := "password"
	if !u.HasPassword() {
		key = "password_set"
	}
	err = s.auth.ChangePassword(r.Context(), p, r.PostFormValue("current_password"), r.PostFormValue("new_password"), client(r))
	if err != nil {
		s.accountFail(w, r, p, cardPassword, err, "", nil)
		return
	}
	s.accountDone(w, r, p, key, cardSessions)
}
