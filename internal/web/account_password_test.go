package web_test

// Tests of the account page's password card.

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

func TestAccountPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "password@example.test"
	u := acctUser(t, e, email)
	b, _ := acctBrowser(t, e, u)
	other, _ := e.session(t, u, firefoxWin)
	const next = "correct horse battery staple 9"

	for _, tc := range []struct {
		name          string
		current, next string
		status        int
		want          []string
	}{
		{"wrong current password", "not my password", next, http.StatusUnauthorized,
			[]string{`id="current-password-error"`, "Password is not correct"}},
		{"weak new password", testPassword, "short", http.StatusBadRequest,
			[]string{`id="new-password-error"`, "must be at least 8 characters", `aria-describedby="new-password-hint new-password-error"`}},
		{"no new password", testPassword, "", http.StatusBadRequest,
			[]string{`id="new-password-error"`, "Password is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post(t, "/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.next}}).
				want(tc.status).contains(tc.want...)
			for _, typed := range []string{tc.current, tc.next} {
				if typed != "" {
					p.lacks(typed) // passwords are never sent back
				}
			}
		})
	}
	if got := e.checkStatus(t, other); got != http.StatusOK {
		t.Fatalf("after failed changes: other session /v1/check %d, want 200", got)
	}

	b.post(t, "/account/password", url.Values{"current_password": {testPassword}, "new_password": {next}}).redirectsTo("/?done=password#password")
	if got := e.checkStatus(t, other); got != http.StatusUnauthorized {
		t.Fatalf("after the change: other session /v1/check %d, want 401", got)
	}
	b.get(t, "/?done=password").want(http.StatusOK).contains("every other device was signed out", "This is the only device signed in.")
	if got := acctToken(t, e, email, next); got != http.StatusOK {
		t.Fatalf("new password at /v1/token: %d, want 200", got)
	}
	if got := acctToken(t, e, email, testPassword); got != http.StatusUnauthorized {
		t.Fatalf("old password at /v1/token: %d, want 401", got)
	}

	// htmx: the password card, and the sessions card out of band.
	e.session(t, u, firefoxWin)
	b.post(t, "/account/password", url.Values{"current_password": {next}, "new_password": {testPassword}}, htmx()).
		want(http.StatusOK).fragment("password").
		contains(`<section class="card" id="sessions" aria-labelledby="sessions-h" hx-swap-oob="true">`, "This is the only device signed in.").
		lacks("Firefox on Windows")
}

func TestAccountSetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const email = "nopassword@example.test"
	e.SignUp(t, email, "") // passwordless
	u, err := e.G.Auth().AdminUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := acctBrowser(t, e, u, auth.MethodOTP)
	b.get(t, "/").contains("Your account has no password", "Set password").lacks(`id="current-password"`)
	b.post(t, "/account/password", url.Values{"new_password": {"correct horse battery staple 9"}}).redirectsTo("/?done=password_set#password")
	b.get(t, "/?done=password_set").contains("Your password was set", "Change password", `id="current-password"`)
	if got := acctToken(t, e, email, "correct horse battery staple 9"); got != http.StatusOK {
		t.Fatalf("new password at /v1/token: %d, want 200", got)
	}
}
