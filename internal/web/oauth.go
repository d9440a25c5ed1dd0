package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Provider is one provider people may sign in with (GATEHOUSE_OAUTH_*),
// as the pages use it; the server builds it from package oauth. Errors of
// Start, CallbackError and Finish that a person should read about have a
// Words() string method saying it (what went wrong at the provider, in
// plain words, no detail of the protocol), and an Outage() bool method
// that is true when the provider itself failed (down, or a 5xx), which the
// page answers 502 rather than 400; any other is shown in general terms
// and logged.
type Provider interface {
	// Name is the provider's name in its URLs (/v1/oauth/{name}/...).
	Name() string
	// Label names its button ("Continue with {Label}").
	Label() string
	// FormPost reports a provider that posts its answer to the callback
	// (Apple) instead of redirecting the browser with it.
	FormPost() bool
	// Start makes a fresh state, nonce and PKCE verifier and the URL to
	// send the browser to.
	Start(ctx context.Context) (ProviderRequest, error)
	// CallbackError is the error the provider sent to the callback, or nil
	// when it sent a code.
	CallbackError(q url.Values) error
	// Finish redeems the code of the callback's answer (its query, or a
	// form-post provider's form) with Start's verifier, checks the ID token
	// against Start's nonce, and returns who the provider vouched for. The
	// caller has checked the state.
	Finish(ctx context.Context, answer url.Values, verifier, nonce string) (auth.ProviderIdentity, error)
}

// ProviderRequest is a started sign-in at a provider: the browser goes to
// URL; State, Nonce and Verifier stay sealed in its state cookie.
type ProviderRequest struct {
	URL, State, Nonce, Verifier string
}

// Sealer encrypts and authenticates the state cookie (package seal's
// Box): Open fails for anything Seal did not make for the same purpose.
type Sealer interface {
	Seal(purpose string, plaintext []byte) ([]byte, error)
	Open(purpose string, sealed []byte) ([]byte, error)
}

// oauthCookieName is the state cookie. It lives under its provider's
// /v1/oauth/{name}/ only, so no other page ever gets it, and sign-ins
// started with two providers at once (two tabs) do not replace each
// other's.
const (
	oauthCookieName = "gatehouse_oauth"
	oauthSealing    = "oauth-state"
	// oauthStateTTL bounds a sign-in at the provider: time to type a
	// password and approve, not a day.
	oauthStateTTL = 10 * time.Minute
)

// oauthState is what the state cookie carries, sealed: the browser can
// neither read it (the PKCE verifier is a secret) nor change it.
type oauthState struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v"`
	Redirect string `json:"r,omitempty"`
	// LinkUser is the account a link was started for ("" for a sign-in):
	// the callback links only to that account's session.
	LinkUser string `json:"l,omitempty"`
	Expires  int64  `json:"x"`
}

// registerOAuth registers the provider sign-in routes. A form-post
// provider's callback also takes POST; the server's cross-origin
// protection lets that one route through (see PagePaths).
func (s *Server) registerOAuth() {
	s.mux.HandleFunc("GET /v1/oauth/{provider}/start", s.oauthStart)
	s.mux.HandleFunc("GET /v1/oauth/{provider}/callback", s.oauthCallback)
	s.mux.HandleFunc("POST /v1/oauth/{provider}/callback", s.oauthCallback)
}

// provider returns the configured provider the request's path names.
func (s *Server) provider(r *http.Request) Provider {
	name := r.PathValue("provider")
	for _, p := range s.o.Providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// oauthCookie is the state cookie with value: HttpOnly, Secure as the
// session cookie is, for 10 minutes. SameSite=Lax lets it come back with
// the provider's top-level redirect (a GET); a form-post provider's answer
// is a cross-site POST, which carries no Lax cookie, so that provider's
// cookie is SameSite=None, which browsers take only when Secure. The
// sealed state, not SameSite, is what binds the callback to this browser.
func (s *Server) oauthCookie(p Provider, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: oauthCookieName, Value: value, Path: s.path("/v1/oauth/" + p.Name() + "/"), MaxAge: maxAge,
		HttpOnly: true, Secure: !s.o.Cookies.Insecure, SameSite: http.SameSiteLaxMode}
	if p.FormPost() {
		c.SameSite, c.Secure = http.SameSiteNoneMode, true
	}
	return c
}

