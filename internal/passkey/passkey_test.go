package passkey_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey"
	"github.com/gatehouse/gatehouse/internal/passkey/passkeytest"
)

const (
	rpID   = "example.test"
	origin = "https://auth.example.test"
)

// accounts is the store the tests look passkeys up in.
type accounts struct {
	users    map[string]auth.User
	passkeys map[string][]auth.Passkey
}

func newAccounts() *accounts {
	return &accounts{users: map[string]auth.User{}, passkeys: map[string][]auth.Passkey{}}
}

func (a *accounts) add(id, email string) auth.User {
	u := auth.User{ID: id, Email: email}
	a.users[id] = u
	return u
}

func (a *accounts) lookup(handle, _ []byte) (auth.User, []auth.Passkey, error) {
	u, ok := a.users[string(handle)]
	if !ok {
		return auth.User{}, nil, auth.ErrNotFound
	}
	return u, a.passkeys[u.ID], nil
}

func newRP(t *testing.T) *passkey.RelyingParty {
	t.Helper()
	rp, err := passkey.New(rpID, "Gatehouse", []string{origin, "android:apk-key-hash:abc"})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// register adds a passkey of u on a and stores it.
func register(t *testing.T, rp *passkey.RelyingParty, acc *accounts, a *passkeytest.Authenticator, u auth.User, counter uint32, o passkeytest.Options) (auth.Passkey, *passkeytest.Credential) {
	t.Helper()
	options, data, err := rp.BeginRegistration(u, acc.passkeys[u.ID])
	if err != nil {
		t.Fatal(err)
	}
	resp, cred, err := a.Register(options, counter, o)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rp.FinishRegistration(u, data, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	acc.passkeys[u.ID] = append(acc.passkeys[u.ID], *p)
	return *p, cred
}

func TestBeginRegistrationOptions(t *testing.T) {
	t.Parallel()
	rp, acc := newRP(t), newAccounts()
	u := acc.add("user-1", "a@example.com")
	existing, _ := register(t, rp, acc, passkeytest.New(origin), u, 0, passkeytest.Options{})
	options, _, err := rp.BeginRegistration(u, acc.passkeys[u.ID])
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		RP   struct{ ID, Name string }
		User struct {
			ID, Name string
		}
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			RequireResident  bool   `json:"requireResidentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation        string
		ExcludeCredentials []struct{ ID, Type string } `json:"excludeCredentials"`
		Timeout            int
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	s := o.AuthenticatorSelection
	if o.RP.ID != rpID || o.RP.Name != "Gatehouse" || o.User.ID != "dXNlci0x" || o.User.Name != "a@example.com" ||
		s.ResidentKey != "required" || !s.RequireResident || s.UserVerification != "preferred" || o.Attestation != "none" ||
		o.Timeout != 300000 || len(o.ExcludeCredentials) != 1 || o.ExcludeCredentials[0].Type != "public-key" {
		t.Errorf("options %s", options)
	}
	if o.ExcludeCredentials[0].ID == "" || !strings.Contains(string(options), `"id":"`+o.ExcludeCredentials[0].ID) {
		t.Errorf("excluded %v, want %x", o.ExcludeCredentials, existing.ID)
	}
	// The display name is the person's name when the profile has one; the
	// address alone otherwise.
	for _, tc := range []struct{ name, want string }{{"", "a@example.com"}, {"Ada Lovelace", "Ada Lovelace"}} {
		named := u
		named.Name = tc.name
		options, _, err := rp.BeginRegistration(named, nil)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			User struct {
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
		}
		if err := json.Unmarshal(options, &d); err != nil || d.User.Name != "a@example.com" || d.User.DisplayName != tc.want {
			t.Errorf("profile name %q: user %+v, %v; want name a@example.com, display %q", tc.name, d.User, err, tc.want)
		}
	}
	// The authenticator that holds an excluded credential refuses.
	a := passkeytest.New(origin)
	a.Credentials = []*passkeytest.Credential{{ID: existing.ID}}
	if _, _, err := a.Register(options, 0, passkeytest.Options{}); err == nil {
		t.Error("an excluded credential was created again")
	}
}

func TestRegisterThenSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		usernameless bool
		counter      uint32
	}{
		{"allowCredentials", false, 0},
		{"usernameless", true, 0},
		{"allowCredentials with a counter", false, 7},
		{"usernameless with a counter", true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rp, acc := newRP(t), newAccounts()
			u := acc.add("user-1", "a@example.com")
			acc.add("user-2", "b@example.com")
			a := passkeytest.New(origin)
			a.AAGUID = []byte("0123456789abcdef")
			p, _ := register(t, rp, acc, a, u, tc.counter, passkeytest.Options{BE: true, BS: true, Transports: []string{"internal"}})
			if p.UserID != u.ID || len(p.ID) != 16 || len(p.PublicKey) == 0 || p.AttestationFormat != "none" ||
				string(p.AAGUID) != "0123456789abcdef" || p.SignCount != tc.counter || !slices.Equal(p.Transports, []string{"internal"}) ||
				!p.UserVerified || !p.BackupEligible || !p.BackupState || p.Name != "" {
				t.Fatalf("passkey %+v", p)
			}
			allowed := acc.passkeys[u.ID]
			if tc.usernameless {
				allowed = nil
			}
			for i := range 3 { // the counter moves on each time
				options, data, err := rp.BeginLogin(allowed)
				if err != nil {
					t.Fatal(err)
				}
				var o struct {
					UserVerification string `json:"userVerification"`
					AllowCredentials []any  `json:"allowCredentials"`
				}
				if err := json.Unmarshal(options, &o); err != nil || o.UserVerification != "required" || len(o.AllowCredentials) != len(allowed) {
					t.Fatalf("options %s", options)
				}
				resp, err := a.Login(options, passkeytest.Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, used, uv, err := rp.FinishLogin(data, resp, acc.lookup)
				if err != nil {
					t.Fatalf("sign-in %d: %v", i, err)
				}
				want := uint32(0)
				if tc.counter != 0 {
					want = tc.counter + uint32(i) + 1
				}
				if got.ID != u.ID || !slices.Equal(used.ID, p.ID) || used.SignCount != want || !uv || !used.BackupState {
					t.Fatalf("sign-in %d: user %s, passkey %+v, uv %v", i, got.ID, used, uv)
				}
				acc.passkeys[u.ID][0].SignCount = used.SignCount
			}
		})
	}
}

