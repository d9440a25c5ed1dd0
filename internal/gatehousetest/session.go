package gatehousetest

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/opaque"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// Session starts a cookie session for the account with that email as if
// it had signed in from client c with the methods amr (a password when
// none; two make it aal2), and returns the cookie's value and the
// session's id. It writes the session to the database as the sign-in
// flows do, so a test can choose the session's assurance level and device
// without enrolling factors. auth offers no way to start a session
// without a proof, and this one lives here, in tests only, for that
// reason. The account must not be disabled.
func (s *Server) Session(t testing.TB, email string, c auth.Client, amr ...string) (cookie, id string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.G.Auth().AdminUserByEmail(ctx, email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	if u.Disabled() {
		t.Fatalf("%s is disabled: no sign-in would start a session", email)
	}
	if len(amr) == 0 {
		amr = []string{auth.MethodPassword}
	}
	plain, hash, err := opaque.New()
	if err != nil {
		t.Fatal(err)
	}
	// As auth starts a session: aal2 after two methods, idle and absolute
	// expiry from the configured lifetimes.
	now := s.Clock.Now()
	sess := &auth.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CookieHash: hash, IP: c.IP, UserAgent: c.UserAgent,
		AAL: auth.AAL1, AMR: amr, CreatedAt: now, LastSeenAt: now,
		AbsoluteExpiresAt: now.Add(s.Config.RefreshTokenTTL),
	}
	if len(amr) > 1 || slices.Contains(amr, auth.MethodWebAuthn) {
		// As auth's aalOf: a passkey alone verified its user, two factors.
		sess.AAL = auth.AAL2
	}
	sess.ExpiresAt = now.Add(s.Config.SessionTTL)
	if sess.AbsoluteExpiresAt.Before(sess.ExpiresAt) {
		sess.ExpiresAt = sess.AbsoluteExpiresAt
	}
	if err := s.store(t).CreateSession(ctx, sess, nil); err != nil {
		t.Fatalf("create session: %v", err)
	}
	s.Logs.Secret(plain)
	return plain, sess.ID
}

// store opens the server's database a second time, as the test's own
// connection, closed with the server.
func (s *Server) store(t testing.TB) *sqlstore.Store {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		st, err := sqlstore.Open(context.Background(), s.Config.DatabaseURL, sqlstore.Options{})
		if err != nil {
			t.Fatalf("open the server's database: %v", err)
		}
		s.db = st
		s.t.Cleanup(func() { st.Close() })
	}
	return s.db
}
