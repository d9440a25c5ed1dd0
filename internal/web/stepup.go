package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/auth"
)

// The step-up page (/step-up): a browser signed in with one factor meets
// an access rule that asks aal2 (/v1/check sends it here with the app's
// address in redirect_to). The page asks for the second factor, as the
// second step of a sign-in does, and raises the same session to aal2 with
// a new cookie; then the browser goes back to the app. An account without
// a second factor is offered to set one up.

// registerStepUp registers the page; the second-factor posts are the
// sign-in's (/login/mfa…), which finish a step-up's token by raising the
// session it names.
func (s *Server) registerStepUp() {
	s.mux.HandleFunc("GET /step-up", s.signedIn(s.stepUp))
}

// stepUpView is the page for an account with no second factor to step up
// with.
type stepUpView struct {
	// Again is this page's address with the same target, to come back to
	// once a factor is on.
	Again string
}

// stepUp shows the second-factor step of a step-up, or sends a session
// at aal2 straight on to the target.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	target := s.allowedTarget(r.URL.Query().Get("redirect_to"))
	if target == "" {
		target = s.path("/")
	}
	if p.Session.AAL == auth.AAL2 {
		s.redirect(w, r, target)
		return
	}
	m, err := s.auth.StepUp(r.Context(), p, client(r), s.cookie(target))
	if errors.Is(err, auth.ErrNoSecondFactor) {
		again := s.path("/step-up?redirect_to=" + url.QueryEscape(target))
		s.render(w, r, http.StatusForbidden, "step_up", stepUpView{Again: again})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := newSigninMFAView(m.Token, m.Factors, lastFactor(r))
	v.StepUp = true
	s.render(w, r, http.StatusOK, "mfa", v)
}

// stepUpForm reports a second-factor form posted from the step-up page
// (its hidden step_up field), so the redrawn step keeps its words. It
// decides nothing: the MFA token names the session it raises.
func stepUpForm(r *http.Request) bool { return r.PostForm.Get("step_up") == "1" }
