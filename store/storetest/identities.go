package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// UserIdentityStore keeps users and the provider identities linked to them
// in one database: an identity names a user that must exist.
type UserIdentityStore interface {
	auth.UserStore
	auth.IdentityStore
}

// Identities runs the conformance tests of auth.IdentityStore.
func Identities(t *testing.T, open func(t *testing.T) UserIdentityStore) {
	t.Helper()
	runGroup(t, "Identities", open, identityTests)
}

var identityTests = []storeTest[UserIdentityStore]{
	{"AddAndGet", testAddIdentities},
	{"Taken", testIdentityTaken},
	{"AddConcurrently", testAddIdentityConcurrently},
	{"UnknownUser", testIdentityUnknownUser},
	{"Use", testUseIdentity},
	{"DeleteOwnOnly", testDeleteIdentity},
	{"DeleteUserCascades", testDeleteUserDeletesIdentities},
	{"Tokens", testIdentityTokens},
}

func newIdentity(userID, provider string, at time.Time) *auth.LinkedIdentity {
	return &auth.LinkedIdentity{
		ID: newID(), UserID: userID, Provider: provider, Subject: randomDigits(21),
		Email: "id-" + newID()[:8] + "@example.com", EmailVerified: true, Name: "Provider Name",
		CreatedAt: at,
	}
}

func mustAddIdentity(t *testing.T, s auth.IdentityStore, i *auth.LinkedIdentity) {
	t.Helper()
	if err := s.AddIdentity(t.Context(), i); err != nil {
		t.Fatalf("AddIdentity(%s): %v", i.Provider, err)
	}
}

func testAddIdentities(t *testing.T, s UserIdentityStore) {
	u, v := mustUser(t, s), mustUser(t, s)
	// Every field set.
	full := newIdentity(u.ID, "google", base)
	used := now
	full.LastUsedAt = &used
	// Every field at its zero but for what an identity always has.
	bare := &auth.LinkedIdentity{ID: newID(), UserID: u.ID, Provider: "github", Subject: "1", CreatedAt: base.Add(time.Second)}
	// Two at one instant: the ID orders them.
	a, b := newIdentity(v.ID, "acme", base), newIdentity(v.ID, "acme", base)
	a.ID, b.ID = "0"+a.ID, "1"+b.ID
	for _, i := range []*auth.LinkedIdentity{bare, b, full, a} {
		mustAddIdentity(t, s, i)
	}
	checkIdentities(t, s, u.ID, full, bare)
	checkIdentities(t, s, v.ID, a, b)
	for _, i := range []*auth.LinkedIdentity{full, bare, a, b} {
		checkStoredIdentity(t, s, i)
	}
	checkIdentities(t, s, newID())
	// Provider and subject match exactly: not another case, not a prefix,
	// not the same subject at another provider.
	checkNotFound(t, "a near match", []call{
		{"IdentityBySubject(case)", func(ctx context.Context) error {
			_, err := s.IdentityBySubject(ctx, "Google", full.Subject)
			return err
		}},
		{"IdentityBySubject(prefix)", func(ctx context.Context) error {
			_, err := s.IdentityBySubject(ctx, "google", full.Subject[:5])
			return err
		}},
		{"IdentityBySubject(other provider)", func(ctx context.Context) error {
			_, err := s.IdentityBySubject(ctx, "github", full.Subject)
			return err
		}},
	})
}

func testIdentityTaken(t *testing.T, s UserIdentityStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	first := newIdentity(u.ID, "google", base)
	first.Subject = "AbC"
	mustAddIdentity(t, s, first)
	for _, owner := range []string{u.ID, v.ID} {
		again := newIdentity(owner, "google", base.Add(time.Second))
		again.Subject = first.Subject
		wantErr(t, "AddIdentity of a linked (provider, subject)", s.AddIdentity(ctx, again), auth.ErrIdentityTaken)
	}
	// The same subject at another provider, and a subject that differs
	// only in case, are other identities.
	other := newIdentity(v.ID, "acme", base)
	other.Subject = first.Subject
	lower := newIdentity(v.ID, "google", base.Add(time.Second))
	lower.Subject = strings.ToLower(first.Subject)
	mustAddIdentity(t, s, other)
	mustAddIdentity(t, s, lower)
	checkIdentities(t, s, u.ID, first)
	checkIdentities(t, s, v.ID, other, lower)
}

