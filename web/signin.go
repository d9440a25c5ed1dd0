package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// registerSignIn registers /login, /signup, /recover, the second-factor
// step and /logout.
func (s *Server) registerSignIn() {}

// renderMFA shows the second-factor step of a sign-in.
func (s *Server) renderMFA(w http.ResponseWriter, r *http.Request, status int, m *auth.MFARequired, message string) {
	s.render(w, r, status, "error", errorView{Title: "One more step", Message: message})
}
