package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// attacker is an account someone set up with an address they do not hold
// ("pre-hijacking"): a password, a session by API and one in a browser,
// and an authenticator app.
type attacker struct {
	user    *auth.User
	tokens  *auth.Grant
	browser *auth.Grant
}

// preHijack signs up with in (its password is goodPassword), signs in
// twice and turns an authenticator on, as an attacker who never proved the
// address would before its owner shows up.
func (e *mfaEnv) preHijack(in auth.SignUpInput) *attacker {
	e.t.Helper()
	in.Password, in.SendCode = goodPassword, true
	u, err := e.svc.SignUp(e.ctx, in)
	if err != nil {
		e.t.Fatalf("SignUp: %v", err)
	}
	id := auth.Identity{Email: in.Email}
	if in.Email == "" {
		id = auth.Identity{Phone: in.Phone}
	}
	a := &attacker{user: u}
	if a.tokens, err = finished(e.ctx, e.svc, client(), auth.Tokens)(e.svc.SignInPassword(e.ctx, id, goodPassword, client())); err != nil {
		e.t.Fatalf("attacker's password sign-in: %v", err)
	}
	if a.browser, err = finished(e.ctx, e.svc, client(), auth.Cookie(""))(e.svc.SignInPassword(e.ctx, id, goodPassword, client())); err != nil {
		e.t.Fatalf("attacker's browser sign-in: %v", err)
	}
	p := e.bearer(a.tokens.AccessToken)
	en, err := e.svc.EnrollTOTP(e.ctx, p, client())
	if err != nil {
		e.t.Fatalf("EnrollTOTP: %v", err)
	}
	if _, err := e.svc.ConfirmTOTP(e.ctx, p, e.code(en.Secret), client()); err != nil {
		e.t.Fatalf("ConfirmTOTP: %v", err)
	}
	// The per-address send limit of the sign-up's messages passes.
	e.clock.Advance(61 * time.Second)
	return a
}

// checkLockedOut asserts that nothing the attacker set up works any more:
// the password, the API session and its refresh token, the browser
// session, the authenticator; and that the account was audited as
// claimed.
func (e *mfaEnv) checkLockedOut(a *attacker, id auth.Identity) {
	e.t.Helper()
	if _, err := e.svc.SignInPassword(e.ctx, id, goodPassword, client()); auth.KindOf(err) != auth.KindInvalidCredentials {
		e.t.Errorf("attacker's password after the claim: %v, want invalid_credentials", err)
	}
	if _, err := e.svc.BearerPrincipal(e.ctx, a.tokens.AccessToken); err == nil {
		e.t.Error("attacker's access token still signs in after the claim")
	}
	if _, err := e.svc.RefreshGrant(e.ctx, a.tokens.RefreshToken, client()); err == nil {
		e.t.Error("attacker's refresh token still works after the claim")
	}
	if _, err := e.svc.CookiePrincipal(e.ctx, a.browser.Cookie); err == nil {
		e.t.Error("attacker's browser session still signs in after the claim")
	}
	if e.storedSession(a.tokens.Session.ID).RevokedAt == nil || e.storedSession(a.browser.Session.ID).RevokedAt == nil {
		e.t.Error("attacker's sessions are not revoked in the store")
	}
	if kinds, _, err := e.svc.AdminFactors(e.ctx, a.user.ID); err != nil || len(kinds) != 0 {
		e.t.Errorf("factors after the claim: %v, %v; want none", kinds, err)
	}
	if !slices.ContainsFunc(mustAudit(e.t, e, a.user.ID), func(ev auth.AuditEvent) bool { return ev.Kind == auth.AuditAccountClaimed }) {
		e.t.Error("no account_claimed audit event")
	}
}

