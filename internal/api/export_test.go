package api

import (
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/auth"
)

// servers are the Servers New built in this test binary, by the flows they
// serve: each test server has a Service of its own.
var servers sync.Map

func init() { built = func(s *Server) { servers.Store(s.auth, s) } }

// ServerOf returns the Server New built over the flows a, or nil.
func ServerOf(a *auth.Service) *Server {
	s, _ := servers.Load(a)
	srv, _ := s.(*Server)
	return srv
}

// Routes returns every pattern registered on s's mux, in registration order.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

// RouteOf returns the pattern of the mux that serves r ("/" for the
// catch-all that answers 404 and 405).
func (s *Server) RouteOf(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}