func testAddIdentityConcurrently(t *testing.T, s UserIdentityStore) {
	// Two first sign-ins with one identity at once: one link is stored,
	// every other returns ErrIdentityTaken.
	users := []*auth.User{mustUser(t, s), mustUser(t, s)}
	subject := randomDigits(20)
	const n = 16
	is := make([]*auth.LinkedIdentity, n)
	for i := range is {
		is[i] = newIdentity(users[i%2].ID, "google", base.Add(time.Duration(i)*time.Millisecond))
		is[i].Subject = subject
	}
	errs := raceAll(n, func(i int) error { return s.AddIdentity(t.Context(), is[i]) })
	winner := is[oneSucceeds(t, "AddIdentity", errs, auth.ErrIdentityTaken)]
	checkStoredIdentity(t, s, winner)
	for _, u := range users {
		if u.ID == winner.UserID {
			checkIdentities(t, s, u.ID, winner)
		} else {
			checkIdentities(t, s, u.ID)
		}
	}
}

func testIdentityUnknownUser(t *testing.T, s UserIdentityStore) {
	i := newIdentity(newID(), "google", base)
	wantErr(t, "AddIdentity for an unknown user", s.AddIdentity(t.Context(), i), auth.ErrNotFound)
	checkNotFound(t, "an identity never stored", []call{
		{"IdentityBySubject", func(ctx context.Context) error { _, err := s.IdentityBySubject(ctx, i.Provider, i.Subject); return err }},
		{"UseIdentity", func(ctx context.Context) error { return s.UseIdentity(ctx, i.ID, "", false, "", now) }},
		{"DeleteIdentity", func(ctx context.Context) error { return s.DeleteIdentity(ctx, i.UserID, i.ID) }},
	})
}

func testUseIdentity(t *testing.T, s UserIdentityStore) {
	u := mustUser(t, s)
	i, other := newIdentity(u.ID, "google", base), newIdentity(u.ID, "github", base.Add(time.Second))
	mustAddIdentity(t, s, i)
	mustAddIdentity(t, s, other)
	if err := s.UseIdentity(t.Context(), i.ID, "new@example.com", false, "New Name", now); err != nil {
		t.Fatalf("UseIdentity: %v", err)
	}
	used := now
	i.Email, i.EmailVerified, i.Name, i.LastUsedAt = "new@example.com", false, "New Name", &used
	checkStoredIdentity(t, s, i)
	// Only that identity changed.
	checkIdentities(t, s, u.ID, i, other)
}

func testDeleteIdentity(t *testing.T, s UserIdentityStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	mine, theirs := newIdentity(u.ID, "google", base), newIdentity(v.ID, "google", base)
	mustAddIdentity(t, s, mine)
	mustAddIdentity(t, s, theirs)
	checkNotFound(t, "another user's identity", []call{
		{"DeleteIdentity", func(ctx context.Context) error { return s.DeleteIdentity(ctx, u.ID, theirs.ID) }},
	})
	checkStoredIdentity(t, s, theirs)
	if err := s.DeleteIdentity(ctx, u.ID, mine.ID); err != nil {
		t.Fatalf("DeleteIdentity: %v", err)
	}
	checkIdentities(t, s, u.ID)
	checkNotFound(t, "a deleted identity", []call{
		{"DeleteIdentity again", func(ctx context.Context) error { return s.DeleteIdentity(ctx, u.ID, mine.ID) }},
		{"IdentityBySubject", func(ctx context.Context) error {
			_, err := s.IdentityBySubject(ctx, mine.Provider, mine.Subject)
			return err
		}},
	})
	// The identity is free again: it may be linked anew.
	again := newIdentity(v.ID, mine.Provider, base.Add(time.Minute))
	again.Subject = mine.Subject
	mustAddIdentity(t, s, again)
	checkIdentities(t, s, v.ID, theirs, again)
}

