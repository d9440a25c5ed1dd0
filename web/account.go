package web

// registerAccount registers the account page (/) and its forms.
func (s *Server) registerAccount() {}
