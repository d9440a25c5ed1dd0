package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com"
	srv := newEnv(t, sqliteDB, withCORSOrigins(app)).G
	for _, tc := range []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantAllow            string
	}{
		{"trusted preflight", http.MethodOptions, app, true, http.StatusNoContent, app},
		{"trusted simple GET", http.MethodGet, app, false, http.StatusUnauthorized, app},
		{"other origin preflight", http.MethodOptions, "https://evil.example", true, http.StatusMethodNotAllowed, ""},
		{"other origin GET", http.MethodGet, "https://evil.example", false, http.StatusUnauthorized, ""},
		{"no origin", http.MethodGet, "", false, http.StatusUnauthorized, ""},
	} {
		// /v1/check too: the front door routes it to the check by its own
		// pattern, which must not pass by the API's middleware.
		for _, path := range []string{"/v1/user", "/v1/check"} {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, path, nil)
				if tc.origin != "" {
					req.Header.Set("Origin", tc.origin)
				}
				if tc.preflight {
					req.Header.Set("Access-Control-Request-Method", "PATCH")
					req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != tc.wantStatus {
					t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
				}
				h := rec.Header()
				if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
					t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tc.wantAllow)
				}
				if tc.wantAllow == "" {
					return
				}
				if h.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
					t.Fatalf("credentials/vary headers: %v", h)
				}
				if tc.preflight && (!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PATCH") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization")) {
					t.Fatalf("preflight headers: %v", h)
				}
			})
		}
	}
	// A trusted origin may also change state across sites.
	req := httptest.NewRequest(http.MethodPost, "/v1/logout", nil)
	req.Header.Set("Origin", app)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("trusted cross-site POST: status %d, want 401 (not refused as cross-site)", rec.Code)
	}
}
