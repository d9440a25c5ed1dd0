package web

import "github.com/gatehouse/gatehouse/auth"

// registerAdmin registers /admin.
func (s *Server) registerAdmin() {}

// isAdmin reports whether p may use the admin page.
func isAdmin(p *auth.Principal) bool { return false }
