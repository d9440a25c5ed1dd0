package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// registerLogout registers /logout.
func (s *Server) registerLogout() {
	s.mux.HandleFunc("GET /logout", s.logoutPage)
	s.mux.HandleFunc("POST /logout", s.logout)
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
		s.redirect(w, r, s.path("/login"))
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
	s.redirect(w, r, s.path("/login?signed_out=1"))
}
