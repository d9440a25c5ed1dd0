package auth_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// passkeySignUp begins a passkey sign-up of addr and answers it with a and
// o; it returns the finish's proof.
func (e *mfaEnv) passkeySignUp(addr string, a *passkeytest.Authenticator, o passkeytest.Options) (*auth.Proof, error) {
	e.t.Helper()
	id, opts, err := e.svc.BeginPasskeySignUp(e.ctx, addr, "")
	if err != nil {
		e.t.Fatalf("BeginPasskeySignUp: %v", err)
	}
	resp, _, err := a.Register(opts, 0, o)
	if err != nil {
		e.t.Fatalf("authenticator register: %v", err)
	}
	return e.svc.SignUpPasskey(e.ctx, id, resp, "", client())
}

func TestPasskeySignUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		addr := email("pk-signup")
		a := passkeytest.New(pkOrigin)
		p, err := e.passkeySignUp(addr, a, passkeytest.Options{})
		if err != nil {
			t.Fatalf("SignUpPasskey: %v", err)
		}
		g, err := e.svc.Finish(e.ctx, p, client(), auth.Tokens)
		if err != nil || g.Session == nil {
			t.Fatalf("Finish: %+v, %v", g, err)
		}
		if g.Session.AAL != auth.AAL2 || !slices.Equal(g.Session.AMR, []string{auth.MethodWebAuthn}) {
			t.Errorf("session %s %v, want aal2 [webauthn]", g.Session.AAL, g.Session.AMR)
		}
		u := e.storedUser(g.User.ID)
		if u.Email != addr || u.EmailVerified || u.HasPassword() {
			t.Errorf("new account %+v; want the email unproven and no password", u)
		}
		if list, err := st.Passkeys(e.ctx, u.ID); err != nil || len(list) != 1 || list[0].Name != "Passkey" || !list[0].UserVerified {
			t.Errorf("passkeys %+v, %v; want one, named Passkey, user verified", list, err)
		}
		if e.mail.count(auth.KindVerifyEmail, addr) != 1 {
			t.Errorf("no email proof was sent")
		}
		if proof, err := e.passkeySignIn("", a, passkeytest.Options{}); err != nil || proof.User().ID != u.ID {
			t.Errorf("passkey sign-in after the sign-up: %v", err)
		}
		// The address is taken now, for either sign-up.
		if _, _, err := e.svc.BeginPasskeySignUp(e.ctx, addr, ""); auth.KindOf(err) != auth.KindEmailTaken {
			t.Errorf("begin with a taken email: %v, want email_taken", err)
		}
		if _, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr}); auth.KindOf(err) != auth.KindEmailTaken {
			t.Errorf("SignUp with the passkey account's email: %v", err)
		}
		if _, _, err := e.svc.BeginPasskeySignUp(e.ctx, "not an email", ""); auth.KindOf(err) != auth.KindInvalidRequest {
			t.Errorf("begin with a bad email: %v", err)
		}
		// Proving the email from the account's own session keeps the
		// passkey.
		e.proveEmail(e.bearer(g.AccessToken))
		if list, _ := st.Passkeys(e.ctx, u.ID); len(list) != 1 {
			t.Errorf("proving the email from the session took the passkey: %+v", list)
		}
	})
}

