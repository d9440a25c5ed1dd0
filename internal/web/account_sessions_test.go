package web_test

// Tests of the account page's sessions card.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := acctUser(t, e, "sessions@example.test")
	b, self := acctBrowser(t, e, u)

	long := "ExampleAgent/1.0 " + strings.Repeat("z", 100)
	devices := []struct{ ua, want string }{
		{firefoxWin, "Firefox on Windows"},
		{safariPhone, "Safari on iPhone"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0", "Edge on Android"},
		{"curl/8.5.0", "curl/8.5.0"},
		{long, long[:59] + "…"},
		{"", "Unknown device"},
	}
	cookies := make([]string, len(devices))
	ids := make([]string, len(devices))
	for i, d := range devices {
		cookies[i], ids[i] = e.session(t, u, d.ua)
	}
	p := b.get(t, "/").want(http.StatusOK).contains(`action="/account/sessions/others"`, "Sign out everywhere else")
	for _, d := range devices {
		p.contains("<td>" + d.want + `<span class="hint">`)
	}
	// "This device" marks the browser's own session, which has no revoke
	// button; every other one has.
	p.contains(`<td>Chrome on macOS <span class="badge ok">This device</span>`).lacks("/account/sessions/" + self + "/revoke")
	for _, id := range ids {
		p.contains(`action="/account/sessions/` + id + `/revoke"`)
	}

	// Revoking one ends that session's cookie at once, and only that one.
	b.post(t, "/account/sessions/"+ids[0]+"/revoke", url.Values{}).redirectsTo("/?done=session#sessions")
	if got := e.checkStatus(t, cookies[0]); got != http.StatusUnauthorized {
		t.Fatalf("revoked session: /v1/check %d, want 401", got)
	}
	if got := e.checkStatus(t, cookies[1]); got != http.StatusOK {
		t.Fatalf("other session: /v1/check %d, want 200", got)
	}
	b.get(t, "/?done=session").contains("That device was signed out.").lacks("Firefox on Windows")

	// With htmx the sessions card comes back alone.
	b.post(t, "/account/sessions/"+ids[1]+"/revoke", url.Values{}, htmx()).want(http.StatusOK).
		fragment("sessions").contains("That device was signed out.").lacks("Safari on iPhone", `id="profile"`)

	// Someone else's session, or no session at all, is not found here.
	other := acctUser(t, e, "other@example.test")
	otherCookie, otherID := e.session(t, other, firefoxWin)
	b.post(t, "/account/sessions/"+otherID+"/revoke", url.Values{}).want(http.StatusNotFound).contains("No such session.")
	b.post(t, "/account/sessions/not-an-id/revoke", url.Values{}).want(http.StatusNotFound)
	if got := e.checkStatus(t, otherCookie); got != http.StatusOK {
		t.Fatalf("another user's session: /v1/check %d, want 200", got)
	}

	// Sign out everywhere else: every other session ends, this one stays.
	b.post(t, "/account/sessions/others", url.Values{}).redirectsTo("/?done=others#sessions")
	for i, c := range cookies {
		if got := e.checkStatus(t, c); got != http.StatusUnauthorized {
			t.Fatalf("session %d after signing out everywhere else: /v1/check %d, want 401", i, got)
		}
	}
	b.get(t, "/?done=others").want(http.StatusOK).contains("You were signed out everywhere else.", "This is the only device signed in.")
}
