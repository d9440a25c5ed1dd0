package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// The page of a link that proves an email (auth.PurposeEmail: the one a
// sign-up with a password, or a change of address, sends). It is served at
// the link's own address beside the sign-in and reset links (verify.go).
// Who opens it decides what it asks: the account's own browser only
// confirms; anyone else gives the account's password, or says the account
// was not theirs, which claims it (docs/security.md, "Claiming an
// account"). As for every link, opening it consumes nothing.

// emailLinkView is the page of a link that proves an email.
type emailLinkView struct {
	Title, Address, Token string
	// Holder: the browser is signed in to the link's account, so one
	// button confirms; otherwise the page asks for the password and
	// offers "This was not me".
	Holder bool
	// Unchanged: "This was not me" on a change of address, which left
	// everything as it was.
	Unchanged bool
	flash
}

// emailLink returns the page of a live email-proof link for the browser
// signed in as p (nil when none).
func emailLink(info *auth.LinkInfo, token string, p *auth.Principal) emailLinkView {
	return emailLinkView{
		Title: "Confirm your email", Address: info.Address, Token: token,
		Holder: p != nil && p.User.ID == info.UserID,
	}
}

// unchangedEmail is the page of "This was not me" on a link that would
// have changed some account's address to this one.
var unchangedEmail = emailLinkView{
	Title: "Nothing was changed", Unchanged: true,
	flash: flash{Notice: "Nothing was changed: the address was not added to any account."},
}

// emailLinkPage shows the page of an email-proof link; it consumes
// nothing.
func (s *Server) emailLinkPage(w http.ResponseWriter, r *http.Request, info *auth.LinkInfo, token string) {
	p, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := emailLink(info, token, p)
	if v.Holder {
		// The header shows who is signed in, as on the account page.
		r = r.WithContext(httpauth.WithPrincipal(r.Context(), p))
	}
	s.render(w, r, http.StatusOK, "verify_email", v)
}

// Where a proof that signs in (or the holder's confirmation) lands: the
// account page, with its notice (doneNotices); paths below the base path.
const (
	emailConfirmedTarget = "/?done=email#profile"
	emailClaimedTarget   = "/?done=claimed#profile"
)

// emailLinkPost uses an email-proof link: the holder's confirmation, the
// password's, or "This was not me". A wrong password leaves the link for
// another try (ProveEmail checks it before using the link).
func (s *Server) emailLinkPost(w http.ResponseWriter, r *http.Request, info *auth.LinkInfo, token string) {
	ctx := r.Context()
	p, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := auth.EmailProof{Token: token, Password: r.PostForm.Get("password"), NotMe: r.PostForm.Get("not_me") != ""}
	res, err := s.auth.ProveEmail(ctx, p, in)
	switch {
	case err != nil:
	case res.Proof != nil:
		target := s.path(emailConfirmedTarget)
		if res.Claimed {
			target = s.path(emailClaimedTarget)
		}
		err = s.signIn(w, r, s.cookie(target))(res.Proof, nil)
		if err == nil {
			return
		}
	case res.User != nil:
		// The holder's own browser: its session stays as it is.
		s.redirect(w, r, s.path(emailConfirmedTarget))
		return
	default:
		s.render(w, r, http.StatusOK, "verify_email", unchangedEmail)
		return
	}

	v := emailLink(info, token, p)
	msg, fields := s.explain(r, err)
	status := signinStatus(err)
	switch auth.KindOf(err) {
	case auth.KindInvalidCredentials:
		v.Fields = map[string]string{"password": "That password is not correct."}
	case auth.KindInvalidRequest:
		if f := fields["password"]; f != "" {
			v.Fields = map[string]string{"password": f}
		} else {
			v.Error = msg
		}
	case auth.KindRateLimited, auth.KindTooManyAttempts, auth.KindEmailTaken:
		var ae *auth.Error
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", httpauth.RetryAfter(ae.RetryAfter))
		}
		v.Error = msg
	default:
		// The link itself failed (used meanwhile, expired, an account
		// disabled, the store): the same pages as other links.
		s.linkFailed(w, r, err)
		return
	}
	if v.Holder {
		r = r.WithContext(httpauth.WithPrincipal(ctx, p))
	}
	s.render(w, r, status, "verify_email", v)
}
