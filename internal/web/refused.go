package web

import "net/http"

// Refused writes the page of a signed-in browser that an application
// embedding Gatehouse turned away (gatehouse.RequireAAL2, RequireRole):
// 403, title and message in plain words, and the way to the account page,
// where a second factor is added. The application's own handler, not this
// server's mux, answers such a request, so the page's security headers
// are set here.
func (s *Server) Refused(w http.ResponseWriter, r *http.Request, title, message string) {
	securityHeaders(w.Header(), s.csp)
	s.render(w, r, http.StatusForbidden, "error", errorView{Title: title, Message: message, Back: s.path("/"), BackText: "Go to your account"})
}