// The owner of a mailbox someone signed up with proves it for the first
// time, each way there is; every way ends what the attacker set up, and
// the owner signs in to the account with nothing of the attacker's left.
func TestClaimByEmail(t *testing.T) {
	proofs := []struct {
		name string
		// prove proves addr as its owner would, and answers the grant.
		prove func(e *mfaEnv, addr string) (*auth.Grant, error)
	}{
		{"code sign-in", func(e *mfaEnv, addr string) (*auth.Grant, error) {
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
				e.t.Fatal(err)
			}
			return otpGrant(e.ctx, e.svc, addr, e.mail.last(e.t, auth.KindSignInCode, addr).Data.Code, client())
		}},
		{"magic link in a browser", func(e *mfaEnv, addr string) (*auth.Grant, error) {
			return verifyLink(e.ctx, e.svc, e.emailLink(addr, ""), client())
		}},
		{"recovery", func(e *mfaEnv, addr string) (*auth.Grant, error) {
			if err := e.svc.Recover(e.ctx, addr); err != nil {
				e.t.Fatal(err)
			}
			return recoverGrant(e.ctx, e.svc, auth.RecoverInput{Email: addr, Code: e.mail.last(e.t, auth.KindRecovery, addr).Data.Code, NewPassword: newPassword}, client())
		}},
		{"this was not me, on the sign-up's link", func(e *mfaEnv, addr string) (*auth.Grant, error) {
			token := linkToken(e.t, e.mail.last(e.t, auth.KindVerifyEmail, addr))
			got, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Token: token, NotMe: true})
			if err != nil {
				return nil, err
			}
			if !got.Claimed || got.Proof == nil {
				e.t.Errorf("not me: %+v, want a claim that signs in", got)
			}
			return e.svc.Finish(e.ctx, got.Proof, client(), auth.Cookie(""))
		}},
	}
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		for _, tc := range proofs {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := newSMSEnv(t, st)
				addr := email("victim")
				a := e.preHijack(auth.SignUpInput{Email: addr, Phone: newPhone()})
				g, err := tc.prove(e, addr)
				if err != nil {
					t.Fatalf("the owner's proof: %v", err)
				}
				if g.MFA != nil || g.User.ID != a.user.ID {
					t.Fatalf("the owner's proof: %+v; want a session in the account", g)
				}
				e.checkLockedOut(a, auth.Identity{Email: addr})
				u := e.storedUser(a.user.ID)
				if !u.EmailVerified || u.Phone != "" {
					t.Errorf("claimed account: email proven %v, phone %q; want proven, and the attacker's phone gone", u.EmailVerified, u.Phone)
				}
				if tc.name != "recovery" && u.HasPassword() {
					t.Error("the attacker's password is still set")
				}
				// The owner's own session lives.
				if g.Session.RevokedAt != nil || e.storedSession(g.Session.ID).RevokedAt != nil {
					t.Error("the owner's session is revoked")
				}
			})
		}
	})
}

