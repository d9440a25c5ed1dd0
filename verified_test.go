package gatehouse_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/verify"
)

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// TestEmailVerifiedReachesApps: an app behind Gatehouse can tell a proven
// email from a typed one, in the access token (email_verified, read by
// package verify) and in the check's X-Auth-Email-Verified. A password
// sign-up has only typed its address; the holder proving it with the
// code the sign-up mailed, or a sign-in by an emailed code, proves it,
// and both follow.
func TestEmailVerifiedReachesApps(t *testing.T) {
	t.Parallel()
	srv := gatehousetest.Start(t, gatehousetest.OwnPublicURL(), gatehousetest.WithMail())
	ctx := context.Background()
	v, err := verify.New(ctx, srv.URL, verify.WithClock(srv.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	want := func(what, access string, verified bool) {
		t.Helper()
		c, err := v.Verify(ctx, access)
		if err != nil {
			t.Fatalf("%s: verify: %v", what, err)
		}
		if c.EmailVerified != verified || c.PhoneVerified {
			t.Errorf("%s: token email_verified %v phone_verified %v, want %v and false", what, c.EmailVerified, c.PhoneVerified, verified)
		}
		h := srv.Do(t, "GET", "/v1/check", nil, gatehousetest.Bearer(access)).Want(http.StatusOK).Header
		if got, want := h.Get("X-Auth-Email-Verified"), map[bool]string{true: "true", false: "false"}[verified]; got != want {
			t.Errorf("%s: X-Auth-Email-Verified %q, want %q", what, got, want)
		}
	}

	const addr = "typed@example.test"
	srv.SignUp(t, addr, gatehousetest.Password)
	want("password sign-up", srv.SignIn(t, addr, gatehousetest.Password).AccessToken, false)
	srv.ProveEmail(t, addr, gatehousetest.Password)
	want("password sign-in after proving the email", srv.SignIn(t, addr, gatehousetest.Password).AccessToken, true)

	const other = "coded@example.test"
	srv.SignUp(t, other, "")
	srv.Do(t, "POST", "/v1/otp", map[string]string{"email": other}).Want(http.StatusAccepted)
	p, err := gatehousetest.WaitMailAbout(t, srv.SMTP, other, "sign-in code", 1).Parse()
	if err != nil {
		t.Fatal(err)
	}
	code := codeRE.FindString(p.Text)
	if code == "" {
		t.Fatalf("no code in %q", p.Text)
	}
	srv.Logs.Secret(code)
	tok := srv.Tokens(srv.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": other, "code": code}))
	if !tok.User.EmailVerified {
		t.Errorf("sign-in by emailed code: user %+v", tok.User)
	}
	want("sign-in by emailed code", tok.AccessToken, true)
}
