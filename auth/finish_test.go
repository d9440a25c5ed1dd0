package auth_test

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// Every sign-in step returns a Proof and Finish ends it: tokens on the
// Tokens channel, a cookie session on Cookie, or the second factor.
func TestFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "one proof, either channel", func(t *testing.T, e *mfaEnv) {
			addr := email("finish")
			u := e.signUp(addr, goodPassword)
			for _, tt := range []struct {
				name   string
				ch     auth.Channel
				cookie bool
				target string
			}{
				{"tokens", auth.Tokens, false, ""},
				{"cookie, allowed target", auth.Cookie(testIssuer + "/app"), true, testIssuer + "/app"},
				{"cookie, other origin", auth.Cookie("https://evil.example/"), true, "/"},
				{"cookie, no target", auth.Cookie(""), true, "/"},
			} {
				p, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: addr}, goodPassword, client())
				if err != nil {
					t.Fatalf("%s: SignInPassword: %v", tt.name, err)
				}
				if p.User().ID != u.ID || !slices.Equal(p.Methods(), []string{auth.MethodPassword}) {
					t.Errorf("%s: proof of %s by %v", tt.name, p.User().ID, p.Methods())
				}
				// What the caller reads cannot change what Finish does.
				p.User().ID, p.Methods()[0] = "someone else", auth.MethodTOTP
				g, err := e.svc.Finish(e.ctx, p, client(), tt.ch)
				if err != nil {
					t.Fatalf("%s: Finish: %v", tt.name, err)
				}
				checkSession(t, tt.name, e.storedSession(g.Session.ID), g.Session)
				if g.Session.UserID != u.ID || !slices.Equal(g.Session.AMR, []string{auth.MethodPassword}) {
					t.Errorf("%s: session of %s by %v", tt.name, g.Session.UserID, g.Session.AMR)
				}
				if tt.cookie {
					if g.Cookie == "" || g.AccessToken != "" || g.RefreshToken != "" || g.RedirectTo != tt.target {
						t.Errorf("%s: %+v, want a cookie and %q", tt.name, g, tt.target)
					}
					if got := e.storedSession(g.Session.ID); got.CookieHash == nil {
						t.Errorf("%s: the session has no cookie", tt.name)
					}
				} else if g.Cookie != "" || g.AccessToken == "" || g.RefreshToken == "" || g.RedirectTo != "" {
					t.Errorf("%s: %+v, want tokens only", tt.name, g)
				}
			}
		})

		runMFA(t, st, "a proof finishes once", func(t *testing.T, e *mfaEnv) {
			addr := email("once")
			e.signUp(addr, goodPassword)
			p, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: addr}, goodPassword, client())
			if err != nil {
				t.Fatalf("SignInPassword: %v", err)
			}
			if _, err := e.svc.Finish(e.ctx, p, client(), auth.Tokens); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			for _, ch := range []auth.Channel{auth.Tokens, auth.Cookie("")} {
				if _, err := e.svc.Finish(e.ctx, p, client(), ch); auth.KindOf(err) != auth.KindInvalidRequest {
					t.Errorf("Finish again: %v, want invalid_request", err)
				}
			}
		})

		runMFA(t, st, "no proof", func(t *testing.T, e *mfaEnv) {
			for _, p := range []*auth.Proof{nil, {}} {
				_, err := e.svc.Finish(e.ctx, p, client(), auth.Tokens)
				if auth.KindOf(err) != auth.KindInvalidRequest {
					t.Errorf("Finish(%v): %v, want invalid_request", p, err)
				}
			}
		})

		runMFA(t, st, "second factor keeps the channel and the target", func(t *testing.T, e *mfaEnv) {
			mu := e.totpUser("finishmfa")
			p, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: mu.addr}, goodPassword, client())
			if err != nil {
				t.Fatalf("SignInPassword: %v", err)
			}
			g, err := e.svc.Finish(e.ctx, p, client(), auth.Cookie(testIssuer+"/after"))
			if err != nil || g.MFA == nil || g.Cookie != "" || g.Session != nil {
				t.Fatalf("Finish with a factor on: %+v, %v", g, err)
			}
			in := auth.MFAInput{Token: g.MFA.Token, Factor: auth.FactorTOTP, Code: e.code(mu.secret)}
			// The wrong channel is refused before the token is used.
			if _, err := e.svc.SecondFactor(e.ctx, in, client(), auth.Tokens); auth.KindOf(err) != auth.KindTokenRevoked {
				t.Fatalf("a browser's MFA token by API: %v, want token_revoked", err)
			}
			second, err := e.svc.SecondFactor(e.ctx, in, client(), auth.Cookie(""))
			if err != nil {
				t.Fatalf("SecondFactor: %v", err)
			}
			if !slices.Equal(second.Methods(), []string{auth.MethodPassword, auth.MethodTOTP}) {
				t.Errorf("methods %v", second.Methods())
			}
			g, err = e.svc.Finish(e.ctx, second, client(), auth.Cookie(""))
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if g.Cookie == "" || g.Session.AAL != auth.AAL2 || g.RedirectTo != testIssuer+"/after" {
				t.Errorf("Finish after the second factor: %+v", g)
			}

			// A proof from a browser's second factor cannot be cashed
			// for tokens either, and the try uses it up.
			e.nextStep()
			p, err = e.svc.SignInPassword(e.ctx, auth.Identity{Email: mu.addr}, goodPassword, client())
			if err != nil {
				t.Fatalf("SignInPassword: %v", err)
			}
			g, err = e.svc.Finish(e.ctx, p, client(), auth.Cookie(""))
			if err != nil || g.MFA == nil {
				t.Fatalf("Finish with a factor on: %+v, %v", g, err)
			}
			second, err = e.svc.SecondFactor(e.ctx, auth.MFAInput{Token: g.MFA.Token, Factor: auth.FactorTOTP, Code: e.code(mu.secret)}, client(), auth.Cookie(""))
			if err != nil {
				t.Fatalf("SecondFactor: %v", err)
			}
			if _, err := e.svc.Finish(e.ctx, second, client(), auth.Tokens); auth.KindOf(err) != auth.KindTokenRevoked {
				t.Errorf("a browser's second factor finished for tokens: %v, want token_revoked", err)
			}
			if _, err := e.svc.Finish(e.ctx, second, client(), auth.Cookie("")); auth.KindOf(err) != auth.KindInvalidRequest {
				t.Errorf("the proof after a refused finish: %v, want invalid_request", err)
			}
		})

		runMFA(t, st, "metrics count the step and the finish once", func(t *testing.T, e *mfaEnv) {
			addr := email("finishobs")
			e.signUp(addr, goodPassword)
			e.obs.take()
			if _, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: addr}, "wrong password", client()); err == nil {
				t.Fatal("a wrong password proved something")
			}
			if _, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client()); err != nil {
				t.Fatalf("sign in: %v", err)
			}
			if got := e.obs.take(); !slices.Equal(got, []string{"password:failure", "password:success"}) {
				t.Errorf("observed %v", got)
			}
		})
	})
}