// TestSyncedPasskeyBackupStateFlips: a synced passkey's BS flag may change
// between uses; the sign-in goes on and reports the new state.
func TestSyncedPasskeyBackupStateFlips(t *testing.T) {
	t.Parallel()
	rp, acc := newRP(t), newAccounts()
	u := acc.add("user-1", "a@example.com")
	a := passkeytest.New(origin)
	_, cred := register(t, rp, acc, a, u, 0, passkeytest.Options{BE: true})
	for _, bs := range []bool{true, false, true} {
		cred.BS = bs
		options, data, err := rp.BeginLogin(nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Login(options, passkeytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, used, _, err := rp.FinishLogin(data, resp, acc.lookup)
		if err != nil || used.BackupState != bs {
			t.Fatalf("BS=%v: backup state %v, %v", bs, used.BackupState, err)
		}
		acc.passkeys[u.ID][0].BackupState = used.BackupState
	}
}

// TestAttacksRefused: each response an attacker (or a broken client)
// could send is refused with an error the caller can map to 400 or 401.
func TestAttacksRefused(t *testing.T) {
	t.Parallel()
	type env struct {
		rp       *passkey.RelyingParty
		acc      *accounts
		alice    auth.User
		a, b     *passkeytest.Authenticator // alice's and bob's
		aliceKey *passkeytest.Credential
		bobKey   *passkeytest.Credential
	}
	// login answers a sign-in begun with allowed using o.
	login := func(t *testing.T, e *env, allowed []auth.Passkey, o passkeytest.Options) ([]byte, []byte) {
		t.Helper()
		options, data, err := e.rp.BeginLogin(allowed)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.a.Login(options, o)
		if err != nil {
			t.Fatal(err)
		}
		return data, resp
	}
	for _, tc := range []struct {
		name string
		// run returns the session data, the response and the lookup.
		run  func(t *testing.T, e *env) (data, resp []byte)
		want error
	}{
		{"a response to another challenge", func(t *testing.T, e *env) ([]byte, []byte) {
			_, resp := login(t, e, nil, passkeytest.Options{})
			_, data, _ := e.rp.BeginLogin(nil)
			return data, resp
		}, passkey.ErrInvalidResponse},
		{"a forged challenge", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{Challenge: []byte("0123456789abcdef0123456789abcdef")})
		}, passkey.ErrInvalidResponse},
		{"wrong origin", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{Origin: "https://evil.example"})
		}, passkey.ErrInvalidResponse},
		{"a sibling origin not configured", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{Origin: "https://other.example.test"})
		}, passkey.ErrInvalidResponse},
		{"wrong RP ID hash", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{RPID: "evil.example"})
		}, passkey.ErrInvalidResponse},
		{"tampered signature", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{TamperSignature: true})
		}, passkey.ErrInvalidResponse},
		{"user not verified", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{NoUV: true})
		}, passkey.ErrInvalidResponse},
		{"unknown credential, usernameless", func(t *testing.T, e *env) ([]byte, []byte) {
			stranger := passkeytest.New(origin)
			options, _, _ := e.rp.BeginRegistration(auth.User{ID: e.alice.ID, Email: "a@example.com"}, nil)
			_, cred, err := stranger.Register(options, 0, passkeytest.Options{}) // never finished: not stored
			if err != nil {
				t.Fatal(err)
			}
			return login(t, e, nil, passkeytest.Options{Credential: cred})
		}, passkey.ErrUnknownCredential},
		{"unknown user handle", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{UserHandle: []byte("nobody")})
		}, passkey.ErrUnknownCredential},
		{"another user's credential with this user's handle", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{Credential: e.bobKey, UserHandle: []byte(e.alice.ID)})
		}, passkey.ErrUnknownCredential},
		{"another user's credential when the sign-in allowed this user's", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, e.acc.passkeys[e.alice.ID], passkeytest.Options{Credential: e.bobKey})
		}, passkey.ErrUnknownCredential},
		{"another user's credential and handle when the sign-in allowed this user's", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, e.acc.passkeys[e.alice.ID], passkeytest.Options{Credential: e.bobKey, UserHandle: []byte("user-b")})
		}, passkey.ErrUnknownCredential},
		{"this user's credential with another user's handle", func(t *testing.T, e *env) ([]byte, []byte) {
			return login(t, e, nil, passkeytest.Options{UserHandle: []byte("user-b")})
		}, passkey.ErrUnknownCredential},
		{"a registration response to a sign-in", func(t *testing.T, e *env) ([]byte, []byte) {
			options, data, _ := e.rp.BeginLogin(e.acc.passkeys[e.alice.ID])
			// Alice's own credential, with the sign-in's challenge,
			// answered by create() instead of get().
			var o struct{ Challenge string }
			_ = json.Unmarshal(options, &o)
			creation, _, _ := e.rp.BeginRegistration(e.alice, nil)
			creation = []byte(strings.Replace(string(creation), `"challenge":"`, `"challenge":"`+o.Challenge+`","x":"`, 1))
			resp, _, err := e.a.Register(creation, 0, passkeytest.Options{Credential: e.aliceKey})
			if err != nil {
				t.Fatal(err)
			}
			return data, resp
		}, passkey.ErrInvalidResponse},
		{"a registration response to a usernameless sign-in", func(t *testing.T, e *env) ([]byte, []byte) {
			options, data, _ := e.rp.BeginLogin(nil)
			var o struct{ Challenge string }
			_ = json.Unmarshal(options, &o)
			creation, _, _ := e.rp.BeginRegistration(e.alice, nil)
			creation = []byte(strings.Replace(string(creation), `"challenge":"`, `"challenge":"`+o.Challenge+`","x":"`, 1))
			resp, _, err := e.a.Register(creation, 0, passkeytest.Options{Credential: e.aliceKey})
			if err != nil {
				t.Fatal(err)
			}
			return data, resp
		}, passkey.ErrInvalidResponse},
		{"counter regression", func(t *testing.T, e *env) ([]byte, []byte) {
			back := uint32(3)
			return login(t, e, nil, passkeytest.Options{Credential: e.aliceKey, Counter: &back})
		}, passkey.ErrCounterRegressed},
		{"counter replayed", func(t *testing.T, e *env) ([]byte, []byte) {
			same := uint32(5)
			return login(t, e, nil, passkeytest.Options{Credential: e.aliceKey, Counter: &same})
		}, passkey.ErrCounterRegressed},
		{"counter dropped to zero", func(t *testing.T, e *env) ([]byte, []byte) {
			zero := uint32(0)
			return login(t, e, nil, passkeytest.Options{Credential: e.aliceKey, Counter: &zero})
		}, passkey.ErrCounterRegressed},
		{"garbage session data", func(t *testing.T, e *env) ([]byte, []byte) {
			_, resp := login(t, e, nil, passkeytest.Options{})
			return []byte("{"), resp
		}, passkey.ErrInvalidSession},
		{"not JSON", func(t *testing.T, e *env) ([]byte, []byte) {
			data, _ := login(t, e, nil, passkeytest.Options{})
			return data, []byte("nope")
		}, passkey.ErrInvalidResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := &env{rp: newRP(t), acc: newAccounts(), a: passkeytest.New(origin), b: passkeytest.New(origin)}
			e.alice = e.acc.add("user-a", "a@example.com")
			bob := e.acc.add("user-b", "b@example.com")
			_, e.aliceKey = register(t, e.rp, e.acc, e.a, e.alice, 5, passkeytest.Options{})
			_, e.bobKey = register(t, e.rp, e.acc, e.b, bob, 0, passkeytest.Options{})
			data, resp := tc.run(t, e)
			u, used, _, err := e.rp.FinishLogin(data, resp, e.acc.lookup)
			t.Logf("refused: %v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.want == passkey.ErrCounterRegressed {
				// Told who and what, for the audit.
				if u.ID != e.alice.ID || !slices.Equal(used.ID, e.aliceKey.ID) {
					t.Errorf("regression reported for %q %x", u.ID, used.ID)
				}
			}
		})
	}
}