func testDeleteUserDeletesIdentities(t *testing.T, s UserIdentityStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	gone := []*auth.LinkedIdentity{newIdentity(u.ID, "google", base), newIdentity(u.ID, "github", base.Add(time.Second))}
	kept := newIdentity(v.ID, "google", base)
	for _, i := range append(slices.Clone(gone), kept) {
		mustAddIdentity(t, s, i)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkIdentities(t, s, u.ID)
	for _, i := range gone {
		checkNotFound(t, "a deleted user's identity", []call{
			{"IdentityBySubject", func(ctx context.Context) error { _, err := s.IdentityBySubject(ctx, i.Provider, i.Subject); return err }},
			{"UseIdentity", func(ctx context.Context) error { return s.UseIdentity(ctx, i.ID, "", false, "", now) }},
		})
	}
	checkIdentities(t, s, v.ID, kept)
}

func testIdentityTokens(t *testing.T, s UserIdentityStore) {
	ctx := t.Context()
	u, v := mustUser(t, s), mustUser(t, s)
	i, other, theirs := newIdentity(u.ID, "google", base), newIdentity(u.ID, "github", base.Add(time.Second)), newIdentity(v.ID, "google", base)
	for _, x := range []*auth.LinkedIdentity{i, other, theirs} {
		mustAddIdentity(t, s, x)
	}
	tokensOf := func(userID, id string) []byte {
		t.Helper()
		got, err := s.IdentityTokens(ctx, userID, id)
		if err != nil {
			t.Fatalf("IdentityTokens: %v", err)
		}
		return got
	}
	// None kept until asked.
	if got := tokensOf(u.ID, i.ID); got != nil {
		t.Errorf("IdentityTokens of a new identity = %x, want nil", got)
	}
	// Opaque bytes, kept exactly (a zero byte and bytes that are not UTF-8
	// included), and replaced by the next.
	first, second := []byte{0, 1, 0xff, 'a'}, []byte("sealed\x00second\xfe")
	for _, sealed := range [][]byte{first, second} {
		if err := s.SetIdentityTokens(ctx, i.ID, sealed); err != nil {
			t.Fatalf("SetIdentityTokens: %v", err)
		}
		if got := tokensOf(u.ID, i.ID); string(got) != string(sealed) {
			t.Errorf("IdentityTokens = %x, want %x", got, sealed)
		}
	}
	// Listing says they are kept, never what they are; the others have none.
	i.HasTokens = true
	checkIdentities(t, s, u.ID, i, other)
	checkStoredIdentity(t, s, i)
	checkStoredIdentity(t, s, theirs)
	// A sign-in's record leaves them as they are.
	if err := s.UseIdentity(ctx, i.ID, i.Email, true, i.Name, now); err != nil {
		t.Fatalf("UseIdentity: %v", err)
	}
	used := now
	i.LastUsedAt = &used
	if got := tokensOf(u.ID, i.ID); string(got) != string(second) {
		t.Errorf("IdentityTokens after UseIdentity = %x, want %x", got, second)
	}
	checkNotFound(t, "another user's or an unknown identity's tokens", []call{
		{"IdentityTokens(another user's)", func(ctx context.Context) error { _, err := s.IdentityTokens(ctx, v.ID, i.ID); return err }},
		{"IdentityTokens(unknown)", func(ctx context.Context) error { _, err := s.IdentityTokens(ctx, u.ID, newID()); return err }},
		{"SetIdentityTokens(unknown)", func(ctx context.Context) error { return s.SetIdentityTokens(ctx, newID(), first) }},
	})
	// nil forgets them.
	if err := s.SetIdentityTokens(ctx, i.ID, nil); err != nil {
		t.Fatalf("SetIdentityTokens(nil): %v", err)
	}
	if got := tokensOf(u.ID, i.ID); got != nil {
		t.Errorf("IdentityTokens after forgetting = %x, want nil", got)
	}
	i.HasTokens = false
	checkStoredIdentity(t, s, i)
	// Unlinking takes them along: a new link of the same subject has none.
	if err := s.SetIdentityTokens(ctx, i.ID, first); err != nil {
		t.Fatalf("SetIdentityTokens: %v", err)
	}
	if err := s.DeleteIdentity(ctx, u.ID, i.ID); err != nil {
		t.Fatalf("DeleteIdentity: %v", err)
	}
	again := newIdentity(u.ID, i.Provider, base.Add(time.Minute))
	again.Subject = i.Subject
	mustAddIdentity(t, s, again)
	if got := tokensOf(u.ID, again.ID); got != nil {
		t.Errorf("IdentityTokens of a new link = %x, want nil", got)
	}
}

func checkStoredIdentity(t *testing.T, s auth.IdentityStore, want *auth.LinkedIdentity) {
	t.Helper()
	got, err := s.IdentityBySubject(t.Context(), want.Provider, want.Subject)
	if err != nil {
		t.Errorf("IdentityBySubject(%s): %v", want.Provider, err)
		return
	}
	equal(t, "identity", got, want)
}

// checkIdentities checks that Identities(userID) returns want, in that
// order, as a list (empty, not nil, for none).
func checkIdentities(t *testing.T, s auth.IdentityStore, userID string, want ...*auth.LinkedIdentity) {
	t.Helper()
	got, err := s.Identities(t.Context(), userID)
	if err != nil {
		t.Fatalf("Identities: %v", err)
	}
	if got == nil {
		t.Errorf("Identities = nil, want an empty list")
	}
	if !slices.EqualFunc(got, want, func(g auth.LinkedIdentity, w *auth.LinkedIdentity) bool { return g.ID == w.ID }) {
		t.Errorf("Identities = %v, want %v (oldest first, then by ID)",
			idsOf(got, func(i auth.LinkedIdentity) string { return i.ID }),
			idsOf(want, func(i *auth.LinkedIdentity) string { return i.ID }))
		return
	}
	for i := range got {
		equal(t, "identity", &got[i], want[i])
	}
}
