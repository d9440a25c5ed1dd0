package api

import "net/http"

// Routes answers every pattern registered on s's mux, in registration order.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

// RouteOf answers the pattern of the mux that serves r ("/" for the
// catch-all that answers 404 and 405).
func (s *Server) RouteOf(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}
