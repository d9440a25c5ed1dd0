package auth_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
)

const (
	pkRPID   = "auth.example.test"
	pkOrigin = "https://auth.example.test"
)

// withPasskeys wires the passkey ports over st, with a relying party for
// pkRPID and a namer that knows no authenticator.
func withPasskeys(t *testing.T, st *sqlstore.Store) envOption {
	t.Helper()
	rp, err := passkey.New(pkRPID, "Gatehouse Test", []string{pkOrigin})
	if err != nil {
		t.Fatalf("passkey.New: %v", err)
	}
	return withDeps(func(d *auth.Deps) {
		d.Passkeys, d.Ceremonies, d.RelyingParty, d.Audit = st, st, rp, st
		d.PasskeyName = func([]byte) string { return "" }
		d.Limiter = throttle.NewLimiter(d.Clock, 0)
	})
}

// register adds a passkey of a (a new credential) for the principal.
func (e *env) register(p *auth.Principal, a *passkeytest.Authenticator, name string) *auth.Passkey {
	e.t.Helper()
	id, opts, err := e.svc.BeginPasskeyRegistration(e.ctx, p)
	if err != nil {
		e.t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	resp, _, err := a.Register(opts, 0, passkeytest.Options{})
	if err != nil {
		e.t.Fatalf("authenticator register: %v", err)
	}
	pk, err := e.svc.FinishPasskeyRegistration(e.ctx, p, id, name, resp, client())
	if err != nil {
		e.t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return pk
}

// passkeySignIn begins a sign-in (with email, or usernameless) and answers
// it with a and o.
func (e *env) passkeySignIn(email string, a *passkeytest.Authenticator, o passkeytest.Options) (*auth.Proof, error) {
	e.t.Helper()
	id, opts, err := e.svc.BeginPasskeyLogin(e.ctx, email)
	if err != nil {
		e.t.Fatalf("BeginPasskeyLogin: %v", err)
	}
	resp, err := a.Login(opts, o)
	if err != nil {
		e.t.Fatalf("authenticator login: %v", err)
	}
	return e.svc.SignInPasskey(e.ctx, id, resp)
}

func TestPasskeyRegisterSignInManage(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeys(t, st))
		addr, u, p := e.signedIn("pk")
		a := passkeytest.New(pkOrigin)
		pk := e.register(p, a, "")
		if pk.Name != "Passkey" || pk.UserID != u.ID {
			t.Fatalf("registered %+v, want named Passkey for %s", pk, u.ID)
		}
		for _, email := range []string{addr, ""} {
			proof, err := e.passkeySignIn(email, a, passkeytest.Options{})
			if err != nil {
				t.Fatalf("SignInPasskey(email %q): %v", email, err)
			}
			if !slices.Equal(proof.Methods(), []string{auth.MethodWebAuthn}) || proof.User().ID != u.ID {
				t.Fatalf("proof %v of %s", proof.Methods(), proof.User().ID)
			}
			g, err := e.svc.Finish(e.ctx, proof, client(), auth.Tokens)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if g.Session.AAL != auth.AAL2 || !slices.Equal(g.Session.AMR, []string{"webauthn"}) {
				t.Fatalf("session %s %v, want aal2 [webauthn]", g.Session.AAL, g.Session.AMR)
			}
		}
		list, err := e.svc.Passkeys(e.ctx, p)
		if err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
			t.Fatalf("Passkeys = %+v, %v; want one, used", list, err)
		}
		if err := e.svc.RenamePasskey(e.ctx, p, pk.ID, "  Laptop "); err != nil {
			t.Fatalf("RenamePasskey: %v", err)
		}
		if list, _ = e.svc.Passkeys(e.ctx, p); list[0].Name != "Laptop" {
			t.Fatalf("renamed to %q", list[0].Name)
		}
		if err := e.svc.RenamePasskey(e.ctx, p, []byte("nope"), "x"); auth.KindOf(err) != auth.KindNotFound {
			t.Fatalf("rename unknown: %v", err)
		}
		// The account has a password: the passkey is not its last way in.
		if err := e.svc.RemovePasskey(e.ctx, p, pk.ID, client()); err != nil {
			t.Fatalf("RemovePasskey: %v", err)
		}
		if _, err := e.passkeySignIn("", a, passkeytest.Options{}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Fatalf("sign-in with a removed passkey: %v", err)
		}
	})
}

func TestPasskeyLastWayIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeys(t, st))
		u := e.signUp(email("pklast"), "")
		if u.PasswordHash != "" || u.EmailVerified {
			t.Fatalf("passwordless sign-up: %+v", u)
		}
		_, p := e.cookieSession(u)
		a := passkeytest.New(pkOrigin)
		pk := e.register(p, a, "Phone")
		if err := e.svc.RemovePasskey(e.ctx, p, pk.ID, client()); auth.KindOf(err) != auth.KindConflict {
			t.Fatalf("remove the last way in: %v, want conflict", err)
		}
		// One authenticator holds one passkey of an account (the
		// registration excludes the ones it has): a second is another's.
		second := e.register(p, passkeytest.New(pkOrigin), "Key")
		if err := e.svc.RemovePasskey(e.ctx, p, pk.ID, client()); err != nil {
			t.Fatalf("remove one of two: %v", err)
		}
		if err := e.svc.RemovePasskey(e.ctx, p, second.ID, client()); auth.KindOf(err) != auth.KindConflict {
			t.Fatalf("remove the last: %v, want conflict", err)
		}
	})
}

func TestPasskeyAttacksRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeys(t, st))
		addr, u, p := e.signedIn("pkatk")
		a := passkeytest.New(pkOrigin)
		a.AAGUID = bytes.Repeat([]byte{7}, 16)
		e.register(p, a, "")
		a.Credentials[0].Counter = 5
		// Replay: a challenge finishes once.
		id, opts, err := e.svc.BeginPasskeyLogin(e.ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Login(opts, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignInPasskey(e.ctx, id, resp); err != nil {
			t.Fatalf("first finish: %v", err)
		}
		if _, err := e.svc.SignInPasskey(e.ctx, id, resp); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Fatalf("replayed challenge: %v", err)
		}
		// A registration challenge does not sign in.
		rid, _, err := e.svc.BeginPasskeyRegistration(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignInPasskey(e.ctx, rid, resp); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Fatalf("registration challenge used to sign in: %v", err)
		}
		back := uint32(1)
		for name, o := range map[string]passkeytest.Options{
			"wrong origin":     {Origin: "https://evil.example"},
			"tampered":         {TamperSignature: true},
			"no user verified": {NoUV: true},
			"counter back":     {Counter: &back},
		} {
			if _, err := e.passkeySignIn(addr, a, o); auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Errorf("%s: %v, want invalid_credentials", name, err)
			}
		}
		events, err := st.AuditEvents(e.ctx, u.ID, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(events, func(ev auth.AuditEvent) bool { return ev.Kind == auth.AuditPasskeyCounterRegressed }) {
			t.Errorf("no %s audit event in %+v", auth.AuditPasskeyCounterRegressed, events)
		}
		// An unknown email gets options of the same shape, and a decoy
		// that signs nobody in.
		_, opts, err = e.svc.BeginPasskeyLogin(e.ctx, email("nobody"))
		if err != nil || !bytes.Contains(opts, []byte(`"allowCredentials":[{`)) {
			t.Fatalf("unknown email: %s, %v", opts, err)
		}
		if _, err := e.passkeySignIn(email("nobody"), a, passkeytest.Options{Credential: a.Credentials[0]}); auth.KindOf(err) != auth.KindInvalidCredentials {
			t.Fatalf("unknown email's sign-in: %v", err)
		}
		// A registration response that does not verify is 400.
		rid, opts, err = e.svc.BeginPasskeyRegistration(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err = passkeytest.New(pkOrigin).Register(opts, 0, passkeytest.Options{Origin: "https://evil.example"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.FinishPasskeyRegistration(e.ctx, p, rid, "", resp, client())
		if auth.KindOf(err) != auth.KindInvalidCredential || !errors.Is(err, auth.ErrPasskeyInvalid) {
			t.Fatalf("registration from the wrong origin: %v", err)
		}
	})
}

// TestPasskeyFailuresLimited: bad assertions count against the client's
// wrong-code limit, so a flood of them is cut short; a right one is not
// counted.
func TestPasskeyFailuresLimited(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeys(t, st), withConfig(func(c *auth.Config) { c.ClientCodeFailureLimit = 3 }))
		e.ctx = auth.WithClient(e.ctx, client())
		addr, _, p := e.signedIn("pkflood")
		a := passkeytest.New(pkOrigin)
		e.register(p, a, "")
		for range 2 {
			if _, err := e.passkeySignIn(addr, a, passkeytest.Options{}); err != nil {
				t.Fatalf("good sign-in: %v", err)
			}
		}
		for i := range 3 {
			if _, err := e.passkeySignIn(addr, a, passkeytest.Options{TamperSignature: true}); auth.KindOf(err) != auth.KindInvalidCredentials {
				t.Fatalf("bad assertion %d: %v", i, err)
			}
		}
		_, err := e.passkeySignIn(addr, a, passkeytest.Options{})
		if auth.KindOf(err) != auth.KindRateLimited {
			t.Fatalf("past the limit: %v, want rate_limited", err)
		}
	})
}

// TestSyncedPasskeyBackupState: a synced passkey keeps no signature
// counter (0 at every use) and its backup state may change between uses
// (a device-bound key gets synced, or the other way round): every use
// signs in, and the stored backup state follows the last use.
func TestSyncedPasskeyBackupState(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st, withPasskeys(t, st))
		_, _, p := e.signedIn("pk-synced")
		a := passkeytest.New(pkOrigin)
		id, opts, err := e.svc.BeginPasskeyRegistration(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err := a.Register(opts, 0, passkeytest.Options{BE: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.FinishPasskeyRegistration(e.ctx, p, id, "", resp, client()); err != nil {
			t.Fatal(err)
		}
		cred := a.Credentials[0]
		cred.Counter = 0
		for i, bs := range []bool{true, false, true, true} {
			cred.BS = bs
			proof, err := e.passkeySignIn("", a, passkeytest.Options{})
			if err != nil {
				t.Fatalf("use %d (BS=%v): %v", i, bs, err)
			}
			if _, err := e.svc.Finish(e.ctx, proof, client(), auth.Tokens); err != nil {
				t.Fatalf("use %d: Finish: %v", i, err)
			}
			list, err := e.svc.Passkeys(e.ctx, p)
			if err != nil || len(list) != 1 || list[0].BackupState != bs || list[0].SignCount != 0 {
				t.Fatalf("after use %d: %+v, %v; want backup state %v, counter 0", i, list, err, bs)
			}
		}
	})
}