// The phone variant: an attacker signs up with their own email, a password
// and the victim's phone; the victim's SMS sign-in claims the account
// (the attacker's email, never proven, goes with the rest) — or, when the
// attacker had proven their email, takes the phone away from it and lands
// in a new account of the victim's own.
func TestClaimByPhone(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("unproven email", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			mine, victim := email("attacker"), newPhone()
			a := e.preHijack(auth.SignUpInput{Email: mine, Phone: victim})
			g, err := phoneOTPGrant(e.ctx, e.svc, victim, e.smsCode(victim), client())
			if err != nil || g.MFA != nil || g.User.ID != a.user.ID {
				t.Fatalf("victim's SMS sign-in: %+v, %v", g, err)
			}
			e.checkLockedOut(a, auth.Identity{Phone: victim})
			if u := e.storedUser(a.user.ID); u.Email != "" || !u.PhoneVerified || u.HasPassword() {
				t.Errorf("claimed account: %+v; want only the proven phone", u)
			}
			// The attacker's own mailbox now signs up a new account, not
			// back into the victim's.
			e.clock.Advance(61 * time.Second)
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: mine}); err != nil {
				t.Fatal(err)
			}
			back, err := otpGrant(e.ctx, e.svc, mine, e.mail.last(t, auth.KindSignInCode, mine).Data.Code, client())
			if err != nil || back.User.ID == a.user.ID {
				t.Errorf("attacker's email code after the claim: %+v, %v; want a new account", back, err)
			}
		})

		t.Run("proven email", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			mine, victim := email("attacker"), newPhone()
			a := e.preHijack(auth.SignUpInput{Email: mine, Phone: victim})
			e.proveEmail(e.bearer(a.tokens.AccessToken))
			g, err := phoneOTPGrant(e.ctx, e.svc, victim, e.smsCode(victim), client())
			if err != nil || g.MFA != nil {
				t.Fatalf("victim's SMS sign-in: %+v, %v", g, err)
			}
			if g.User.ID == a.user.ID {
				t.Fatal("the victim landed in the attacker's account")
			}
			if u := e.storedUser(a.user.ID); u.Phone != "" || !u.HasPassword() {
				t.Errorf("attacker's account: phone %q, password %v; want the phone released, the rest kept", u.Phone, u.HasPassword())
			}
			if !slices.ContainsFunc(mustAudit(t, e, a.user.ID), func(ev auth.AuditEvent) bool { return ev.Kind == auth.AuditAddressReleased }) {
				t.Error("no address_released audit event")
			}
		})

		// A phone sign-up's own first code proves the phone for whoever
		// signed up: their password stays.
		t.Run("the sign-up's own code is not a claim", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			n := newPhone()
			u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Phone: n, Password: goodPassword, SendCode: true})
			if err != nil {
				t.Fatal(err)
			}
			g, err := phoneOTPGrant(e.ctx, e.svc, n, e.mail.last(t, auth.KindSMSCode, n).Data.Code, client())
			if err != nil || g.User.ID != u.ID {
				t.Fatalf("sign-up code: %+v, %v", g, err)
			}
			if _, err := passwordGrant(e.ctx, e.svc, "", "", client()); err == nil {
				t.Fatal("an empty sign-in worked")
			}
			if _, err := finished(e.ctx, e.svc, client(), auth.Tokens)(e.svc.SignInPassword(e.ctx, auth.Identity{Phone: n}, goodPassword, client())); err != nil {
				t.Errorf("password after the sign-up code: %v", err)
			}
			if e.storedSession(g.Session.ID).RevokedAt != nil {
				t.Error("the sign-up code's session was revoked")
			}
		})
	})
}

