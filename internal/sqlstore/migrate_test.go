package sqlstore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// TestMigrateUpgradeKeepsRows upgrades a database holding rows of schema
// version 3 (the last before phone identities) to the latest, and checks
// that every row survived (on SQLite 00004 rebuilds users, whose DROP
// TABLE would cascade into every table that references it if foreign keys
// were on), that foreign keys are enforced afterwards, that email is
// optional and that the unique constraints still hold.
func TestMigrateUpgradeKeepsRows(t *testing.T) {
	for _, tc := range []sqltest.DB{sqltest.SQLiteDB, sqltest.PostgresDB} {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storeAt(t, tc.URL(t), 3)
			if v := queryString(t, s, "SELECT MAX(version_id) FROM gatehouse_migrations"); v != "3" {
				t.Fatalf("schema version after MigrateTo(3) = %s, want 3", v)
			}

			// Rows as version 3 has them, written by hand.
			at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
			exec := func(q string, args ...any) {
				t.Helper()
				if err := s.Exec(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			old := &auth.User{
				ID: "u-old", Email: "old@example.com", EmailVerified: true, Phone: "+14155552671",
				PhoneVerified: true, Name: "Old User", PasswordHash: "$argon2id$old",
				CreatedAt: at, UpdatedAt: at.Add(time.Second),
			}
			other := &auth.User{ID: "u-other", Email: "other@example.com", Name: "Other", CreatedAt: at, UpdatedAt: at}
			for _, u := range []*auth.User{old, other} {
				var phone any
				if u.Phone != "" {
					phone = u.Phone
				}
				exec(`INSERT INTO users (id, email, email_verified, phone, phone_verified, name,
					password_hash, disabled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
					u.ID, u.Email, u.EmailVerified, phone, u.PhoneVerified, u.Name, u.PasswordHash, u.CreatedAt, u.UpdatedAt)
			}
			sess := &auth.Session{
				ID: "s-old", UserID: old.ID, CookieHash: []byte("cookie-hash"), IP: "192.0.2.1",
				UserAgent: "old-agent", AAL: auth.AAL2, AMR: []string{auth.MethodPassword, auth.MethodTOTP},
				CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour), AbsoluteExpiresAt: at.Add(24 * time.Hour),
			}
			exec(`INSERT INTO sessions (id, user_id, cookie_hash, ip, user_agent, aal, amr, created_at,
				last_seen_at, expires_at, absolute_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				sess.ID, sess.UserID, sess.CookieHash, sess.IP, sess.UserAgent, sess.AAL, "pwd totp",
				sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt, sess.AbsoluteExpiresAt)
			rt := &auth.RefreshToken{ID: "rt-old", SessionID: sess.ID, Hash: []byte("refresh-hash"), CreatedAt: at, ExpiresAt: at.Add(720 * time.Hour)}
			exec(`INSERT INTO refresh_tokens (id, session_id, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
				rt.ID, rt.SessionID, rt.Hash, rt.CreatedAt, rt.ExpiresAt)
			confirmed := at.Add(time.Minute)
			factor := &auth.Factor{ID: "f-old", UserID: old.ID, Kind: auth.FactorTOTP, Secret: []byte("sealed-secret"),
				LastStep: 59000001, CreatedAt: at, ConfirmedAt: &confirmed}
			exec(`INSERT INTO factors (id, user_id, kind, secret, last_step, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				factor.ID, factor.UserID, factor.Kind, factor.Secret, factor.LastStep, factor.CreatedAt, confirmed)
			exec(`INSERT INTO backup_codes (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)`,
				"bc-old", old.ID, []byte("backup-hash"), at)
			exec(`INSERT INTO mfa_tokens (id, user_id, hash, amr, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
				"mfa-old", old.ID, []byte("mfa-hash"), "pwd", at, at.Add(5*time.Minute))
			ch := &auth.Challenge{ID: "c-old", Purpose: auth.PurposeSignIn, Address: old.Email, UserID: old.ID,
				CodeHash: []byte("code-hash"), RedirectTo: "https://app.example.com/", Attempts: 1,
				CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
			exec(`INSERT INTO challenges (id, purpose, address, user_id, code_hash, redirect_to, attempts,
				created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				ch.ID, ch.Purpose, ch.Address, ch.UserID, ch.CodeHash, ch.RedirectTo, ch.Attempts, ch.CreatedAt, ch.ExpiresAt)

			tables := []string{"users", "sessions", "refresh_tokens", "factors", "backup_codes", "mfa_tokens", "challenges"}
			before := countRows(t, s, tables)

			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			version := queryString(t, s, "SELECT MAX(version_id) FROM gatehouse_migrations")
			if v, err := strconv.Atoi(version); err != nil || v < 4 {
				t.Fatalf("schema version after Migrate = %s, want at least 4", version)
			}

			// Every row survived, and reads back through the store.
			if after := countRows(t, s, tables); !slices.Equal(after, before) {
				t.Errorf("rows per table %v = %v before the upgrade, %v after", tables, before, after)
			}
			checkRows := func() {
				t.Helper()
				for _, u := range []*auth.User{old, other} {
					got, err := s.UserByID(ctx, u.ID)
					if err != nil {
						t.Fatalf("UserByID(%s): %v", u.ID, err)
					}
					checkUpgradedUser(t, got, u)
				}
				if got, err := s.UserByEmail(ctx, old.Email); err != nil || got.ID != old.ID {
					t.Errorf("UserByEmail = %v, %v; want %s", got, err, old.ID)
				}
				if got, err := s.UserByPhone(ctx, old.Phone); err != nil || got.ID != old.ID {
					t.Errorf("UserByPhone = %v, %v; want %s", got, err, old.ID)
				}
				gotSess, err := s.SessionByID(ctx, sess.ID)
				if err != nil {
					t.Fatalf("SessionByID after the upgrade: %v (cascade-deleted by the users rebuild?)", err)
				}
				if gotSess.UserID != sess.UserID || !bytes.Equal(gotSess.CookieHash, sess.CookieHash) || gotSess.IP != sess.IP ||
					gotSess.UserAgent != sess.UserAgent || gotSess.AAL != sess.AAL || !slices.Equal(gotSess.AMR, sess.AMR) ||
					!gotSess.CreatedAt.Equal(sess.CreatedAt) || !gotSess.ExpiresAt.Equal(sess.ExpiresAt) ||
					!gotSess.AbsoluteExpiresAt.Equal(sess.AbsoluteExpiresAt) || gotSess.RevokedAt != nil {
					t.Errorf("session after the upgrade = %+v\nwant %+v", *gotSess, *sess)
				}
				gotRT, err := s.RefreshTokenByHash(ctx, rt.Hash)
				if err != nil {
					t.Fatalf("RefreshTokenByHash after the upgrade: %v", err)
				}
				if gotRT.ID != rt.ID || gotRT.SessionID != rt.SessionID || !gotRT.ExpiresAt.Equal(rt.ExpiresAt) || gotRT.RotatedAt != nil {
					t.Errorf("refresh token after the upgrade = %+v\nwant %+v", *gotRT, *rt)
				}
				factors, err := s.Factors(ctx, old.ID)
				if err != nil {
					t.Fatalf("Factors after the upgrade: %v", err)
				}
				if len(factors) != 1 || factors[0].ID != factor.ID || factors[0].Kind != factor.Kind ||
					!bytes.Equal(factors[0].Secret, factor.Secret) || factors[0].LastStep != factor.LastStep ||
					factors[0].ConfirmedAt == nil || !factors[0].ConfirmedAt.Equal(confirmed) {
					t.Errorf("factors after the upgrade = %+v, want [%+v]", factors, *factor)
				}
				if n, err := s.BackupCodesLeft(ctx, old.ID); err != nil || n != 1 {
					t.Errorf("BackupCodesLeft after the upgrade = %d, %v; want 1", n, err)
				}
				if tok, err := s.MFATokenByHash(ctx, []byte("mfa-hash")); err != nil || tok.UserID != old.ID {
					t.Errorf("MFATokenByHash after the upgrade = %+v, %v; want a token of %s", tok, err, old.ID)
				}
				gotCh, err := s.ChallengeByAddress(ctx, ch.Purpose, ch.Address)
				if err != nil {
					t.Fatalf("ChallengeByAddress after the upgrade: %v", err)
				}
				if gotCh.ID != ch.ID || gotCh.UserID != ch.UserID || !bytes.Equal(gotCh.CodeHash, ch.CodeHash) ||
					gotCh.RedirectTo != ch.RedirectTo || gotCh.Attempts != ch.Attempts || gotCh.Target != "" ||
					!gotCh.ExpiresAt.Equal(ch.ExpiresAt) {
					t.Errorf("challenge after the upgrade = %+v\nwant %+v (and an empty Target)", *gotCh, *ch)
				}
			}
			checkRows()

			if s.Dialect() == "sqlite" {
				if got := queryString(t, s, "PRAGMA foreign_keys"); got != "1" {
					t.Errorf("PRAGMA foreign_keys on the writer after the upgrade = %s, want 1", got)
				}
				if v, err := s.QueryString(ctx, false, "PRAGMA foreign_key_check"); !errors.Is(err, sql.ErrNoRows) {
					t.Errorf("PRAGMA foreign_key_check after the upgrade = %q, %v; want no violations", v, err)
				}
				if got := queryString(t, s, "SELECT strict FROM pragma_table_list WHERE name = 'users'"); got != "1" {
					t.Errorf("users is STRICT = %s after the upgrade, want 1", got)
				}
				if got := queryString(t, s, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('users_new', 'users_old')"); got != "0" {
					t.Errorf("%s tables of the rebuild (users_new, users_old) are left over", got)
				}
			}

			// Foreign keys are enforced: no session of an unknown user.
			ghost := &auth.Session{
				ID: "s-ghost", UserID: "u-ghost", AAL: auth.AAL1, CreatedAt: at, LastSeenAt: at,
				ExpiresAt: at.Add(time.Hour), AbsoluteExpiresAt: at.Add(time.Hour),
			}
			err := s.CreateSession(ctx, ghost, nil)
			if !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("CreateSession for an unknown user after the upgrade = %v; want ErrNotFound", err)
			}
			if err := s.Exec(ctx, `INSERT INTO sessions (id, user_id, aal, created_at, last_seen_at, expires_at,
				absolute_expires_at) VALUES ('s-ghost2', 'u-ghost', 'aal1', ?, ?, ?, ?)`, at, at, at, at); err == nil {
				t.Error("a raw INSERT of a session for an unknown user succeeded after the upgrade")
			}

			// Email is optional now, and the unique constraints hold.
			phoneOnly := &auth.User{ID: "u-phone", Phone: "+442071838750", PhoneVerified: true, CreatedAt: at, UpdatedAt: at}
			phoneOnly2 := &auth.User{ID: "u-phone2", Phone: "+442071838751", CreatedAt: at, UpdatedAt: at}
			for _, u := range []*auth.User{phoneOnly, phoneOnly2} {
				if err := s.CreateUser(ctx, u); err != nil {
					t.Fatalf("CreateUser without email after the upgrade: %v", err)
				}
				got, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatalf("UserByID: %v", err)
				}
				checkUpgradedUser(t, got, u)
			}
			if got := queryString(t, s, "SELECT COUNT(*) FROM users WHERE email IS NULL"); got != "2" {
				t.Errorf("%s users have a NULL email, want 2 (an empty email is stored as NULL)", got)
			}
			dupEmail := &auth.User{ID: "u-dup-email", Email: old.Email, CreatedAt: at, UpdatedAt: at}
			if err := s.CreateUser(ctx, dupEmail); !errors.Is(err, auth.ErrEmailTaken) {
				t.Errorf("CreateUser with a taken email after the upgrade = %v; want ErrEmailTaken", err)
			}
			dupPhone := &auth.User{ID: "u-dup-phone", Email: "new@example.com", Phone: old.Phone, CreatedAt: at, UpdatedAt: at}
			if err := s.CreateUser(ctx, dupPhone); !errors.Is(err, auth.ErrPhoneTaken) {
				t.Errorf("CreateUser with a taken phone after the upgrade = %v; want ErrPhoneTaken", err)
			}
			dupPhoneOnly := &auth.User{ID: "u-dup-phone2", Phone: phoneOnly.Phone, CreatedAt: at, UpdatedAt: at}
			if err := s.CreateUser(ctx, dupPhoneOnly); !errors.Is(err, auth.ErrPhoneTaken) {
				t.Errorf("CreateUser of a phone-only user with a taken phone after the upgrade = %v; want ErrPhoneTaken", err)
			}
			if err := s.Exec(ctx, `INSERT INTO users (id, email, created_at, updated_at) VALUES ('u-raw', ?, ?, ?)`,
				other.Email, at, at); err == nil {
				t.Error("a raw INSERT of a user with a taken email succeeded after the upgrade")
			}

			// Migrating again changes nothing.
			migrations := queryString(t, s, "SELECT COUNT(*) FROM gatehouse_migrations")
			counts := countRows(t, s, tables)
			for range 2 {
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("Migrate again: %v", err)
				}
			}
			if got := queryString(t, s, "SELECT COUNT(*) FROM gatehouse_migrations"); got != migrations {
				t.Errorf("migration rows %s before, %s after migrating again", migrations, got)
			}
			if got := queryString(t, s, "SELECT MAX(version_id) FROM gatehouse_migrations"); got != version {
				t.Errorf("schema version %s before, %s after migrating again", version, got)
			}
			if got := countRows(t, s, tables); !slices.Equal(got, counts) {
				t.Errorf("rows per table %v = %v before migrating again, %v after", tables, counts, got)
			}
			checkRows()

			// The references point at the rebuilt users table: deleting
			// the old user still cascades.
			if err := s.DeleteUser(ctx, old.ID); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			if _, err := s.SessionByID(ctx, sess.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("SessionByID after deleting its user = %v; want ErrNotFound", err)
			}
			for _, table := range []string{"sessions", "refresh_tokens", "factors", "backup_codes", "mfa_tokens", "challenges"} {
				if n := queryString(t, s, "SELECT COUNT(*) FROM "+table); n != "0" {
					t.Errorf("%s rows of %s are left after deleting their user", n, table)
				}
			}
			if _, err := s.UserByID(ctx, other.ID); err != nil {
				t.Errorf("UserByID of the other user: %v", err)
			}
		})
	}
}

// checkUpgradedUser compares users as the store reads them back: times in
// UTC at microsecond precision.
func checkUpgradedUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt.Truncate(time.Microsecond)) || !g.UpdatedAt.Equal(w.UpdatedAt.Truncate(time.Microsecond)) {
		t.Errorf("user %s times = %v, %v; want %v, %v", w.ID, g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g.DisabledAt != nil || w.DisabledAt != nil {
		t.Errorf("user %s DisabledAt = %v, want %v", w.ID, g.DisabledAt, w.DisabledAt)
	}
	g.DisabledAt, w.DisabledAt = nil, nil
	g.NoFactors, w.NoFactors = false, false // read, not stored: see storetest
	if !slices.Equal(g.Roles, w.Roles) {
		t.Errorf("user %s Roles = %#v, want %#v", w.ID, g.Roles, w.Roles)
	}
	g.Roles, w.Roles = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("user = %+v\nwant %+v", g, w)
	}
}

