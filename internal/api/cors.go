package api

import (
	"net/http"
	"strings"
)

// cors adds CORS headers for browsers on the trusted origins
// (GATEHOUSE_CORS_ORIGINS):
// their apps may call the JSON API with credentials (the session cookie or
// an Authorization header). Other origins get no CORS headers, so browsers
// keep them from reading responses; the cross-site protection stops them
// from changing state.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.o.TrustedOrigins) == 0 {
		return next
	}
	allowed := make(map[string]bool, len(s.o.TrustedOrigins))
	for _, o := range s.o.TrustedOrigins {
		allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !allowed[strings.ToLower(origin)] {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id, X-Auth-User-Id, X-Auth-Email, X-Auth-Email-Verified, X-Auth-Session-Id, X-Auth-Roles, X-Auth-AAL")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
