package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// The page an emailed link opens (GET/POST /v1/verify: its address is in
// messages already sent, so it keeps its place under /v1). GET only shows
// a page with one button (a link that proves an email may have a password
// field and a second button: verify_email.go) and consumes nothing, so
// mail scanners that open links cannot burn them; the button's POST
// consumes the link. Its statuses are documented in /openapi.json: 404
// for a link that does not work when opened, 400 when its button is
// pressed (and, on an email's proof, 401 for a wrong password, 429 when
// too many were wrong).
func (s *Server) registerVerify() {
	s.mux.HandleFunc("GET /v1/verify", s.verifyPage)
	s.mux.HandleFunc("POST /v1/verify", s.verifyLink)
}

// verifyView is the page of an emailed link.
type verifyView struct {
	Title, Button, Token string
	// Recovery asks for the new password of a reset.
	Recovery bool
	flash
}

var (
	deadLink = verifyView{Title: "This link does not work", flash: flash{Error: "It may have been used already, or mistyped. Ask for a new one."}}
	// linkUnavailable is the page of a link the store could not check;
	// the link itself may be fine.
	linkUnavailable = verifyView{Title: "Try again shortly", flash: flash{Error: "The server could not complete this just now."}}
)

// signInLink is the page of a live sign-in link sent to address: it names
// the app and the account (the address masked, as the page is open to
// whoever holds the link), so a person who did not ask for it can tell.
func signInLink(token, app, address string) verifyView {
	title := "Sign in to " + app
	notice := "Continue to sign in on this device."
	if address != "" {
		title += " as " + auth.MaskAddress(address)
		notice = "Continue to sign in on this device as " + auth.MaskAddress(address) + ". If you did not ask for this link, close this page: nothing happens."
	}
	return verifyView{Title: title, flash: flash{Notice: notice}, Button: "Sign in", Token: token}
}

// recoveryLink is the page of a live reset link: it asks for the new
// password.
func recoveryLink(token string) verifyView {
	return verifyView{Title: "Choose a new password", Button: "Set password and sign in", Token: token, Recovery: true}
}

// verifyPage shows the link's page and consumes nothing.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	info, err := s.auth.Link(r.Context(), token)
	var purpose string
	if info != nil {
		purpose = info.Purpose
	}
	switch {
	case err != nil:
		s.log.WarnContext(r.Context(), "check link", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "verify", linkUnavailable)
	case purpose == auth.PurposeSignIn:
		s.render(w, r, http.StatusOK, "verify", signInLink(token, s.o.AppName, info.Address))
	case purpose == auth.PurposeRecovery:
		s.render(w, r, http.StatusOK, "verify", recoveryLink(token))
	case purpose == auth.PurposeEmail:
		s.emailLinkPage(w, r, info, token)
	default:
		s.render(w, r, http.StatusNotFound, "verify", deadLink)
	}
}

// verifyLink consumes the link: a cookie session (or the second-factor
// step), or a page that says why not, with no cookie.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request) {
	if !s.readSignInForm(w, r) {
		return
	}
	if r.PostForm.Has("mfa_token") {
		s.verifyLinkMFA(w, r)
		return
	}
	ctx := r.Context()
	token := r.PostForm.Get("token")
	var p *auth.Proof
	var err error
	if r.PostForm.Has("new_password") {
		p, err = s.auth.ResetPassword(ctx, auth.RecoverInput{Token: token, NewPassword: r.PostForm.Get("new_password")})
	} else {
		// An email's proof posts the fields of its own page (or none, from
		// the holder's browser): what the link is for decides.
		info, lerr := s.auth.Link(ctx, token)
		if lerr != nil {
			s.linkFailed(w, r, lerr)
			return
		}
		if info != nil && info.Purpose == auth.PurposeEmail {
			s.emailLinkPost(w, r, info, token)
			return
		}
		p, err = s.auth.SignInLink(ctx, token)
	}
	err = s.signIn(w, r, s.cookie(""))(p, err)
	if err == nil {
		return
	}
	if auth.KindOf(err) == auth.KindWeakPassword {
		msg, fields := s.explain(r, err)
		v := recoveryLink(token)
		v.Error, v.Fields = msg, fields
		s.render(w, r, http.StatusBadRequest, "verify", v)
		return
	}
	s.linkFailed(w, r, err)
}

// linkFailed renders the page of a link whose button failed: dead (400),
// expired, its account disabled (403), or not checked (503).
func (s *Server) linkFailed(w http.ResponseWriter, r *http.Request, err error) {
	v, status := deadLink, http.StatusBadRequest
	switch auth.KindOf(err) {
	case auth.KindCodeExpired:
		v.Error = "It has expired. Ask for a new one."
	case auth.KindForbidden:
		v.Error, status = "This account is disabled.", http.StatusForbidden
	case auth.KindUnavailable, "":
		s.explain(r, err) // logs it
		v, status = linkUnavailable, http.StatusServiceUnavailable
	}
	s.render(w, r, status, "verify", v)
}

// verifyLinkMFA takes the second-factor step posted to the link's own
// address, as the link page's step did before the pages served it (a
// step rendered then may still be open): 400 for a wrong code or a dead
// step, as /v1/verify documents, where /login/mfa responds 401.
func (s *Server) verifyLinkMFA(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("send") == auth.FactorEmail {
		s.loginMFAEmail(w, r)
		return
	}
	ctx := r.Context()
	in := auth.MFAInput{Token: r.PostForm.Get("mfa_token"), Factor: r.PostForm.Get("factor"), Code: r.PostForm.Get("code")}
	if len(s.auth.MFAFactors(ctx, in.Token)) == 0 {
		s.render(w, r, http.StatusBadRequest, "mfa", signinMFAView{Dead: true, flash: flash{Error: "This sign-in is not valid any more. Start again to sign in."}})
		return
	}
	err := s.signIn(w, r, s.cookie(""))(s.auth.SecondFactor(ctx, in, client(r), s.cookie("")))
	if err == nil {
		return
	}
	factors := s.auth.MFAFactors(ctx, in.Token)
	if k := auth.KindOf(err); len(factors) == 0 || k != auth.KindInvalidCode && k != auth.KindInvalidRequest {
		s.renderMFAEnded(w, r, err)
		return
	}
	v := newSigninMFAView(in.Token, factors, in.Factor)
	v.Fields = map[string]string{"code": codeMessages[auth.KindInvalidCode]}
	s.render(w, r, http.StatusBadRequest, "mfa", v)
}
