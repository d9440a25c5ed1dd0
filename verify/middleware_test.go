package verify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

// TestMiddleware: requests without a good token get a 401 problem with the
// issuer's codes and a Bearer challenge; good ones reach the handler with
// their claims.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	id := is.signUp("mw@example.com")
	good := is.signIn("mw@example.com")
	expired := is.signIn("mw@example.com")
	revoked := is.signIn("mw@example.com")
	v := is.verifier(verify.WithRevocationCheck(time.Minute))

	app := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFrom(r.Context())
		if !ok {
			t.Error("ClaimsFrom found no claims behind Middleware")
			return
		}
		_, _ = io.WriteString(w, c.Subject+" "+c.Email)
	}))
	srv := httptest.NewServer(app)
	defer srv.Close()
	get := func(auth ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
		for _, a := range auth {
			req.Header.Add("Authorization", a)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	if res, body := get("Bearer " + good); res.StatusCode != http.StatusOK || body != id+" mw@example.com" {
		t.Fatalf("good token: %d %q", res.StatusCode, body)
	}
	if _, err := v.Verify(t.Context(), revoked); err != nil { // asks /v1/check while the session is live
		t.Fatal(err)
	}
	is.logout(revoked)
	is.Clock.Advance(time.Minute) // the answer of /v1/check is now stale

	const plain = `Bearer realm="gatehouse"`
	tests := []struct {
		name      string
		advance   time.Duration
		auth      []string
		code      string
		challenge string
	}{
		{"no header", 0, nil, "unauthorized", plain},
		{"empty bearer", 0, []string{"Bearer "}, "unauthorized", plain},
		{"Basic scheme", 0, []string{"Basic " + good}, "unauthorized", plain},
		{"two headers", 0, []string{"Bearer " + good, "Bearer " + good}, "unauthorized", plain},
		{"garbage", 0, []string{"Bearer garbage"}, "unauthorized", `Bearer realm="gatehouse", error="invalid_token", error_description="Sign-in required."`},
		{"revoked", 0, []string{"Bearer " + revoked}, "token_revoked", `Bearer realm="gatehouse", error="invalid_token", error_description="The session has ended."`},
		{"expired", 15 * time.Minute, []string{"Bearer " + expired}, "token_expired", `Bearer realm="gatehouse", error="invalid_token", error_description="The access token has expired."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is.Clock.Advance(tt.advance)
			res, body := get(tt.auth...)
			var p struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
				Code   string `json:"code"`
				Detail string `json:"detail"`
			}
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal([]byte(body), &p) != nil || p.Status != 401 || p.Code != tt.code || p.Type != "about:blank" || p.Detail == "" {
				t.Errorf("%d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if strings.Contains(body, "mw@example.com") {
				t.Error("a refusal reached the handler")
			}
		})
	}

	// An issuer that cannot be asked is neither trust nor refusal: 503.
	fresh := is.signIn("mw@example.com")
	is.checkDown.Store(true)
	if res, body := get("Bearer " + fresh); res.StatusCode != http.StatusServiceUnavailable ||
		res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"unavailable"`) ||
		res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("check endpoint down: %d %s %q", res.StatusCode, body, res.Header.Get("WWW-Authenticate"))
	}
}