// Whoever holds the account keeps everything when they prove the email:
// with a session, with the password, or with the link and the password.
func TestProveEmailKeeps(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		keeps := []struct {
			name  string
			prove func(e *mfaEnv, a *attacker, addr string) *auth.EmailProven
		}{
			{"code with the session", func(e *mfaEnv, a *attacker, addr string) *auth.EmailProven {
				got, err := e.svc.ProveEmail(e.ctx, e.bearer(a.tokens.AccessToken), auth.EmailProof{Code: e.mail.last(e.t, auth.KindVerifyEmail, addr).Data.Code})
				if err != nil {
					e.t.Fatal(err)
				}
				return got
			}},
			{"code with the password", func(e *mfaEnv, a *attacker, addr string) *auth.EmailProven {
				code := e.mail.last(e.t, auth.KindVerifyEmail, addr).Data.Code
				_, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Email: addr, Code: code, Password: newPassword})
				checkErr(e.t, "a wrong password", err, &auth.Error{Kind: auth.KindInvalidCredentials, Message: "The email or password is not correct."})
				got, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Email: addr, Code: code, Password: goodPassword})
				if err != nil {
					e.t.Fatalf("the code after a wrong password: %v", err)
				}
				return got
			}},
			{"link with the password", func(e *mfaEnv, a *attacker, addr string) *auth.EmailProven {
				token := linkToken(e.t, e.mail.last(e.t, auth.KindVerifyEmail, addr))
				if _, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Token: token}); auth.KindOf(err) != auth.KindInvalidRequest {
					e.t.Errorf("link without password or not me: %v, want invalid_request", err)
				}
				got, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Token: token, Password: goodPassword})
				if err != nil || got.Proof == nil {
					e.t.Fatalf("link with the password: %+v, %v", got, err)
				}
				// A password and the mailbox are not the authenticator the
				// holder turned on: the sign-in still asks for it.
				if g, err := e.svc.Finish(e.ctx, got.Proof, client(), auth.Cookie("")); err != nil || g.MFA == nil {
					e.t.Errorf("finishing the link with the password: %+v, %v; want the second-factor step", g, err)
				}
				return got
			}},
			{"link in the account's browser", func(e *mfaEnv, a *attacker, addr string) *auth.EmailProven {
				p, err := e.svc.CookiePrincipal(e.ctx, a.browser.Cookie)
				if err != nil {
					e.t.Fatal(err)
				}
				got, err := e.svc.ProveEmail(e.ctx, p, auth.EmailProof{Token: linkToken(e.t, e.mail.last(e.t, auth.KindVerifyEmail, addr))})
				if err != nil || got.Proof != nil {
					e.t.Fatalf("link with the session: %+v, %v; want proven, no new sign-in", got, err)
				}
				return got
			}},
		}
		for _, tc := range keeps {
			runMFA(t, st, tc.name, func(t *testing.T, e *mfaEnv) {
				addr := email("owner")
				a := e.preHijack(auth.SignUpInput{Email: addr})
				got := tc.prove(e, a, addr)
				if got.Claimed || got.User == nil || !got.User.EmailVerified {
					t.Fatalf("proof: %+v; want the email proven, no claim", got)
				}
				if _, err := e.svc.BearerPrincipal(e.ctx, a.tokens.AccessToken); err != nil {
					t.Errorf("the holder's session after the proof: %v", err)
				}
				if kinds, _, _ := e.svc.AdminFactors(e.ctx, a.user.ID); len(kinds) == 0 {
					t.Error("the holder's authenticator is gone")
				}
				// A code sign-in now is no claim: the address is proven.
				if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
					t.Fatal(err)
				}
				g, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client())
				if err != nil || g.MFA == nil {
					t.Errorf("code sign-in after the proof: %+v, %v; want the second-factor step", g, err)
				}
			})
		}
	})
}

// A password sign-in that checked the password before a claim and makes
// its session after the claim revoked the others must not keep it.
func TestClaimRacesPasswordSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "in flight", func(t *testing.T, e *mfaEnv) {
			addr := email("race")
			if _, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
			inFlight, err := e.svc.SignInPassword(e.ctx, auth.Identity{Email: addr}, goodPassword, client())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
				t.Fatal(err)
			}
			if _, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client()); err != nil {
				t.Fatal(err)
			}
			g, err := e.svc.Finish(e.ctx, inFlight, client(), auth.Tokens)
			if auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Fatalf("in-flight sign-in finished after the claim: %+v, %v; want invalid_credentials", g, err)
			}
			sessions, err := e.store.ListSessions(e.ctx, inFlight.User().ID, e.now())
			if err != nil || len(sessions) != 1 {
				t.Errorf("live sessions after the race: %d, %v; want the owner's only", len(sessions), err)
			}
		})
	})
}

