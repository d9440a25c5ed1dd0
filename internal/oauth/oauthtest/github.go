package oauthtest

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// GitHubUser is who the GitHub fake signs in.
type GitHubUser struct {
	ID     int64
	Login  string
	Name   string
	Emails []GitHubEmail
}

// GitHubEmail is one entry of GET /user/emails.
type GitHubEmail struct {
	Email    string
	Primary  bool
	Verified bool
}

// GitHub is a fake github.com and api.github.com on one server: GET
// /login/oauth/authorize, POST /login/oauth/access_token (the client's ID
// and secret in the body, as GitHub documents), GET /user and GET
// /user/emails (the Bearer token, Accept: application/vnd.github+json).
type GitHub struct {
	URL                                 string
	clientID, clientSecret, redirectURI string
	codes                               codes

	mu      sync.Mutex
	user    GitHubUser
	deny    bool
	tokens  map[string]GitHubUser
	outages outages
}

// NewGitHub starts a fake GitHub for one OAuth app; it stops when the test
// ends.
func NewGitHub(t testing.TB, clientID, clientSecret, redirectURI string, u GitHubUser) *GitHub {
	t.Helper()
	f := &GitHub{clientID: clientID, clientSecret: clientSecret, redirectURI: redirectURI, user: u, tokens: map[string]GitHubUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
	mux.HandleFunc("/login/oauth/access_token", f.token)
	mux.HandleFunc("GET /user", f.api(func(u GitHubUser) any {
		return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name}
	}))
	mux.HandleFunc("GET /user/emails", f.api(func(u GitHubUser) any {
		out := []map[string]any{}
		for _, e := range u.Emails {
			out = append(out, map[string]any{"email": e.Email, "primary": e.Primary, "verified": e.Verified, "visibility": nil})
		}
		return out
	}))
	srv := httptest.NewServer(f.outages.serve("fake GitHub", mux))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// DownAt makes the endpoint at path ("/login/oauth/access_token",
// "/user", "/user/emails") answer 503, as GitHub having an outage there
// (false brings it back).
func (f *GitHub) DownAt(path string, down bool) { f.outages.set(path, down) }

// SetUser changes who the next authorizations sign in.
func (f *GitHub) SetUser(u GitHubUser) { f.mu.Lock(); f.user = u; f.mu.Unlock() }

// Deny makes the next authorizations answer error=access_denied.
func (f *GitHub) Deny(deny bool) { f.mu.Lock(); f.deny = deny; f.mu.Unlock() }

func (f *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkAuthorize(q, f.clientID, f.redirectURI); err != nil {
		http.Error(w, "fake GitHub: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	deny, user := f.deny, f.user
	f.mu.Unlock()
	if deny {
		answer(w, r, f.redirectURI, url.Values{"error": {"access_denied"}, "state": {q.Get("state")}}, false)
		return
	}
	code := f.codes.issue(&grant{clientID: f.clientID, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), user: user})
	answer(w, r, f.redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}}, false)
}

// token answers form-encoded, GitHub's default without an Accept header
// (and JSON with one), with errors in a 200 as GitHub sends them.
func (f *GitHub) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := func(v url.Values) {
		if r.Header.Get("Accept") == "application/json" {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = w.Write([]byte(v.Encode()))
	}
	if terr := checkClient(r, "client_secret_post", f.clientID, equalSecret(f.clientSecret)); terr != nil {
		reply(url.Values{"error": {"incorrect_client_credentials"}, "error_description": {terr.descr}})
		return
	}
	g, terr := f.codes.redeem(r, f.clientID)
	if terr != nil {
		reply(url.Values{"error": {"bad_verification_code"}, "error_description": {terr.descr}})
		return
	}
	tok := "gho_" + rand.Text()
	f.mu.Lock()
	f.tokens[tok] = g.user.(GitHubUser)
	f.mu.Unlock()
	reply(url.Values{"access_token": {tok}, "token_type": {"bearer"}, "scope": {"read:user,user:email"}})
}

func (f *GitHub) api(body func(GitHubUser) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/vnd.github+json" {
			http.Error(w, `{"message":"send Accept: application/vnd.github+json"}`, http.StatusBadRequest)
			return
		}
		const bearer = "Bearer "
		auth := r.Header.Get("Authorization")
		f.mu.Lock()
		u, ok := f.tokens[auth[min(len(auth), len(bearer)):]]
		f.mu.Unlock()
		if len(auth) < len(bearer) || auth[:len(bearer)] != bearer || !ok {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body(u))
	}
}
