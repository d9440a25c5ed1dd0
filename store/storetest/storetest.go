// Package storetest is the conformance suite of auth's storage ports, one
// group per port: Users, Sessions and Keys, Factors, Audit, Passkeys and
// Identities (durable); Challenges, MFATokens, Ceremonies, Revocations, Throttles,
// SendLimiters and Limiters (short-lived); Outbox (the message queue and
// its worker's side). A store's own tests call the group of each port it
// implements with a function that opens a fresh, empty store, or Run for a
// store that keeps everything in one database, which also checks what
// ports kept together do together (deleting a user takes its codes,
// passkeys and ceremonies along; a code and the message carrying it are
// stored in one transaction). It depends on nothing but package auth and
// the standard library.
//
// Values read back are compared whole, after normalising times to what a
// store keeps (UTC, microseconds), so a field added to a type is checked by
// every test that reads one back. Where a group's rows name a user (a
// factor, an MFA token, a challenge, a passkey, a ceremony), the tests
// create the user through the store when it also implements
// auth.UserStore, as a store with foreign keys needs; otherwise any fresh
// ID does.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Run runs every group whose port the stores from open implement, and the
// tests of ports kept together, each test as a parallel subtest against its
// own empty store, so the tests cannot see each other's rows. open must
// register the store's clean-up with t.Cleanup. A test of a port the store
// does not implement is skipped.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	t.Helper()
	Users(t, func(t *testing.T) auth.UserStore { return open(t) })
	Sessions(t, open)
	Keys(t, as[auth.KeyStore](open))
	Factors(t, as[auth.FactorStore](open))
	Audit(t, as[auth.AuditStore](open))
	Challenges(t, as[auth.ChallengeStore](open))
	MFATokens(t, as[auth.MFATokenStore](open))
	Passkeys(t, as[auth.PasskeyStore](open))
	Ceremonies(t, as[auth.CeremonyStore](open))
	Identities(t, as[UserIdentityStore](open))
	Outbox(t, as[OutboxStore](open))
	Revocations(t, as[auth.Revocations](open))
	runTests(t, open, challengesTogetherTests)
	runTests(t, open, factorsTogetherTests)
	runTests(t, open, mfaTogetherTests)
	runTests(t, open, passkeysTogetherTests)
	runTests(t, open, ceremoniesTogetherTests)
}

// storeTest is one conformance test of stores that implement S.
type storeTest[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runGroup runs each test of list as a parallel subtest of group on a
// fresh store from open.
func runGroup[S any](t *testing.T, group string, open func(t *testing.T) S, list []storeTest[S]) {
	t.Helper()
	for _, tc := range list {
		t.Run(group+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// as turns open into the open of a group of port S, skipping the test when
// the store does not implement S.
func as[S any](open func(t *testing.T) auth.Store) func(t *testing.T) S {
	return func(t *testing.T) S {
		t.Helper()
		s := open(t)
		ss, ok := s.(S)
		if !ok {
			t.Skipf("%T does not implement %v", s, reflect.TypeFor[S]())
		}
		return ss
	}
}

// runTests runs each test of ports kept together as a parallel subtest on
// a fresh store from open, skipping it when that store does not implement
// S.
func runTests[S any](t *testing.T, open func(t *testing.T) auth.Store, list []storeTest[S]) {
	t.Helper()
	runGroup(t, "Together", as[S](open), list)
}

// base has nanoseconds and a zone other than UTC on purpose: stores keep
// microseconds and return UTC.
var base = time.Date(2026, 11, 22, 9, 30, 15, 123456789, time.FixedZone("UTC+1", 3600))

// now is "the present" of the session tests: after base, before the
// sessions' expiries.
var now = base.Add(10 * time.Minute)

func newID() string { return hex.EncodeToString(randomBytes(16)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func randomDigits(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func newUser(label string) *auth.User {
	id := newID()
	return &auth.User{
		ID:        id,
		Email:     label + "-" + id[:12] + "@example.com",
		Name:      "Test " + label,
		CreatedAt: base,
		UpdatedAt: base,
	}
}

func mustCreateUser(t *testing.T, s auth.UserStore, u *auth.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
}

// owner returns a user for the rows of a test to name: stored through s
// when s keeps users too (its codes or factors may need the user to exist),
// else only made.
func owner(t *testing.T, s any) *auth.User {
	t.Helper()
	if us, ok := s.(auth.UserStore); ok {
		return mustUser(t, us)
	}
	return newUser("owner")
}

func mustUser(t *testing.T, s auth.UserStore) *auth.User {
	t.Helper()
	u := newUser("owner")
	mustCreateUser(t, s, u)
	return u
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one matching %v", what, err, target)
	}
}

func sortStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkPages pages through a newest-first list by its cursor, 2 at a time
// (page returns the IDs of the page before the cursor), and checks that
// the pages give want, without gaps or repeats, and end with an empty page.
func checkPages(t *testing.T, name string, want []string, page func(before string) ([]string, error)) {
	t.Helper()
	var paged []string
	before := ""
	for n := 1; ; n++ {
		if n > 10 {
			t.Fatalf("%s paging does not end: %v", name, paged)
		}
		got, err := page(before)
		if err != nil {
			t.Fatalf("%s, page %d: %v", name, n, err)
		}
		if len(got) > 2 {
			t.Fatalf("%s, limit 2, answered %d", name, len(got))
		}
		if len(got) == 0 {
			break
		}
		paged = append(paged, got...)
		before = got[len(got)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("%s in pages of 2 = %v, want %v", name, paged, want)
	}
}
