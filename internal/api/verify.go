package api

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
)

// The pages a link in an email opens. GET only shows a page with one
// button and consumes nothing, so mail scanners that open links cannot burn
// them; the button's POST consumes the link.
var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main id="main" tabindex="-1">
<section class="card narrow" aria-labelledby="verify-title">
  <h1 id="verify-title">{{.Title}}</h1>
  {{if .Message}}{{if .Error}}<p class="alert error" role="alert">{{.Message}}</p>{{else}}<p>{{.Message}}</p>{{end}}{{end}}
  {{if .Token}}<form method="post" action="verify">
    <input type="hidden" name="token" value="{{.Token}}">
    {{if .Recovery}}<label for="new_password">New password</label>
    <span class="hint" id="new_password-hint">At least 8 characters, and not a common one. You will be signed out everywhere else.</span>
    <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required autofocus aria-describedby="new_password-hint">{{end}}
    <div class="actions"><button type="submit">{{.Button}}</button></div>
  </form>{{end}}
  {{if .MFAToken}}<form method="post" action="verify">
    <input type="hidden" name="mfa_token" value="{{.MFAToken}}">
    <fieldset>
      <legend>Second factor</legend>
      {{range $i, $f := .Factors}}<label class="choice"><input type="radio" name="factor" value="{{$f}}"{{if eq $i 0}} checked{{end}}> {{index $.FactorNames $f}}</label>
      {{end}}
    </fieldset>
    <label for="code">Code</label>
    <input id="code" name="code" type="text" class="code" autocomplete="one-time-code" inputmode="text" autocapitalize="none" spellcheck="false" maxlength="32" required autofocus>
    <div class="actions"><button type="submit">Continue</button></div>
  </form>
  {{if .CanEmail}}<div class="alt">
    <form method="post" action="verify" class="inline">
      <input type="hidden" name="mfa_token" value="{{.MFAToken}}">
      <input type="hidden" name="send" value="email">
      <button type="submit" class="secondary">Email me a code</button>
    </form>
  </div>{{end}}{{end}}
  {{if .Restart}}<p><a href="/login">Go to sign in</a></p>{{end}}
