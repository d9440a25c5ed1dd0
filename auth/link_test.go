package auth_test

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

var (
	errBadLink     = &auth.Error{Kind: auth.KindInvalidCode, Message: "The link is not valid or was used already."}
	errLinkExpired = &auth.Error{Kind: auth.KindCodeExpired, Message: "The link has expired; ask for a new one."}
)

// emailLink asks for a sign-in link to addr (to go to redirectTo) and
// returns its token.
func (e *mfaEnv) emailLink(addr, redirectTo string) string {
	e.t.Helper()
	if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr, Link: true, RedirectTo: redirectTo}); err != nil {
		e.t.Fatalf("RequestCode(%s, link): %v", addr, err)
	}
	return linkToken(e.t, e.mail.last(e.t, auth.KindMagicLink, addr))
}

func TestSignInLink(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "in a browser, to the target asked for", func(t *testing.T, e *mfaEnv) {
			addr := email("link")
			u := e.signUp(addr, goodPassword)
			token := e.emailLink(addr, testIssuer+"/app")
			if info, err := e.svc.Link(e.ctx, token); err != nil || info == nil || info.Purpose != auth.PurposeSignIn {
				t.Errorf("Link: %+v, %v", info, err)
			}
			p, err := e.svc.SignInLink(e.ctx, token)
			if err != nil {
				t.Fatalf("SignInLink: %v", err)
			}
			if p.User().ID != u.ID || !slices.Equal(p.Methods(), []string{auth.MethodLink}) {
				t.Errorf("proof of %s by %v", p.User().ID, p.Methods())
			}
			g, err := e.svc.Finish(e.ctx, p, client(), auth.Cookie(""))
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if g.Cookie == "" || g.RedirectTo != testIssuer+"/app" {
				t.Errorf("Finish: %+v", g)
			}
			_, err = e.svc.SignInLink(e.ctx, token)
			checkErr(t, "the link used twice", err, errBadLink)
		})

		runMFA(t, st, "a target not allowed goes home", func(t *testing.T, e *mfaEnv) {
			addr := email("linkevil")
			g, err := verifyLink(e.ctx, e.svc, e.emailLink(addr, "https://evil.example/"), client())
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if g.RedirectTo != "/" {
				t.Errorf("redirect to %q, want /", g.RedirectTo)
			}
		})

		runMFA(t, st, "refusals", func(t *testing.T, e *mfaEnv) {
			addr := email("linkref")
			token := e.emailLink(addr, "")
			e.clock.Advance(e.cfg.MagicLinkTTL)
			for _, tt := range []struct {
				name, token string
				want        *auth.Error
			}{
				{"no token", "", invalid(auth.FieldError{Field: "token", Message: "is required"})},
				{"unknown token", "not-a-token", errBadLink},
				{"expired", token, errLinkExpired},
			} {
				_, err := e.svc.SignInLink(e.ctx, tt.token)
				checkErr(t, tt.name, err, tt.want)
			}
			if info, err := e.svc.Link(e.ctx, "not-a-token"); err != nil || info != nil {
				t.Errorf("Link of an unknown token: %+v, %v", info, err)
			}
		})
	})
}