// A change of email: proven with the session, refused when another account
// has the address, and a "not me" from the new mailbox changes nothing.
func TestChangeEmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		runMFA(t, st, "change", func(t *testing.T, e *mfaEnv) {
			_, u, p := e.signedIn("change")
			next := email("next")
			if err := e.svc.RequestEmail(e.ctx, p, next); err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.ProveEmail(e.ctx, p, auth.EmailProof{Code: e.mail.last(t, auth.KindVerifyEmail, next).Data.Code})
			if err != nil || got.User.Email != next || !got.User.EmailVerified {
				t.Fatalf("change: %+v, %v", got, err)
			}
			if s := e.storedUser(u.ID); s.Email != next || !s.EmailVerified {
				t.Errorf("stored: %q proven %v", s.Email, s.EmailVerified)
			}
			taken := e.signUp(email("taken"), goodPassword)
			if err := e.svc.RequestEmail(e.ctx, p, taken.Email); auth.KindOf(err) != auth.KindEmailTaken {
				t.Errorf("another account's email: %v, want email_taken", err)
			}
			if err := e.svc.RequestEmail(e.ctx, p, next); auth.KindOf(err) != auth.KindInvalidRequest {
				t.Errorf("the proven email again: %v, want invalid_request", err)
			}

			other := email("other")
			e.clock.Advance(61 * time.Second)
			if err := e.svc.RequestEmail(e.ctx, p, other); err != nil {
				t.Fatal(err)
			}
			nm, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Token: linkToken(t, e.mail.last(t, auth.KindVerifyEmail, other)), NotMe: true})
			if err != nil || nm.User != nil || nm.Proof != nil || nm.Claimed {
				t.Errorf("not me on a change: %+v, %v; want nothing changed", nm, err)
			}
			if s := e.storedUser(u.ID); s.Email != next || !s.HasPassword() {
				t.Errorf("after not me on a change: %+v", s)
			}
		})
	})
}

// GATEHOUSE_REQUIRE_VERIFIED_EMAIL: a right password on an unproven email
// is refused and sends a fresh proof; a wrong one is the usual 401; once
// proven, the password signs in.
func TestRequireVerifiedEmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("refuses until proven", func(t *testing.T) {
			t.Parallel()
			e := newMFAEnvWith(t, st, nil, func(c *auth.Config) { c.RequireVerifiedEmail = true })
			addr := email("unproven")
			if _, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: goodPassword, SendCode: true}); err != nil {
				t.Fatal(err)
			}
			if n := e.mail.count(auth.KindVerifyEmail, addr); n != 1 {
				t.Fatalf("sign-up sent %d proofs, want 1", n)
			}
			if _, err := passwordGrant(e.ctx, e.svc, addr, newPassword, client()); auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Errorf("wrong password: %v, want invalid_credentials", err)
			}
			_, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client())
			if auth.KindOf(err) != auth.KindEmailUnverified {
				t.Fatalf("right password, unproven email: %v, want email_unverified", err)
			}
			// The sign-up's message did not count toward the per-address
			// limit, so the refusal's fresh proof went out at once.
			if n := e.mail.count(auth.KindVerifyEmail, addr); n != 2 {
				t.Errorf("proofs sent: %d, want 2", n)
			}
			code := e.mail.last(t, auth.KindVerifyEmail, addr).Data.Code
			if _, err := e.svc.ProveEmail(e.ctx, nil, auth.EmailProof{Email: addr, Code: code, Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
			if _, err := passwordGrant(e.ctx, e.svc, addr, goodPassword, client()); err != nil {
				t.Errorf("password once proven: %v", err)
			}
		})
	})
}

// Which public sign-ups mail a proof of the email: one with something
// beside the email (a password, a phone), not an email-only passwordless
// one (its owner proves it by signing in), and never the admin's.
func TestSignUpSendsEmailProof(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("which sign-ups", func(t *testing.T) {
			t.Parallel()
			e := newSMSEnv(t, st)
			for _, tc := range []struct {
				name string
				in   auth.SignUpInput
				want int
			}{
				{"email and password", auth.SignUpInput{Password: goodPassword, SendCode: true}, 1},
				{"email and phone", auth.SignUpInput{Phone: newPhone(), SendCode: true}, 1},
				{"email only", auth.SignUpInput{SendCode: true}, 0},
				{"by the admin", auth.SignUpInput{Password: goodPassword}, 0},
			} {
				tc.in.Email = email("proof")
				u, err := e.svc.SignUp(e.ctx, tc.in)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got := e.mail.count(auth.KindVerifyEmail, tc.in.Email); got != tc.want {
					t.Errorf("%s: %d proofs mailed, want %d", tc.name, got, tc.want)
				}
				if u.EmailVerified {
					t.Errorf("%s: email proven at sign-up", tc.name)
				}
			}
		})
	})
}