</section>
</main>
</body>
</html>`))

type verifyView struct {
	Title, Message, Button, Token string
	Recovery, Error               bool
	// Restart links to the sign-in page, for a dead end (set by
	// renderVerify when the web pages are served).
	Restart bool
	// The second-factor step: the MFA token and the factors to choose from.
	MFAToken    string
	Factors     []string
	CanEmail    bool
	FactorNames map[string]string
}

// mfaView is the second-factor step of a browser sign-in.
func mfaView(m *auth.MFARequired, message string, isErr bool) verifyView {
	return verifyView{
		Title: "One more step", Message: message, Error: isErr, MFAToken: m.Token, Factors: m.Factors,
		CanEmail: slices.Contains(m.Factors, auth.FactorEmail),
		FactorNames: map[string]string{
			auth.FactorTOTP: "Code from your authenticator app", auth.FactorEmail: "Code we email you",
			auth.FactorBackupCode: "A backup code",
		},
	}
}

func (s *Server) renderVerify(w http.ResponseWriter, status int, v verifyView) {
	v.Restart = v.Error && v.Token == "" && v.MFAToken == ""
	var buf bytes.Buffer
	if err := verifyPage.Execute(&buf, v); err != nil {
		http.Error(w, "page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The page's only resource is the web pages' stylesheet (same origin);
	// nothing inline runs or styles it.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) verifyGet(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	purpose, err := s.auth.LinkPurpose(r.Context(), token)
	if err != nil {
		s.renderVerify(w, http.StatusServiceUnavailable, verifyView{Title: "Try again shortly", Message: "The server could not check this link just now.", Error: true})
		return
	}
	switch purpose {
	case auth.PurposeSignIn:
		s.renderVerify(w, http.StatusOK, verifyView{Title: "Sign in", Message: "Continue to sign in on this device.", Button: "Sign in", Token: token})
	case auth.PurposeRecovery:
		s.renderVerify(w, http.StatusOK, verifyView{Title: "Choose a new password", Button: "Set password and sign in", Token: token, Recovery: true})
	default:
		s.renderVerify(w, http.StatusNotFound, verifyView{Title: "This link does not work", Message: "It may have been used already, or mistyped. Ask for a new one.", Error: true})
	}
}

func (s *Server) verifyPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		s.renderVerify(w, http.StatusBadRequest, verifyView{Title: "This link does not work", Message: "The form could not be read.", Error: true})
		return
	}
	token := r.PostForm.Get("token")
	ctx := r.Context()
	if r.PostForm.Has("mfa_token") {
		s.verifyMFA(w, r)
		return
	}
	var res *auth.LinkResult
	var err error
	recovery := r.PostForm.Has("new_password")
	if recovery {
		res, err = s.auth.RecoverLink(ctx, token, r.PostForm.Get("new_password"), clientOf(ctx))
	} else {
		res, err = s.auth.VerifyLink(ctx, token, clientOf(ctx))
	}
	if err != nil {
		v := verifyView{Title: "This link does not work", Error: true}
		status := http.StatusBadRequest
		switch auth.KindOf(err) {
		case auth.KindCodeExpired:
			v.Message = "It has expired. Ask for a new one."
		case auth.KindWeakPassword:
			v = verifyView{Title: "Choose a new password", Button: "Set password and sign in", Token: token, Recovery: true, Error: true,
				Message: "That password is too weak: " + fieldMessages(err)}
		case auth.KindForbidden:
			v.Message = "This account is disabled."
			status = http.StatusForbidden
		case auth.KindUnavailable, "":
			s.log.ErrorContext(ctx, "verify link", "err", err)
			v = verifyView{Title: "Try again shortly", Message: "The server could not complete this just now.", Error: true}
			status = http.StatusServiceUnavailable
		default:
			v.Message = "It may have been used already. Ask for a new one."
		}
		s.renderVerify(w, status, v)
		return
	}
	s.finishBrowserSignIn(w, r, res)
}

// finishBrowserSignIn sets the cookie and redirects, or shows the
// second-factor step.
func (s *Server) finishBrowserSignIn(w http.ResponseWriter, r *http.Request, res *auth.LinkResult) {
	if res.MFA != nil {
		s.renderVerify(w, http.StatusOK, mfaView(res.MFA, "Your account has a second factor on: enter one of these to finish signing in.", false))
		return
	}
	http.SetCookie(w, s.cookies.New(res.Cookie, res.Session.AbsoluteExpiresAt))
	http.Redirect(w, r, res.RedirectTo, http.StatusSeeOther)
}

// verifyMFA handles the second-factor form: send an email code, or check a
// code and finish.
func (s *Server) verifyMFA(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PostForm.Get("mfa_token")
	factors := s.auth.MFAFactors(ctx, token)
	if len(factors) == 0 {
		s.renderVerify(w, http.StatusBadRequest, verifyView{Title: "This sign-in has ended", Message: "It took too long or was used already. Start again.", Error: true})
		return
	}
	step := &auth.MFARequired{Token: token, Factors: factors}
	if r.PostForm.Get("send") == auth.FactorEmail {
		if err := s.auth.MFAChallenge(ctx, token, auth.FactorEmail); err != nil {
			s.renderVerify(w, http.StatusOK, mfaView(step, problemOf(ctx, s.log, err).Detail, true))
			return
		}
		s.renderVerify(w, http.StatusOK, mfaView(step, "We emailed you a code.", false))
		return
	}
	res, err := s.auth.MFABrowser(ctx, auth.MFAInput{Token: token, Factor: r.PostForm.Get("factor"), Code: r.PostForm.Get("code")}, clientOf(ctx))
	if err != nil {
		if k := auth.KindOf(err); k == auth.KindInvalidCode || k == auth.KindInvalidRequest {
			s.renderVerify(w, http.StatusBadRequest, mfaView(step, "That code is not right; try again.", true))
			return
		}
		p := problemOf(ctx, s.log, err)
		s.renderVerify(w, p.Status, verifyView{Title: "This sign-in has ended", Message: p.Detail + " Start again.", Error: true})
		return
	}
	s.finishBrowserSignIn(w, r, res)
}

func fieldMessages(err error) string {
	var ae *auth.Error
	msg := ""
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			msg += "it " + f.Message + ". "
		}
	}
	return msg
}

func (s *Server) registerVerify() {
	s.mux.HandleFunc("GET /v1/verify", s.verifyGet)
	page := &huma.Schema{Type: "string"}
	s.document(&huma.Operation{
		OperationID: "verifyPage", Method: http.MethodGet, Path: "/v1/verify", Tags: []string{"Sign-in"},
		Summary:     "The page an emailed link opens",
		Description: "Shows one button (and, for a password reset, a password field). Opening it consumes nothing, so mail scanners cannot burn the link.",
		Parameters:  []*huma.Param{{Name: "token", In: "query", Required: true, Schema: &huma.Schema{Type: "string"}}},
	}, page, "text/html")
	s.mux.HandleFunc("POST /v1/verify", s.verifyPost)
	o := &huma.Operation{
		OperationID: "verifyLink", Method: http.MethodPost, Path: "/v1/verify", Tags: []string{"Sign-in"},
		Summary:     "The button on that page: consume the link",
		Description: "Form fields token (and new_password for a reset). Sets the session cookie and answers 303 to the redirect_to given at request time if it is allowed, else to /. A bad, expired or used link: an HTML page that says so, and no cookie.",
		RequestBody: &huma.RequestBody{Content: map[string]*huma.MediaType{"application/x-www-form-urlencoded": {Schema: &huma.Schema{
			Type: "object", Required: []string{"token"},
			Properties: map[string]*huma.Schema{"token": {Type: "string"}, "new_password": {Type: "string"}},
		}}}},
		Responses: map[string]*huma.Response{"303": {Description: "Signed in; Location is where to go."}},
	}
	s.document(o, page, "text/html")
	delete(o.Responses, "200")
	o.Responses["400"] = &huma.Response{Description: "The link is bad, expired or used (an HTML page).", Content: map[string]*huma.MediaType{"text/html": {Schema: page}}}
}
