package gatehousetest

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

func TestLeaks(t *testing.T) {
	t.Parallel()
	l := &Logs{}
	l.Secret("123456", "opaque-token-value", "header.payload.signature", "")
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"clean", `{"msg":"sign-in","user":"u1"}`, nil},
		{"code alone", `{"msg":"code 123456 sent"}`, []string{"123456"}},
		{"code inside a longer number", `{"id":"91234567"}`, nil},
		{"code as a duration", `{"time":"2026-01-01T00:00:00.123456Z","duration":123456}`, nil},
		{"token", `{"cookie":"opaque-token-value"}`, []string{"opaque-token-value"}},
		{"a JWT's signature alone", `{"sig":"signature"}`, []string{"signature"}},
	} {
		if got := l.Leaks(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Leaks(%s) = %q, want %q", tc.name, tc.text, got, tc.want)
		}
	}
}

// TestStart: a server of the harness answers over HTTP, hashes cheaply and
// remembers the secrets of what its helpers did.
func TestStart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !s.Config.CheapPasswordHashing || s.Config.PublicURL != PublicURL || s.Clock.Now().IsZero() {
		t.Fatalf("config %+v", s.Config)
	}
	tok := s.Account(t, "start@example.com")
	s.Do(t, "GET", "/v1/check", nil, Bearer(tok.AccessToken)).Want(200)
	cookie, _ := s.Session(t, "start@example.com", auth.Client{UserAgent: "test"})
	s.Do(t, "GET", "/v1/check", nil, s.Cookie(cookie)).Want(200)
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, cookie, Password} {
		if got := s.Logs.Leaks(secret); len(got) == 0 {
			t.Errorf("%.12s… is not among the log's secrets", secret)
		}
	}
}

// TestClients: FromClients counts each request from the address From
// names, and RoomyClientLimits is a configuration the server accepts.
func TestClients(t *testing.T) {
	t.Parallel()
	s := Start(t, WithMail(), FromClients(), WithConfig(func(c *gatehouse.Config) { c.ClientSendLimit = 1 }))
	ask := func(email, ip string) *Response {
		return s.Do(t, "POST", "/v1/otp", map[string]string{"email": email}, From(ip))
	}
	ask("a@example.com", "192.0.2.1").Accepted()
	ask("b@example.com", "192.0.2.1").WantProblem(429, "rate_limited")
	ask("c@example.com", "192.0.2.2").Accepted()

	r := Start(t, RoomyClientLimits())
	if r.Config.ClientSendLimit != 10_000 || r.Config.ClientCodeFailureLimit != 10_000 || r.Config.GlobalSendLimit != 10_000_000 {
		t.Errorf("roomy limits %d %d %d", r.Config.ClientSendLimit, r.Config.ClientCodeFailureLimit, r.Config.GlobalSendLimit)
	}
}