// TestPasskeySignUpRefused: what a passkey sign-up refuses, and that it
// leaves nothing behind when it does.
func TestPasskeySignUpRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		noAccount := func(what, addr string) {
			t.Helper()
			if _, err := st.UserByEmail(e.ctx, addr); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("%s: an account of %s was stored (%v)", what, addr, err)
			}
		}
		for _, tc := range []struct {
			name string
			o    passkeytest.Options
		}{
			{"no user verification", passkeytest.Options{NoUV: true}},
			{"wrong origin", passkeytest.Options{Origin: "https://evil.example"}},
			{"wrong RP", passkeytest.Options{RPID: "evil.example"}},
		} {
			addr := email("pk-signup-bad")
			if _, err := e.passkeySignUp(addr, passkeytest.New(pkOrigin), tc.o); auth.KindOf(err) != auth.KindInvalidCredential {
				t.Errorf("%s: %v, want invalid_credential", tc.name, err)
			}
			noAccount(tc.name, addr)
		}

		// A replayed challenge.
		addr := email("pk-signup-replay")
		id, opts, err := e.svc.BeginPasskeySignUp(e.ctx, addr, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err := passkeytest.New(pkOrigin).Register(opts, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignUpPasskey(e.ctx, id, resp, "", client()); err != nil {
			t.Fatalf("first finish: %v", err)
		}
		if _, err := e.svc.SignUpPasskey(e.ctx, id, resp, "", client()); auth.KindOf(err) != auth.KindInvalidCredential {
			t.Errorf("replayed challenge: %v, want invalid_credential", err)
		}

		// A signed-in user's add-passkey challenge does not sign up, and a
		// sign-up's challenge does not add a passkey.
		_, _, p := e.signedIn("pk-signup-cross")
		rid, ropts, err := e.svc.BeginPasskeyRegistration(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err = passkeytest.New(pkOrigin).Register(ropts, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignUpPasskey(e.ctx, rid, resp, "", client()); auth.KindOf(err) != auth.KindInvalidCredential {
			t.Errorf("an add-passkey challenge used to sign up: %v, want invalid_credential", err)
		}
		sid, sopts, err := e.svc.BeginPasskeySignUp(e.ctx, email("pk-signup-cross2"), "")
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err = passkeytest.New(pkOrigin).Register(sopts, 0, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.FinishPasskeyRegistration(e.ctx, p, sid, "", resp, client()); auth.KindOf(err) != auth.KindInvalidCredential {
			t.Errorf("a sign-up challenge used to add a passkey: %v, want invalid_credential", err)
		}
		noAccount("cross", email("pk-signup-cross2"))

		// Two sign-ups of one email: the second to finish is email_taken
		// and stores nothing, its passkey included.
		race := email("pk-signup-race")
		id1, opts1, err := e.svc.BeginPasskeySignUp(e.ctx, race, "")
		if err != nil {
			t.Fatal(err)
		}
		id2, opts2, err := e.svc.BeginPasskeySignUp(e.ctx, race, "")
		if err != nil {
			t.Fatal(err)
		}
		r1, _, _ := passkeytest.New(pkOrigin).Register(opts1, 0, passkeytest.Options{})
		late := passkeytest.New(pkOrigin)
		r2, _, _ := late.Register(opts2, 0, passkeytest.Options{})
		if _, err := e.svc.SignUpPasskey(e.ctx, id1, r1, "", client()); err != nil {
			t.Fatalf("first sign-up: %v", err)
		}
		if _, err := e.svc.SignUpPasskey(e.ctx, id2, r2, "", client()); auth.KindOf(err) != auth.KindEmailTaken {
			t.Errorf("second sign-up of one email: %v, want email_taken", err)
		}
		if _, err := st.PasskeyByID(e.ctx, late.Credentials[0].ID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("the losing sign-up's passkey was stored: %v", err)
		}

		// A credential that is registered already: the account made for
		// it is removed again, so the email stays free.
		dup := email("pk-signup-dup")
		owner := passkeytest.New(pkOrigin)
		if _, err := e.passkeySignUp(email("pk-signup-owner"), owner, passkeytest.Options{}); err != nil {
			t.Fatal(err)
		}
		_, err = e.passkeySignUp(dup, owner, passkeytest.Options{Credential: owner.Credentials[0]})
		if err == nil || auth.KindOf(err) == "" {
			t.Errorf("sign-up with a registered credential: %v, want a client error", err)
		}
		noAccount("registered credential", dup)
	})
}

// TestPasskeySignUpOff: with sign-up without a password off, neither half
// of a passkey sign-up runs.
func TestPasskeySignUpOff(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, func(c *auth.Config) { c.PasswordlessSignup = new(false) })
		if _, _, err := e.svc.BeginPasskeySignUp(e.ctx, email("pk-off"), ""); auth.KindOf(err) != auth.KindForbidden {
			t.Errorf("begin: %v, want forbidden", err)
		}
		if _, err := e.svc.SignUpPasskey(e.ctx, "x", []byte("{}"), "", client()); auth.KindOf(err) != auth.KindForbidden {
			t.Errorf("finish: %v, want forbidden", err)
		}
	})
}

// TestPasskeySignUpClaimed: the first proof of the address by a code
// sign-in is a claim (whoever signed up may not hold the mailbox), so it
// removes the passkey, as for any account set up without the proof.
func TestPasskeySignUpClaimed(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newPasskeyMFAEnv(t, st, nil)
		addr := email("pk-signup-claim")
		a := passkeytest.New(pkOrigin)
		p, err := e.passkeySignUp(addr, a, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(61 * time.Second)
		if err := e.svc.RequestCode(e.ctx, auth.CodeRequest{Email: addr}); err != nil {
			t.Fatalf("RequestCode: %v", err)
		}
		g, err := otpGrant(e.ctx, e.svc, addr, e.mail.last(t, auth.KindSignInCode, addr).Data.Code, client())
		if err != nil || g.MFA != nil || g.User.ID != p.User().ID {
			t.Fatalf("code sign-in: %+v, %v; want the account, no second step", g, err)
		}
		if list, _ := st.Passkeys(e.ctx, g.User.ID); len(list) != 0 {
			t.Errorf("passkeys after the claim: %+v", list)
		}
		if _, err := e.passkeySignIn("", a, passkeytest.Options{}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Errorf("passkey sign-in after the claim: %v", err)
		}
	})
}
