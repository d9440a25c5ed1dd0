package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func entry(id, user, cookie string) *cacheEntry {
	e := &cacheEntry{user: User{ID: user}, session: Session{ID: id, UserID: user}, loadedAt: time.Unix(1, 0)}
	if cookie != "" {
		e.session.CookieHash = []byte(cookie)
	}
	return e
}

func TestSessionCache(t *testing.T) {
	t.Parallel()
	c := newSessionCache(100)
	a, b, d := entry("a", "u1", "ca"), entry("b", "u1", ""), entry("d", "u2", "cd")
	for _, e := range []*cacheEntry{a, b, d} {
		c.put(e, c.generation())
	}
	if c.get("a") != a || c.get("b") != b || c.get("d") != d || c.get("x") != nil {
		t.Fatal("get does not answer what was put")
	}
	if c.getByCookie([]byte("ca")) != a || c.getByCookie([]byte("cd")) != d || c.getByCookie([]byte("cb")) != nil || c.getByCookie(nil) != nil {
		t.Fatal("getByCookie does not answer what was put")
	}

	// Replacing an entry drops its old cookie.
	a2 := entry("a", "u1", "ca2")
	c.put(a2, c.generation())
	if c.get("a") != a2 || c.getByCookie([]byte("ca2")) != a2 || c.getByCookie([]byte("ca")) != nil {
		t.Error("a replaced entry kept its old cookie or lost its new one")
	}

	c.forget("a", "nope")
	if c.get("a") != nil || c.getByCookie([]byte("ca2")) != nil || c.get("b") != b {
		t.Error("forget removed the wrong entries")
	}
	c.put(a2, c.generation())
	c.forgetUser("u1")
	if c.get("a") != nil || c.get("b") != nil || c.getByCookie([]byte("ca2")) != nil || c.get("d") != d {
		t.Error("forgetUser removed the wrong entries")
	}
	if len(c.byID) != 1 || len(c.byCookie) != 1 {
		t.Errorf("cache holds %d entries and %d cookies; want 1 and 1", len(c.byID), len(c.byCookie))
	}
}

func TestSessionCacheBound(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 5, 10, 100} {
		c := newSessionCache(max)
		for i := range 10 * max {
			id := fmt.Sprint(i)
			e := entry(id, "u", "c"+id)
			c.put(e, c.generation())
			if c.get(id) != e || c.getByCookie([]byte("c"+id)) != e {
				t.Fatalf("max %d: the entry just put is missing", max)
			}
			if len(c.byID) > max || len(c.byCookie) != len(c.byID) {
				t.Fatalf("max %d: %d entries, %d cookies", max, len(c.byID), len(c.byCookie))
			}
		}
	}
}

func TestSessionCacheConcurrent(t *testing.T) {
	t.Parallel()
	c := newSessionCache(50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint(i % 80)
				switch (g + i) % 5 {
				case 0:
					c.put(entry(id, fmt.Sprint("u", i%3), "c"+id), c.generation())
				case 1:
					c.get(id)
				case 2:
					c.getByCookie([]byte("c" + id))
				case 3:
					c.forget(id)
				case 4:
					c.forgetUser(fmt.Sprint("u", i%3))
				}
			}
		})
	}
	wg.Wait()
	if len(c.byID) > 50 {
		t.Errorf("%d entries; want at most 50", len(c.byID))
	}
	for h, id := range c.byCookie {
		if e := c.byID[id]; e == nil || string(e.session.CookieHash) != h {
			t.Errorf("cookie %q points at %v", h, e)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 4, ""},
		{"abcd", 4, "abcd"},
		{"abcde", 4, "abcd"},
		{"abcé", 4, "abc"},
		{"abé", 4, "abé"},
		{"a\xffb", 8, "a\uFFFDb"},
		{"a\x00b", 8, "a\uFFFDb"},
		{"€€€", 7, "€€"},
		{"\xff\xff\xff", 2, ""},
	}
	for _, tt := range tests {
		got := truncate(tt.in, tt.n)
		if got != tt.want || len(got) > tt.n || !utf8.ValidString(got) || strings.Contains(got, "\x00") {
			t.Errorf("truncate(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// A revocation that lands while a check is loading a session from the store
// must win: the loaded (now stale) entry is not cached.
func TestSessionCachePutAfterForgetIsRefused(t *testing.T) {
	c := newSessionCache(10)
	gen := c.generation()
	c.forget("s1") // the revocation, between the check's read and its put
	c.put(entry("s1", "u1", "c1"), gen)
	if c.get("s1") != nil {
		t.Fatal("an entry loaded before a forget was cached after it")
	}
	c.put(entry("s1", "u1", "c1"), c.generation())
	if c.get("s1") == nil {
		t.Fatal("an entry loaded after the forget was not cached")
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{newID(), true},
		{"01a203ae-da33-7c19-a683-75e28a488ec6", true},
		{"01A203AE-DA33-7C19-A683-75E28A488EC6", false}, // not canonical
		{"{01a203ae-da33-7c19-a683-75e28a488ec6}", false},
		{"01a203aeda337c19a68375e28a488ec6", false},
		{"", false},
		{"\xff", false},
		{"a\x00b", false},
	} {
		if got := validID(tc.id); got != tc.want {
			t.Errorf("validID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// TestResultOfAbandoned: a request whose client went away (its context
// canceled) while it waited for a hashing slot or the store is counted as
// abandoned, not as an error of ours; a deadline of ours stays an error.
func TestResultOfAbandoned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"hashing slot, client gone", hashErr(fmt.Errorf("password: waiting for a hashing slot: %w", context.Canceled)), ResultAbandoned},
		{"store, client gone", storeErr("find user", fmt.Errorf("sqlstore: %w", context.Canceled)), ResultAbandoned},
		{"hashing slot, deadline", hashErr(context.DeadlineExceeded), ResultError},
		{"store down", storeErr("find user", ErrUnavailable), ResultError},
		{"wrong password", errInvalidCredentials, ResultFailure},
	} {
		if got := resultOf(c.err); got != c.want {
			t.Errorf("%s: resultOf = %q, want %q", c.name, got, c.want)
		}
	}
	if k := KindOf(hashErr(context.Canceled)); k != KindUnavailable {
		t.Errorf("a client gone while waiting answers %q, want unavailable (503: the client is gone, but a proxy in between may still be listening)", k)
	}
}

// TestFirstFactors: what a step-up keeps of a session's methods. A
// passkey first is the sign-in and stays, so stepping a passkey session
// up again never leaves it with one factor (aal1).
func TestFirstFactors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ amr, want []string }{
		{[]string{MethodPassword}, []string{MethodPassword}},
		{[]string{MethodPassword, MethodTOTP}, []string{MethodPassword}},
		{[]string{MethodOTP, MethodEmailCode}, []string{MethodOTP}},
		{[]string{MethodOTP, MethodPassword, MethodBackupCode}, []string{MethodOTP, MethodPassword}},
		{[]string{MethodPassword, MethodWebAuthn}, []string{MethodPassword}},
		{[]string{MethodWebAuthn}, []string{MethodWebAuthn}},
		{[]string{MethodWebAuthn, MethodTOTP}, []string{MethodWebAuthn}},
	} {
		got := firstFactors(c.amr)
		if !slices.Equal(got, c.want) {
			t.Errorf("firstFactors(%v) = %v, want %v", c.amr, got, c.want)
		}
		if len(c.amr) > 1 && aalOf(append(got, MethodTOTP)) != AAL2 {
			t.Errorf("a step-up of %v with an authenticator ends below aal2", c.amr)
		}
	}
}