// oauthStart sends the browser to the provider, keeping what the callback
// checks in the sealed state cookie. With link=true the signed-in person
// links the provider to their account instead of signing in.
func (s *Server) oauthStart(w http.ResponseWriter, r *http.Request) {
	p := s.provider(r)
	if p == nil || s.o.Sealer == nil {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	st := oauthState{Provider: p.Name(), Redirect: s.allowedTarget(q.Get("redirect_to"))}
	if q.Get("link") == "true" {
		pr, err := s.principal(r)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		if pr == nil {
			s.redirect(w, r, s.path("/login?redirect_to="+url.QueryEscape(s.path("/#identities"))))
			return
		}
		st.LinkUser, st.Redirect = pr.User.ID, ""
	}
	req, err := p.Start(r.Context())
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	st.State, st.Nonce, st.Verifier = req.State, req.Nonce, req.Verifier
	st.Expires = s.now().Add(oauthStateTTL).Unix()
	raw, err := json.Marshal(st)
	if err == nil {
		raw, err = s.o.Sealer.Seal(oauthSealing, raw)
	}
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	http.SetCookie(w, s.oauthCookie(p, base64.RawURLEncoding.EncodeToString(raw), int(oauthStateTTL.Seconds())))
	http.Redirect(w, r, req.URL, http.StatusFound)
}

// errOAuthState: no state cookie, one that does not open or has expired,
// or a state that is not its own: the answer is not for a sign-in this
// browser started (or it started too long ago), so nothing is redeemed.
var errOAuthState = &auth.Error{Kind: auth.KindInvalidRequest,
	Message: "This sign-in was not started in this browser, or it was started too long ago. Start again."}

// oauthCallback ends a sign-in (or a link) the provider sent back: the
// state must be the one this browser's cookie sealed (compared in constant
// time), the cookie is cleared whatever happens, then the code is redeemed
// and auth decides which account the identity signs in to.
func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) {
	p := s.provider(r)
	if p == nil || s.o.Sealer == nil || (r.Method == http.MethodPost && !p.FormPost()) {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.oauthFail(w, r, errOAuthState)
			return
		}
		q = r.PostForm
	}
	st, ok := s.readOAuthState(r, p)
	http.SetCookie(w, s.oauthCookie(p, "", -1))
	if !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		s.oauthFail(w, r, errOAuthState)
		return
	}
	fail := s.oauthFail
	if st.LinkUser != "" {
		fail = s.oauthLinkFail
	}
	if err := p.CallbackError(q); err != nil {
		fail(w, r, err)
		return
	}
	id, err := p.Finish(r.Context(), q, st.Verifier, st.Nonce)
	if err != nil {
		fail(w, r, err)
		return
	}
	if st.LinkUser != "" {
		s.oauthLink(w, r, st, id)
		return
	}
	proof, err := s.auth.SignInProvider(r.Context(), id)
	if err == nil {
		var res *auth.Grant
		if res, err = s.auth.Finish(r.Context(), proof, client(r), s.cookie(st.Redirect)); err == nil {
			s.startSession(w, r, res)
			return
		}
	}
	s.oauthFail(w, r, err)
}

// oauthLink links the identity to the session that started the link.
func (s *Server) oauthLink(w http.ResponseWriter, r *http.Request, st oauthState, id auth.ProviderIdentity) {
	pr, err := s.principal(r)
	if err != nil {
		s.oauthLinkFail(w, r, err)
		return
	}
	if pr == nil || pr.User.ID != st.LinkUser {
		s.oauthLinkFail(w, r, errLinkSignedOut)
		return
	}
	if err := s.auth.LinkProvider(r.Context(), pr, id, client(r)); err != nil {
		s.oauthLinkFail(w, r, err)
		return
	}
	s.redirect(w, r, s.path("/?done=identity_linked#identities"))
}

// errLinkSignedOut: the browser that started a link is no longer signed in
// to the account it started from.
var errLinkSignedOut = &auth.Error{Kind: auth.KindUnauthorized,
	Message: "You are no longer signed in to the account you were linking. Sign in again, then link it from your account page."}

// readOAuthState opens the request's state cookie for p: false when there
// is none, it does not open (forged, or sealed with another secret), it
// is another provider's, or it has expired.
func (s *Server) readOAuthState(r *http.Request, p Provider) (oauthState, bool) {
	var st oauthState
	c, err := r.Cookie(oauthCookieName)
	if err != nil {
		return st, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return st, false
	}
	if raw, err = s.o.Sealer.Open(oauthSealing, raw); err != nil || json.Unmarshal(raw, &st) != nil {
		return st, false
	}
	if st.Provider != p.Name() || st.State == "" || s.now().Unix() >= st.Expires {
		return st, false
	}
	return st, true
}

// oauthFail renders a failed provider sign-in as a page in plain words,
// with the way back to /login; it never sets a session cookie.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	s.oauthFailBack(w, r, err, "You were not signed in", s.path("/login"), "Back to sign-in")
}

// oauthLinkFail renders a failed link, with the way back to the account
// page.
func (s *Server) oauthLinkFail(w http.ResponseWriter, r *http.Request, err error) {
	s.oauthFailBack(w, r, err, "The sign-in method was not linked", s.path("/#identities"), "Back to your account")
}

// oauthFailBack renders the page of a failed provider sign-in or link:
// the provider's words for its own failures, the flows' message for
// theirs.
func (s *Server) oauthFailBack(w http.ResponseWriter, r *http.Request, err error, title, back, backText string) {
	var words interface{ Words() string }
	var outage interface{ Outage() bool }
	status := http.StatusBadRequest
	msg := ""
	if errors.As(err, &words) {
		msg = words.Words()
		level := slog.LevelInfo
		if errors.As(err, &outage) && outage.Outage() {
			// The provider failed, not this person's sign-in: a gateway's
			// error, and worth an operator's look.
			status, level = http.StatusBadGateway, slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "provider sign-in failed", "path", r.URL.Path, "err", err)
	} else {
		msg, _ = s.explain(r, err)
		status = signinStatus(err)
	}
	s.render(w, r, status, "error", errorView{Title: title, Message: msg, Back: back, BackText: backText})
}

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// providerButton is a "Continue with {Label}" link.
type providerButton struct {
	Label, Href string
}

// providerButtons are the buttons of the configured providers, each
// coming back to redirectTo (already checked) after the sign-in.
func (s *Server) providerButtons(redirectTo string) []providerButton {
	if s.o.Sealer == nil {
		return nil
	}
	var out []providerButton
	for _, p := range s.o.Providers {
		href := s.path("/v1/oauth/" + url.PathEscape(p.Name()) + "/start")
		if redirectTo != "" {
			href += "?redirect_to=" + url.QueryEscape(redirectTo)
		}
		out = append(out, providerButton{Label: p.Label(), Href: href})
	}
	return out
}
