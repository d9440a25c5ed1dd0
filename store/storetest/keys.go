package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Keys runs the conformance tests of auth.KeyStore.
func Keys(t *testing.T, open func(t *testing.T) auth.KeyStore) {
	t.Helper()
	runGroup(t, "Keys", open, keyTests)
}

var keyTests = []storeTest[auth.KeyStore]{
	{"AddRetiresPrevious", testSigningKeys},
	{"AddConcurrently", testAddSigningKeysConcurrently},
	{"Empty", testNoSigningKeys},
	{"NilRoundTrips", testKeyNilRoundTrip},
	{"CancelledContext", testKeyCancelledContext},
}

func testSigningKeys(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	var want []auth.SigningKey
	for i := range 3 {
		k := &auth.SigningKey{
			ID:        newID(),
			Algorithm: "EdDSA",
			// Every byte value, and more than a page of SQLite, must survive.
			Private:   append([]byte{0, 0xff, 0, '\''}, randomBytes(5000)...),
			Public:    append(randomBytes(44), 0),
			CreatedAt: base.Add(time.Duration(i) * time.Hour),
		}
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey #%d: %v", i, err)
		}
		if i > 0 {
			retired := k.CreatedAt
			want[i-1].RetiredAt = &retired
		}
		want = append(want, *k)
	}
	got, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("SigningKeys answered %d keys, want %d", len(got), len(want))
	}
	for i := range got {
		checkKey(t, got[i], want[i])
	}
}

func testAddSigningKeysConcurrently(t *testing.T, s auth.KeyStore) {
	// Nodes that start together each add a first key; however their
	// transactions interleave, exactly one key may be left signing.
	ctx := t.Context()
	const n = 8
	errs := raceAll(n, func(i int) error {
		return s.AddSigningKey(ctx, &auth.SigningKey{
			ID: newID(), Algorithm: "EdDSA", Private: randomBytes(48), Public: randomBytes(44),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
		})
	})
	noErrors(t, "AddSigningKey", errs)
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	signing := 0
	for _, k := range keys {
		if k.RetiredAt == nil {
			signing++
		}
	}
	if len(keys) != n || signing != 1 {
		t.Errorf("after %d concurrent AddSigningKey: %d keys, %d unretired; want %d keys, exactly 1 unretired", n, len(keys), signing, n)
	}
}

func testNoSigningKeys(t *testing.T, s auth.KeyStore) {
	got, err := s.SigningKeys(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("SigningKeys of an empty store = %d keys, %v; want none", len(got), err)
	}
}

func testKeyNilRoundTrip(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: newID(), Algorithm: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: base}
	if err := s.AddSigningKey(ctx, k); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("SigningKeys = %d keys, %v; want 1", len(keys), err)
	}
	if keys[0].RetiredAt != nil {
		t.Errorf("key RetiredAt = %v, want nil", keys[0].RetiredAt)
	}
}

func testKeyCancelledContext(t *testing.T, s auth.KeyStore) {
	checkCancelled(t, "SigningKeys", func(ctx context.Context) error { _, err := s.SigningKeys(ctx); return err })
	checkCancelled(t, "AddSigningKey", func(ctx context.Context) error {
		return s.AddSigningKey(ctx, &auth.SigningKey{ID: newID(), Algorithm: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: now})
	})
	testNoSigningKeys(t, s)
}

func checkKey(t *testing.T, got, want auth.SigningKey) {
	t.Helper()
	if !bytes.Equal(got.Private, want.Private) || !bytes.Equal(got.Public, want.Public) {
		// Keys are long: name the difference rather than print them.
		t.Errorf("key %s: private %d bytes, public %d bytes; want %d and %d, exactly as stored",
			want.ID, len(got.Private), len(got.Public), len(want.Private), len(want.Public))
		return
	}
	equal(t, "key "+want.ID, got, want)
}