func TestFinishRegistrationRefuses(t *testing.T) {
	t.Parallel()
	rp, acc := newRP(t), newAccounts()
	alice, bob := acc.add("user-a", "a@example.com"), acc.add("user-b", "b@example.com")
	for _, tc := range []struct {
		name string
		as   auth.User
		o    passkeytest.Options
		edit func(data, resp []byte) ([]byte, []byte)
		want error
	}{
		{"wrong origin", alice, passkeytest.Options{Origin: "https://evil.example"}, nil, passkey.ErrInvalidResponse},
		{"wrong RP ID hash", alice, passkeytest.Options{RPID: "evil.example"}, nil, passkey.ErrInvalidResponse},
		{"another challenge", alice, passkeytest.Options{Challenge: []byte("0123456789abcdef0123456789abcdef")}, nil, passkey.ErrInvalidResponse},
		{"finished as another user", bob, passkeytest.Options{}, nil, passkey.ErrInvalidResponse},
		{"BS without BE", alice, passkeytest.Options{BS: true}, nil, passkey.ErrInvalidResponse},
		{"a sign-in response", alice, passkeytest.Options{}, func(data, _ []byte) ([]byte, []byte) {
			a := passkeytest.New(origin)
			options, _, _ := rp.BeginRegistration(alice, nil)
			if _, _, err := a.Register(options, 0, passkeytest.Options{}); err != nil {
				t.Fatal(err)
			}
			var s struct{ Challenge string }
			_ = json.Unmarshal(data, &s)
			resp, err := a.Login([]byte(`{"challenge":"`+s.Challenge+`","rpId":"`+rpID+`"}`), passkeytest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return data, resp
		}, passkey.ErrInvalidResponse},
		{"garbage session data", alice, passkeytest.Options{}, func(_, resp []byte) ([]byte, []byte) {
			return []byte(`{"challenge":""}`), resp
		}, passkey.ErrInvalidSession},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			options, data, err := rp.BeginRegistration(alice, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := passkeytest.New(origin).Register(options, 0, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				data, resp = tc.edit(data, resp)
			}
			_, err = rp.FinishRegistration(tc.as, data, resp)
			t.Logf("refused: %v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestLookupFailure: a store that fails is not an invalid credential (the
// caller answers 503, not 401).
func TestLookupFailure(t *testing.T) {
	t.Parallel()
	rp, acc := newRP(t), newAccounts()
	u := acc.add("user-a", "a@example.com")
	a := passkeytest.New(origin)
	register(t, rp, acc, a, u, 0, passkeytest.Options{})
	options, data, _ := rp.BeginLogin(nil)
	resp, _ := a.Login(options, passkeytest.Options{})
	down := errors.New("store down")
	_, _, _, err := rp.FinishLogin(data, resp, func(_, _ []byte) (auth.User, []auth.Passkey, error) {
		return auth.User{}, nil, down
	})
	if !errors.Is(err, down) || errors.Is(err, passkey.ErrInvalidResponse) || errors.Is(err, passkey.ErrUnknownCredential) {
		t.Fatalf("err %v", err)
	}
}

func TestBeginLoginOfManyUsersRefused(t *testing.T) {
	t.Parallel()
	_, _, err := newRP(t).BeginLogin([]auth.Passkey{{ID: []byte{1}, UserID: "a"}, {ID: []byte{2}, UserID: "b"}})
	if err == nil {
		t.Fatal("accepted")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rpID    string
		origins []string
		bad     string // in the error; "" for none
	}{
		{"example.com", []string{"https://example.com"}, ""},
		{"example.com", []string{"https://auth.example.com", "https://app.example.com:8443"}, ""},
		{"auth.example.com", []string{"https://auth.example.com/"}, ""},
		{"localhost", []string{"http://localhost:3000"}, ""},
		{"localhost", []string{"https://localhost"}, ""},
		{"example.com", []string{"https://example.com", "android:apk-key-hash:abc123"}, ""},
		{"", []string{"https://example.com"}, "empty"},
		{"127.0.0.1", []string{"https://127.0.0.1"}, "IP address"},
		{"::1", []string{"https://[::1]"}, "IP address"},
		{"com", []string{"https://example.com"}, "domain"},
		{"Example.com", []string{"https://example.com"}, "lower-case"},
		{"example.com:443", []string{"https://example.com"}, "lower-case"},
		{"https://example.com", []string{"https://example.com"}, "lower-case"},
		{"example.com", nil, "at least one origin"},
		{"example.com", []string{"https://example.org"}, "example.org is neither"},
		{"example.com", []string{"https://badexample.com"}, "neither"},
		{"auth.example.com", []string{"https://example.com"}, "neither"},
		{"example.com", []string{"http://example.com"}, "plain http"},
		{"example.com", []string{"http://localhost:3000"}, "plain http"},
		{"example.com", []string{"https://example.com/path"}, "not an origin"},
		{"example.com", []string{"ftp://example.com"}, "neither an http(s) origin"},
		{"example.com", []string{"android:apk-key-hash:abc"}, "at least one http(s) origin"},
		{"example.com", []string{"https://example.com", "chrome-extension"}, "neither"},
	} {
		_, err := passkey.New(tc.rpID, "Gatehouse", tc.origins)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%q %q: %v", tc.rpID, tc.origins, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q %q: error %v, want one saying %q", tc.rpID, tc.origins, err, tc.bad)
		}
	}
}

// TestBeginSignUpRequiresUV: the first passkey of a new account must
// verify its user (it is the account's only credential): the options
// require it, and a response without it does not verify.
func TestBeginSignUpRequiresUV(t *testing.T) {
	t.Parallel()
	rp := newRP(t)
	u := auth.User{ID: "new-user", Email: "n@example.com"}
	for _, tc := range []struct {
		name string
		o    passkeytest.Options
		ok   bool
	}{
		{"user verified", passkeytest.Options{}, true},
		{"no user verification", passkeytest.Options{NoUV: true}, false},
	} {
		options, data, err := rp.BeginSignUp(u)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			User                   struct{ ID string }
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			ExcludeCredentials []any `json:"excludeCredentials"`
		}
		if err := json.Unmarshal(options, &o); err != nil {
			t.Fatal(err)
		}
		if o.User.ID != "bmV3LXVzZXI" || o.AuthenticatorSelection.UserVerification != "required" || o.AuthenticatorSelection.ResidentKey != "required" || len(o.ExcludeCredentials) != 0 {
			t.Errorf("options %s", options)
		}
		resp, _, err := passkeytest.New(origin).Register(options, 0, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rp.FinishRegistration(u, data, resp)
		if tc.ok && (err != nil || !p.UserVerified || p.UserID != u.ID) {
			t.Errorf("%s: %+v, %v", tc.name, p, err)
		}
		if !tc.ok && !errors.Is(err, passkey.ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrInvalidResponse", tc.name, err)
		}
	}
}

// TestBeginSecondFactor: a passkey as a second step asks for user
// verification without requiring it (possession is the factor), allows
// only the user's passkeys, and needs at least one.
func TestBeginSecondFactor(t *testing.T) {
	t.Parallel()
	rp, acc := newRP(t), newAccounts()
	u := acc.add("user-1", "a@example.com")
	v := acc.add("user-2", "b@example.com")
	a, b := passkeytest.New(origin), passkeytest.New(origin)
	register(t, rp, acc, a, u, 0, passkeytest.Options{})
	register(t, rp, acc, b, v, 0, passkeytest.Options{})
	if _, _, err := rp.BeginSecondFactor(nil); err == nil {
		t.Error("a second step with no passkey began")
	}
	for _, tc := range []struct {
		name string
		by   *passkeytest.Authenticator
		o    passkeytest.Options
		want error
	}{
		{"user verified", a, passkeytest.Options{}, nil},
		{"possession only", a, passkeytest.Options{NoUV: true}, nil},
		{"another user's passkey", a, passkeytest.Options{Credential: b.Credentials[0]}, passkey.ErrUnknownCredential},
		{"tampered", a, passkeytest.Options{TamperSignature: true}, passkey.ErrInvalidResponse},
	} {
		options, data, err := rp.BeginSecondFactor(acc.passkeys[u.ID])
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			UserVerification string `json:"userVerification"`
			AllowCredentials []any  `json:"allowCredentials"`
		}
		if err := json.Unmarshal(options, &o); err != nil || o.UserVerification != "preferred" || len(o.AllowCredentials) != 1 {
			t.Errorf("options %s (%v)", options, err)
		}
		resp, err := tc.by.Login(options, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		got, _, verified, err := rp.FinishLogin(data, resp, acc.lookup)
		if tc.want == nil && (err != nil || got.ID != u.ID || verified == tc.o.NoUV) {
			t.Errorf("%s: %s, verified %v, %v", tc.name, got.ID, verified, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