func queryString(t *testing.T, s *sqlstore.Store, q string) string {
	t.Helper()
	v, err := s.QueryString(t.Context(), false, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func countRows(t *testing.T, s *sqlstore.Store, tables []string) []string {
	t.Helper()
	n := make([]string, len(tables))
	for i, table := range tables {
		n[i] = queryString(t, s, "SELECT COUNT(*) FROM "+table)
	}
	return n
}

// TestMigrateRoles upgrades a database of schema version 9 (the admin flag,
// no roles) holding an admin and another user: the admin reads back with
// the role admin, the other with none. SetUserRoles keeps the admin column
// in step with the roles, so after a migration down to version 9 the
// admins are the users whose roles held admin, and a migration up again
// gives them the role back.
func TestMigrateRoles(t *testing.T) {
	for _, tc := range []sqltest.DB{sqltest.SQLiteDB, sqltest.PostgresDB} {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storeAt(t, tc.URL(t), 9)
			at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			for _, u := range []struct {
				id    string
				admin bool
			}{{"u-admin", true}, {"u-plain", false}} {
				if err := s.Exec(ctx, `INSERT INTO users (id, email, email_verified, name, password_hash,
					created_at, updated_at, admin) VALUES (?, ?, true, '', '', ?, ?, ?)`,
					u.id, u.id+"@example.com", at, at, u.admin); err != nil {
					t.Fatalf("insert %s: %v", u.id, err)
				}
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			wantRoles := func(id string, want []string) {
				t.Helper()
				u, err := s.UserByID(ctx, id)
				if err != nil {
					t.Fatalf("UserByID(%s): %v", id, err)
				}
				if !slices.Equal(u.Roles, want) || u.Admin != slices.Contains(want, auth.RoleAdmin) {
					t.Errorf("user %s: Roles %#v, Admin %v; want %#v", id, u.Roles, u.Admin, want)
				}
			}
			wantRoles("u-admin", []string{auth.RoleAdmin})
			wantRoles("u-plain", nil)

			if err := s.SetUserRoles(ctx, "u-admin", []string{"billing"}, at.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetUserRoles(ctx, "u-plain", []string{auth.RoleAdmin, "billing"}, at.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			wantRoles("u-admin", []string{"billing"})
			wantRoles("u-plain", []string{auth.RoleAdmin, "billing"})
			admins := "SELECT COALESCE(MAX(id), '') || ':' || COUNT(*) FROM users WHERE admin"
			if got := queryString(t, s, admins); got != "u-plain:1" {
				t.Errorf("admin column after SetUserRoles: %s, want u-plain:1", got)
			}

			if err := s.MigrateDownTo(ctx, 9); err != nil {
				t.Fatalf("MigrateDownTo(9): %v", err)
			}
			if got := queryString(t, s, admins); got != "u-plain:1" {
				t.Errorf("admin column after the down migration: %s, want u-plain:1", got)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			wantRoles("u-admin", nil)
			wantRoles("u-plain", []string{auth.RoleAdmin})
		})
	}
}

// storeAt opens the database at url, closed when t ends, migrated up to
// version and no further.
func storeAt(t *testing.T, url string, version int64) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.MigrateTo(t.Context(), version); err != nil {
		t.Fatalf("MigrateTo(%d): %v", version, err)
	}
	return s
}
