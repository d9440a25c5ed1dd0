package memstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/memstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The memory store passes the groups of the short-lived ports it
// implements, so those ports need neither SQL nor a change to auth.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Challenges(t, func(*testing.T) auth.ChallengeStore { return memstore.NewCodes() })
	storetest.MFATokens(t, func(*testing.T) auth.MFATokenStore { return memstore.NewCodes() })
	storetest.Revocations(t, func(*testing.T) auth.Revocations { return memstore.NewRevocations() })
}

// Dead codes are swept a day after they died, so memory holds what is
// live; live ones stay.
func TestSweep(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := memstore.NewCodes()
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	dead := &auth.Challenge{ID: "dead", Purpose: auth.PurposeSignIn, Address: "dead@example.com", CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	deadToken := &auth.MFAToken{ID: "dead", UserID: "u", Hash: []byte("dead"), CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	if err := c.PutChallenge(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateMFAToken(ctx, deadToken); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(25 * time.Hour)
	for i := range 300 {
		addr := fmt.Sprintf("live%d@example.com", i)
		if err := c.PutChallenge(ctx, &auth.Challenge{ID: addr, Purpose: auth.PurposeSignIn, Address: addr, CreatedAt: later, ExpiresAt: later.Add(5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ChallengeByAddress(ctx, dead.Purpose, dead.Address); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("a challenge dead for a day = %v; want it swept", err)
	}
	if _, err := c.MFATokenByHash(ctx, deadToken.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("an MFA token dead for a day = %v; want it swept", err)
	}
	if _, err := c.ChallengeByAddress(ctx, auth.PurposeSignIn, "live0@example.com"); err != nil {
		t.Errorf("a live challenge: %v", err)
	}
}
