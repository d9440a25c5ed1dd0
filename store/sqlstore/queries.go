package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Column lists, in the order the scan functions read them.
const (
	userCols = `id, email, email_verified, phone, phone_verified, name,
		password_hash, disabled_at, created_at, updated_at`
	sessionCols = `id, user_id, cookie_hash, ip, user_agent, aal, amr,
		created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at`
	refreshCols = `id, session_id, hash, created_at, expires_at, rotated_at, successor_id`
	keyCols     = `id, algorithm, private_key, public_key, created_at, retired_at`
)

// queries is every statement the store runs, written once with portable ?
// placeholders and rebound for the dialect at Open.
type queries struct {
	createUser, userByID, userByEmail, updateUser, setPassword, setDisabled,
	deleteUser, listUsers, listUsersMatching string

	createSession, sessionByID, sessionByCookieHash, listSessions,
	touchSession, revokeSession, revokeUserSessions string

	createRefresh, refreshByHash, rotateRefresh, refreshExists string

	signingKeys, lockSigningKeys, retireSigningKeys, addSigningKey string
}

// likeEscape is the escape character of every LIKE pattern the store builds.
const likeEscape = `\`

func newQueries(d *dialect) *queries {
	userMatch := func(col string) string {
		return "LOWER(" + col + ") LIKE ? ESCAPE '" + likeEscape + "'"
	}
	q := &queries{
		createUser: `INSERT INTO users (` + userCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		userByID:    `SELECT ` + userCols + ` FROM users WHERE id = ?`,
		userByEmail: `SELECT ` + userCols + ` FROM users WHERE email = ?`,
		updateUser: `UPDATE users SET email = ?, email_verified = ?, phone = ?,
			phone_verified = ?, name = ?, updated_at = ? WHERE id = ?`,
		setPassword: `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
		setDisabled: `UPDATE users SET disabled_at = ? WHERE id = ?`,
		deleteUser:  `DELETE FROM users WHERE id = ?`,
		listUsers:   `SELECT ` + userCols + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`,
		listUsersMatching: `SELECT ` + userCols + ` FROM users WHERE id > ?
			AND (` + userMatch("email") + ` OR ` + userMatch("name") + ` OR ` + userMatch("phone") + `)
			ORDER BY id LIMIT ?`,

		createSession: `INSERT INTO sessions (` + sessionCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sessionByID:         `SELECT ` + sessionCols + ` FROM sessions WHERE id = ?`,
		sessionByCookieHash: `SELECT ` + sessionCols + ` FROM sessions WHERE cookie_hash = ?`,
		listSessions: `SELECT ` + sessionCols + ` FROM sessions
			WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND absolute_expires_at > ?
			ORDER BY created_at DESC, id DESC`,
		touchSession: `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
		// COALESCE keeps the first revocation time and still counts the row,
		// so one statement tells "revoked (now or before)" from "no such id".
		revokeSession: `UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		revokeUserSessions: `UPDATE sessions SET revoked_at = ?
			WHERE user_id = ? AND id <> ? AND revoked_at IS NULL
			AND expires_at > ? AND absolute_expires_at > ?
			RETURNING id`,

		createRefresh: `INSERT INTO refresh_tokens (` + refreshCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
		refreshByHash: `SELECT ` + refreshCols + ` FROM refresh_tokens WHERE hash = ?`,
		// The rotated_at IS NULL guard is the whole of the concurrency
		// control: the database lets one UPDATE change the row, and the
		// loser sees the winner's rotated_at and changes nothing.
		rotateRefresh: `UPDATE refresh_tokens SET rotated_at = ?, successor_id = ?
			WHERE id = ? AND rotated_at IS NULL`,
		refreshExists: `SELECT 1 FROM refresh_tokens WHERE id = ?`,

		signingKeys: `SELECT ` + keyCols + ` FROM signing_keys ORDER BY created_at, id`,
		// "" on SQLite: see dialect.lockTable.
		lockSigningKeys:   d.lockTable("signing_keys"),
		retireSigningKeys: `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`,
		addSigningKey:     `INSERT INTO signing_keys (` + keyCols + `) VALUES (?, ?, ?, ?, ?, ?)`,
	}
	for _, p := range []*string{
		&q.createUser, &q.userByID, &q.userByEmail, &q.updateUser, &q.setPassword,
		&q.setDisabled, &q.deleteUser, &q.listUsers, &q.listUsersMatching,
		&q.createSession, &q.sessionByID, &q.sessionByCookieHash, &q.listSessions,
		&q.touchSession, &q.revokeSession, &q.revokeUserSessions,
		&q.createRefresh, &q.refreshByHash, &q.rotateRefresh, &q.refreshExists,
		&q.signingKeys, &q.lockSigningKeys, &q.retireSigningKeys, &q.addSigningKey,
	} {
		*p = d.rebind(*p)
	}
	return q
}

// likeContains answers a LIKE pattern matching s anywhere, with the
// pattern's own metacharacters in s taken literally.
func likeContains(s string) string {
	r := strings.NewReplacer(likeEscape, likeEscape+likeEscape, "%", likeEscape+"%", "_", likeEscape+"_")
	return "%" + r.Replace(s) + "%"
}

// nullString stores "" as NULL, for columns that are unique only when set.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores an empty slice as NULL, for the same reason.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// timeCol scans a time column of either dialect (INTEGER microseconds or
// timestamptz) into a UTC time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	case nil:
		return errors.New("sqlstore: NULL in a NOT NULL time column")
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

// nullTimeCol scans a nullable time column; NULL gives a nil pointer.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// nullStringCol scans a nullable text column; NULL gives "".
type nullStringCol struct{ s *string }

func (c nullStringCol) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*c.s = ns.String
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }
