// Package sendtest holds what the tests of the mail and SMS senders and
// their fake providers share, so both channels are held to the same rules
// for a failed send and their fakes wait alike.
package sendtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// CheckFailure checks a send that must fail: err is not nil, is marked
// permanent exactly when permanent is true (the worker retries the rest),
// names every string in want, and repeats none of secrets. call names the
// method in the messages.
func CheckFailure(t testing.TB, call string, err error, permanent bool, want []string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded", call)
	}
	if got := notify.IsPermanent(err); got != permanent {
		t.Errorf("IsPermanent(%q) = %v, want %v", err, got, permanent)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error repeats a secret: %q", err)
		}
	}
}

// CheckTemporary checks a send that must fail in a way worth retrying:
// err is not nil, not marked permanent, and repeats none of secrets. what
// names the send in the message.
func CheckTemporary(t testing.TB, what string, err error, secrets ...string) {
	t.Helper()
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("%s = %v, want a temporary error", what, err)
	}
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error repeats a secret: %q", err)
		}
	}
}

// Hang starts a provider that accepts every request and never replies
// until the test ends: a sender must give up on its own timeout or its
// context.
func Hang(t testing.TB) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// Wait waits until messages returns at least n messages and returns them,
// or fails the test after timeout: the outbox sends asynchronously. got
// receives a value each time the fake provider accepts a message; name
// says which fake gave up.
func Wait[M any](t testing.TB, name string, n int, timeout time.Duration, got <-chan struct{}, messages func() []M) []M {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := messages(); len(m) >= n {
			return m
		}
		select {
		case <-got:
		case <-deadline.C:
			t.Fatalf("%s: %d messages after %v, want %d", name, len(messages()), timeout, n)
			return nil
		}
	}
}
