package gatehouse_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
)

// startupLines returns the messages of the log lines that start with
// prefix.
func startupLines(t *testing.T, logs *gatehousetest.Logs, prefix string) []string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if strings.HasPrefix(l.Msg, prefix) {
			out = append(out, l.Msg)
		}
	}
	return out
}

// TestProvidersLoggedAtStart: start-up logs one line naming the sign-in
// providers that are on, by name and label, and nothing of their
// settings: the harness fails the test if a client secret reaches the log
// (it remembers every CLIENT_SECRET it sets).
func TestProvidersLoggedAtStart(t *testing.T) {
	t.Parallel()
	var acme *oauthtest.OIDC
	var gh *oauthtest.GitHub
	for _, tc := range []struct {
		name string
		opts []gatehousetest.Option
		want string
	}{
		{"none", nil, "sign-in providers: none"},
		{"some", []gatehousetest.Option{
			gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, oauthtest.User{}, &acme),
			gatehousetest.WithProviderSetting("acme", "LABEL", "Acme \"Corp\""),
			gatehousetest.WithGitHubFake(oauthtest.GitHubUser{}, &gh),
		}, `sign-in providers: acme ("Acme \"Corp\""), github ("GitHub")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := gatehousetest.NewLogs(t)
			gatehousetest.Start(t, append(tc.opts, gatehousetest.WithLogs(logs))...)
			got := startupLines(t, logs, "sign-in providers")
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("start-up lines %q, want one: %q", got, tc.want)
			}
			for _, secret := range []string{"fake-acme-client-secret", "fake-github-client-secret"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log holds a client secret")
				}
			}
		})
	}
}

// TestIDTokenGrantProviderDown: the id_token grant for a provider whose
// discovery or keys cannot be fetched answers 503 unavailable (a backend
// that is down, as docs/contract.md's conventions say), never 401: the
// app's token may be good. Once the provider answers, the same token
// signs in.
func TestIDTokenGrantProviderDown(t *testing.T) {
	t.Parallel()
	var fake *oauthtest.OIDC
	u := oauthtest.User{Subject: "acme-1", Email: "one@example.com", EmailVerified: true}
	s := gatehousetest.Start(t, gatehousetest.WithOIDCFake("acme", oauthtest.OIDCOptions{}, u, &fake))
	tok := fake.IDToken(u, "gatehouse-acme", "", oauthtest.Good)
	s.Logs.Secret(tok)
	grant := func(t *testing.T) *gatehousetest.Response {
		return s.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "id_token", "provider": "acme", "id_token": tok})
	}
	for _, tc := range []struct {
		name string
		down func(bool)
	}{
		// First discovery itself, then, discovered, the keys.
		{"discovery", fake.Down},
		{"keys", func(d bool) { fake.DownAt("/jwks", d) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.down(true)
			defer tc.down(false)
			p := grant(t).WantProblem(http.StatusServiceUnavailable, "unavailable")
			if !strings.Contains(p.Detail, "Acme") {
				t.Errorf("detail %q does not name the provider", p.Detail)
			}
		})
	}
	s.Tokens(grant(t))
}
