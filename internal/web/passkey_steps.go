package web

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/auth"
)

// Passkeys at two more steps of the pages: creating an account with a
// passkey and no password (/signup), and a passkey as the second step of
// a sign-in (/login/mfa). Both are JSON endpoints static/passkey.js calls,
// written like /login/passkey/… (passkeys.go): same-origin posts of JSON
// only, refusals as JSON with the pages' messages, and the session cookie
// set from Finish on the cookie channel. Without JavaScript the pages show
// their forms as before: password or code sign-up, and the code factors.

// registerPasskeySteps registers the sign-up and second-step endpoints.
func (s *Server) registerPasskeySteps() {
	s.mux.HandleFunc("POST /signup/passkey/begin", s.signupPasskeyBegin)
	s.mux.HandleFunc("POST /signup/passkey/finish", s.signupPasskeyFinish)
	s.mux.HandleFunc("POST /login/mfa/passkey/begin", s.mfaPasskeyBegin)
	s.mux.HandleFunc("POST /login/mfa/passkey/finish", s.mfaPasskeyFinish)
}

// passkeySignUpOn reports whether /signup offers a passkey: passkeys work
// on this server and sign-up without a password is on (else the endpoints
// answer 403, and a button that can only fail is not shown).
func (s *Server) passkeySignUpOn() bool {
	return s.auth.PasskeysOn() && *s.auth.Config().PasswordlessSignup
}

// failJSONField is failJSON that words the refusal of one field by that
// field's message ("Email is already registered."), which says more to a
// page with one field than the request's general one.
func (s *Server) failJSONField(w http.ResponseWriter, r *http.Request, err error) {
	msg, fields := s.explain(r, err)
	for _, f := range []string{"email", "name"} {
		if fields[f] != "" && auth.KindOf(err) == auth.KindInvalidRequest {
			msg = fields[f] + "."
			break
		}
	}
	s.writeFailure(w, err, msg, fields)
}

// signupPasskeyBegin starts creating an account for the posted email with
// a passkey (auth checks the email, and that it is free, already here).
func (s *Server) signupPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	id, options, err := s.auth.BeginPasskeySignUp(r.Context(), in.Email, in.Name)
	if err != nil {
		s.failJSONField(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ceremonyAnswer{ChallengeID: id, PublicKey: options})
}

// signupPasskeyFinish creates the account with the browser's new passkey
// and signs it in (the session cookie, as every sign-in sets it), the
// email still to be proven: the account page says so, and the proof went
// out with the sign-up.
func (s *Server) signupPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
		RedirectTo  string          `json:"redirect_to"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	proof, err := s.auth.SignUpPasskey(r.Context(), in.ChallengeID, in.Credential, "", client(r))
	s.finishPasskeySignIn(w, r, proof, err, in.RedirectTo, s.failJSONField)
}

// finishPasskeySignIn ends a sign-in a passkey ceremony proved (err says
// why it did not): the session cookie, as every page's sign-in sets it,
// and the answer saying where the browser goes, redirectTo checked as the
// sign-in forms check it; fail answers an error.
func (s *Server) finishPasskeySignIn(w http.ResponseWriter, r *http.Request, proof *auth.Proof, err error, redirectTo string,
	fail func(http.ResponseWriter, *http.Request, error)) {
	var res *auth.Grant
	if err == nil {
		res, err = s.auth.Finish(r.Context(), proof, client(r), s.cookie(s.allowedTarget(redirectTo)))
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	s.finishJSON(w, res)
}

// finishJSON sets the session of a finished sign-in and answers where the
// browser goes.
func (s *Server) finishJSON(w http.ResponseWriter, res *auth.Grant) {
	if res.MFA != nil {
		// A passkey sign-in or sign-up verified its user, and a second
		// step is the last one, so this does not happen today; should a
		// sign-in still need a second step, the script shows it.
		s.writeJSON(w, http.StatusOK, jsonAnswer{MFAToken: res.MFA.Token})
		return
	}
	s.setSession(w, res)
	target := res.RedirectTo
	if target == "" {
		target = s.path("/")
	}
	s.writeJSON(w, http.StatusOK, jsonAnswer{Redirect: target})
}

// errMFAStepEnded refuses a passkey for a second step that cannot go on:
// its token is used, expired or out of tries, or is not a browser's (an
// API client's sign-in ends in tokens, never in this page's cookie).
var errMFAStepEnded = &auth.Error{Kind: auth.KindTokenRevoked, Message: "This sign-in is not valid any more. Start again to sign in."}

// mfaPasskeyBegin starts the passkey as the second step of the sign-in of
// the posted MFA token. Only a live token of the browser channel with a
// passkey among its factors gets a ceremony (MFAFactors answers nothing
// for another channel's token); auth binds the ceremony to the token.
func (s *Server) mfaPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken string `json:"mfa_token"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	ctx := r.Context()
	factors := s.auth.MFAFactors(ctx, in.MFAToken)
	if len(factors) == 0 {
		s.failJSON(w, r, errMFAStepEnded)
		return
	}
	if !slices.Contains(factors, auth.FactorWebAuthn) {
		s.failJSON(w, r, &auth.Error{Kind: auth.KindInvalidRequest, Message: "This account has no passkey for this step. Use one of the other ways below."})
		return
	}
	id, options, err := s.auth.BeginPasskeySecondFactor(ctx, in.MFAToken)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ceremonyAnswer{ChallengeID: id, PublicKey: options})
}

// mfaPasskeyFinish finishes the sign-in with the passkey's assertion, on
// the cookie channel as the code form does (auth refuses a token of
// another channel). A refused passkey counts as a wrong code; when the
// token is dead after it, the answer says so as the code form's page
// does.
func (s *Server) mfaPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken    string          `json:"mfa_token"`
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	ctx := r.Context()
	mfa := auth.MFAInput{Token: in.MFAToken, Factor: auth.FactorWebAuthn, ChallengeID: in.ChallengeID, Credential: in.Credential}
	proof, err := s.auth.SecondFactor(ctx, mfa, client(r), s.cookie(""))
	var res *auth.Grant
	if err == nil {
		res, err = s.auth.Finish(ctx, proof, client(r), s.cookie(""))
	}
	if err == nil {
		s.rememberFactor(w, auth.FactorWebAuthn)
		s.finishJSON(w, res)
		return
	}
	if len(s.auth.MFAFactors(ctx, in.MFAToken)) == 0 {
		status, msg := mfaEnded(err)
		s.writeJSON(w, status, jsonAnswer{Error: msg + " Start again to sign in.", Code: string(auth.KindOf(err))})
		return
	}
	s.failJSON(w, r, err)
}
