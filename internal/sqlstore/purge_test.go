package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// Purge takes exactly the rows that can no longer be used and leaves every
// live one.
func TestPurge(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		t.Parallel()
		ctx := context.Background()
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		id := func() string { return uuid.Must(uuid.NewV7()).String() }
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		u := &auth.User{ID: id(), Email: "purge@example.com", CreatedAt: now, UpdatedAt: now}
		must(s.CreateUser(ctx, u))

		// Dead: expired two days ago, or ended, or sent, long before now.
		old := now.Add(-48 * time.Hour)
		oldCh := &auth.Challenge{ID: id(), Purpose: auth.PurposeSignIn, Address: "old@example.com", CodeHash: []byte("a"),
			CreatedAt: old, ExpiresAt: old.Add(5 * time.Minute)}
		sent := &auth.Message{ID: id(), Kind: auth.KindSignInCode, Channel: "email", To: "old@example.com", Payload: []byte("x"),
			Status: auth.MessagePending, NextAttemptAt: old.Add(-8 * 24 * time.Hour), CreatedAt: old.Add(-8 * 24 * time.Hour)}
		must(s.PutChallengeWithMessage(ctx, oldCh, sent))
		must(s.MessageSent(ctx, sent.ID, 1, old))
		oldTok := &auth.MFAToken{ID: id(), UserID: u.ID, Hash: []byte("old-mfa"), AMR: []string{"pwd"}, CreatedAt: old, ExpiresAt: old.Add(5 * time.Minute)}
		must(s.CreateMFAToken(ctx, oldTok))
		oldSess := &auth.Session{ID: id(), UserID: u.ID, AAL: auth.AAL1, CreatedAt: old, LastSeenAt: old, ExpiresAt: old.Add(time.Hour), AbsoluteExpiresAt: old.Add(time.Hour)}
		oldRT := &auth.RefreshToken{ID: id(), SessionID: oldSess.ID, Hash: []byte("old-rt"), CreatedAt: old, ExpiresAt: old.Add(time.Hour)}
		must(s.CreateSession(ctx, oldSess, oldRT))
		enrol := &auth.Factor{ID: id(), UserID: u.ID, Kind: auth.FactorTOTP, Secret: []byte("s"), CreatedAt: old}
		must(s.PutFactor(ctx, enrol))
		oldCer := &auth.Ceremony{ID: id(), Purpose: auth.CeremonyLogin, Data: []byte("old"), CreatedAt: old, ExpiresAt: old.Add(5 * time.Minute)}
		must(s.PutCeremony(ctx, oldCer))

		// Live: a fresh challenge with a pending message, a live session
		// whose first refresh token was rotated a moment ago, a fresh MFA
		// token, a confirmed factor, a fresh ceremony, a passkey last used
		// long ago.
		liveCh := &auth.Challenge{ID: id(), Purpose: auth.PurposeSignIn, Address: "new@example.com", CodeHash: []byte("b"),
			CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		pending := &auth.Message{ID: id(), Kind: auth.KindSignInCode, Channel: "email", To: "new@example.com", Payload: []byte("y"),
			Status: auth.MessagePending, NextAttemptAt: now, CreatedAt: now}
		must(s.PutChallengeWithMessage(ctx, liveCh, pending))
		liveSess := &auth.Session{ID: id(), UserID: u.ID, AAL: auth.AAL1, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}
		rt1 := &auth.RefreshToken{ID: id(), SessionID: liveSess.ID, Hash: []byte("rt1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		must(s.CreateSession(ctx, liveSess, rt1))
		rt2 := &auth.RefreshToken{ID: id(), SessionID: liveSess.ID, Hash: []byte("rt2"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if won, err := s.RotateRefreshToken(ctx, rt1.ID, rt2, now, liveSess.ExpiresAt); err != nil || !won {
			t.Fatalf("rotate: %v %v", won, err)
		}
		liveTok := &auth.MFAToken{ID: id(), UserID: u.ID, Hash: []byte("new-mfa"), AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		must(s.CreateMFAToken(ctx, liveTok))
		email := &auth.Factor{ID: id(), UserID: u.ID, Kind: auth.FactorEmail, CreatedAt: old}
		must(s.PutFactor(ctx, email))
		must(s.ConfirmFactor(ctx, email.ID, 0, old, nil))
		liveCer := &auth.Ceremony{ID: id(), Purpose: auth.CeremonyRegister, UserID: u.ID, Data: []byte("new"), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		must(s.PutCeremony(ctx, liveCer))
		pk := &auth.Passkey{ID: []byte("credential"), UserID: u.ID, PublicKey: []byte("cose"), AAGUID: make([]byte, 16), CreatedAt: old, LastUsedAt: &old}
		must(s.AddPasskey(ctx, pk))

		n, err := s.Purge(ctx, now.Add(-24*time.Hour), now.Add(-7*24*time.Hour))
		must(err)
		// old challenge, old MFA token, old ceremony, the enrolment, old
		// session (and its refresh token by cascade, not counted), the old
		// sent message.
		if n != 6 {
			t.Errorf("purged %d rows, want 6", n)
		}
		for _, c := range []struct {
			what   string
			gone   bool // or kept
			lookup func() error
		}{
			{"expired challenge", true, func() error {
				_, err := s.ChallengeByAddress(ctx, auth.PurposeSignIn, "old@example.com")
				return err
			}},
			{"expired mfa token", true, func() error { _, err := s.MFATokenByHash(ctx, []byte("old-mfa")); return err }},
			// Taken at the old time, when it was live: only the purge can
			// have removed it.
			{"expired ceremony", true, func() error {
				_, err := s.TakeCeremony(ctx, oldCer.ID, oldCer.Purpose, old)
				return err
			}},
			{"ended session", true, func() error { _, err := s.SessionByID(ctx, oldSess.ID); return err }},
			{"ended session's refresh token", true, func() error { _, err := s.RefreshTokenByHash(ctx, []byte("old-rt")); return err }},
			{"live challenge", false, func() error {
				_, err := s.ChallengeByAddress(ctx, auth.PurposeSignIn, "new@example.com")
				return err
			}},
			{"live mfa token", false, func() error { _, err := s.MFATokenByHash(ctx, []byte("new-mfa")); return err }},
			{"live ceremony", false, func() error {
				_, err := s.TakeCeremony(ctx, liveCer.ID, liveCer.Purpose, now)
				return err
			}},
			{"passkey", false, func() error { _, err := s.PasskeyByID(ctx, pk.ID); return err }},
			{"live session", false, func() error { _, err := s.SessionByID(ctx, liveSess.ID); return err }},
			{"recently rotated refresh token (reuse detection)", false, func() error {
				_, err := s.RefreshTokenByHash(ctx, []byte("rt1"))
				return err
			}},
		} {
			err := c.lookup()
			switch {
			case c.gone && !errors.Is(err, auth.ErrNotFound):
				t.Errorf("%s survived the purge: %v", c.what, err)
			case !c.gone && err != nil:
				t.Errorf("%s was purged: %v", c.what, err)
			}
		}
		factors, err := s.Factors(ctx, u.ID)
		must(err)
		if len(factors) != 1 || factors[0].Kind != auth.FactorEmail {
			t.Errorf("factors after purge: %+v, want only the confirmed email factor", factors)
		}
		msgs, err := s.ListMessages(ctx, "", "", 10)
		must(err)
		if len(msgs) != 1 || msgs[0].ID != pending.ID {
			t.Errorf("messages after purge: %v, want only the pending one", msgs)
		}
	})
}
