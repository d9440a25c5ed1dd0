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
		password_hash, disabled_at, created_at, updated_at, admin, roles`
	// userRead is what a user lookup returns: the columns, and whether a
	// confirmed second factor or a passkey (a second factor too) exists,
	// so a sign-in of a user without one needs no second round trip to
	// list factors.
	userRead      = userCols + userNoFactors
	userNoFactors = `, NOT EXISTS (SELECT 1 FROM factors f
		WHERE f.user_id = users.id AND f.confirmed_at IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = users.id)`
	sessionCols = `id, user_id, cookie_hash, ip, user_agent, aal, amr,
		created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at`
	refreshCols = `id, session_id, hash, created_at, expires_at, rotated_at, successor_id`
	keyCols     = `id, algorithm, private_key, public_key, created_at, retired_at`
)

// Column lists of the challenges and outbox tables.
const (
	challengeCols = `id, purpose, address, user_id, code_hash, link_hash, redirect_to,
		attempts, created_at, expires_at, link_expires_at, consumed_at, target, sign_up`
	// messageCols returns the payload; messageListCols, for admins, not.
	messageCols = `id, kind, channel, recipient, payload, status, attempts,
		next_attempt_at, last_error, created_at, sent_at`
	messageListCols = `id, kind, channel, recipient, status, attempts,
		next_attempt_at, last_error, created_at, sent_at`
)

// Column lists of the second-factor and audit tables.
const (
	factorCols   = `id, user_id, kind, secret, last_step, created_at, confirmed_at`
	mfaTokenCols = `id, user_id, hash, amr, attempts, email_code_hash, email_code_expires_at,
		created_at, expires_at, consumed_at, browser, redirect_to, session_id`
	auditCols = `id, user_id, kind, ip, user_agent, detail, created_at`
)

// Column lists of the passkey tables.
const (
	passkeyCols = `id, user_id, name, public_key, attestation_format, aaguid, sign_count,
		transports, user_verified, backup_eligible, backup_state, created_at, last_used_at`
	ceremonyCols = `id, purpose, user_id, mfa_token_id, data, created_at, expires_at`
)

// identityCols is the column list of the identities table.
const identityCols = `id, user_id, provider, subject, email, email_verified, name, created_at, last_used_at`

// identitySelect is what reading an identity selects: its columns and
// whether provider tokens are kept (never the tokens themselves).
const identitySelect = identityCols + `, tokens IS NOT NULL`

// queries is every statement the store runs, written once with portable ?
// placeholders and rebound for the dialect at Open.
type queries struct {
	createUser, userByID, userByEmail, userByPhone, updateUser, setPassword, setDisabled, setRoles,
	deleteUser, listUsers, listUsersMatching string

	createSession, sessionByID, sessionByCookieHash, listSessions,
	touchSession, revokeSession, revokeUserSessions, raiseSession, retireRefresh string

	createRefresh, refreshByHash, rotateRefresh, refreshExists string
	// refreshSession reads a refresh token, its session and its user.
	refreshSession string
	// rotateRefreshAll rotates a refresh token, inserts its successor and
	// touches the session in one statement; "" on SQLite, as
	// createSessionAndRefresh.
	rotateRefreshAll string
	// refreshAndRotate is refreshSession and, for a live unrotated token,
	// rotateRefreshAll in one statement; "" on SQLite.
	refreshAndRotate string
	// createSessionAndRefresh inserts a session and its first refresh
	// token in one statement; "" where the dialect cannot (SQLite has no
	// INSERT in a WITH).
	createSessionAndRefresh string

	signingKeys, lockSigningKeys, retireSigningKeys, addSigningKey string

	putChallenge, challengeByAddress, challengeByLinkHash, failChallenge,
	consumeChallenge, challengeExists string

	addMessage, claimMessages, messageSent, messageRetry, messageFailed,
	messageExists, listMessages, listMessagesBefore, listMessagesByStatus,
	listMessagesByStatusBefore, outboxStats string

	confirmedFactorExists, deletePendingFactors, insertFactor, factors, lockFactorUser,
	confirmFactor, useTOTPStep, factorExists, deleteFactor string

	lockUser, deleteBackupCodes, insertBackupCode, useBackupCode, backupCodesLeft string

	createMFAToken, mfaTokenByHash, failMFAToken, setMFAEmailCode, consumeMFAToken,
	mfaTokenExists, deleteUserMFATokens string

	addAuditEvent, auditEvents, auditEventsBefore, auditEventsOfUser,
	auditEventsOfUserBefore string

	addPasskey, passkeys, passkeyByID, usePasskey, passkeyExists, renamePasskey,
	deletePasskey string

	putCeremony, takeCeremony string

	addIdentity, identityBySubject, identities, useIdentity, deleteIdentity, setIdentityTokens, identityTokens string
}

// qualify prefixes every column of the list cols with table, for a join
// whose tables share column names.
func qualify(table, cols string) string {
	names := strings.Split(cols, ",")
	for i, n := range names {
		names[i] = table + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// likeEscape is the escape character of every LIKE pattern the store builds.
const likeEscape = `\`

func newQueries(d *dialect) *queries {
	userMatch := func(col string) string {
		return "LOWER(" + col + ") LIKE ? ESCAPE '" + likeEscape + "'"
	}
	// listMessages returns a page of messages newest first, optionally of
	// one status and before a cursor. The cursor is a message ID; the page
	// goes on from that message's place in (created_at, id) order, so the
	// order holds whatever the IDs look like.
	listMessages := func(byStatus, before bool) string {
		q := `SELECT ` + messageListCols + ` FROM messages`
		var where []string
		if byStatus {
			where = append(where, `status = ?`)
		}
		if before {
			where = append(where, `(created_at, id) < (SELECT created_at, id FROM messages WHERE id = ?)`)
		}
		if len(where) > 0 {
			q += ` WHERE ` + strings.Join(where, ` AND `)
		}
		return q + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	}
	// auditEvents is listMessages' twin: newest first, optionally of one
	// user and before a cursor event.
	auditEvents := func(byUser, before bool) string {
		q := `SELECT ` + auditCols + ` FROM audit_events`
		var where []string
		if byUser {
			where = append(where, `user_id = ?`)
		}
		if before {
			where = append(where, `(created_at, id) < (SELECT created_at, id FROM audit_events WHERE id = ?)`)
		}
		if len(where) > 0 {
			q += ` WHERE ` + strings.Join(where, ` AND `)
		}
		return q + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	}
	q := &queries{
		createUser: `INSERT INTO users (` + userCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		userByID:    `SELECT ` + userRead + ` FROM users WHERE id = ?`,
		userByEmail: `SELECT ` + userRead + ` FROM users WHERE email = ?`,
		userByPhone: `SELECT ` + userRead + ` FROM users WHERE phone = ?`,
		updateUser: `UPDATE users SET email = ?, email_verified = ?, phone = ?,
			phone_verified = ?, name = ?, updated_at = ? WHERE id = ?`,
		setRoles:    `UPDATE users SET roles = ?, admin = ?, updated_at = ? WHERE id = ?`,
		setPassword: `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
		setDisabled: `UPDATE users SET disabled_at = ? WHERE id = ?`,
		deleteUser:  `DELETE FROM users WHERE id = ?`,
		listUsers:   `SELECT ` + userRead + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`,
		listUsersMatching: `SELECT ` + userRead + ` FROM users WHERE id > ?
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

		// COALESCE keeps the cookie of a session raised through the token
		// channel; the liveness guard makes a revoked or expired session
		// change nothing, so the caller can tell.
		raiseSession: `UPDATE sessions SET aal = ?, amr = ?, cookie_hash = COALESCE(?, cookie_hash)
			WHERE id = ? AND revoked_at IS NULL AND expires_at > ? AND absolute_expires_at > ?`,
		retireRefresh: `UPDATE refresh_tokens SET rotated_at = ?, successor_id = ?
			WHERE session_id = ? AND rotated_at IS NULL`,

		createRefresh: `INSERT INTO refresh_tokens (` + refreshCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
		// The statement also turns synchronous_commit off for its own
		// transaction (set_config local; c is evaluated because the last
		// value reads it): the commit does not wait for the WAL to reach
		// the disk. A crash of the database may then lose the sign-ins of
		// its last moments (PostgreSQL's walwriter flushes within 3 ×
		// wal_writer_delay, 600 ms by default); their clients get 401 and
		// sign in again. Only a refresh's rotation (rotateRefreshAll) is
		// written this way too; revocations never. SQLite's synchronous=NORMAL makes the same trade
		// for every write, and on a shared machine the flush per sign-in
		// cost PostgreSQL's sign-in rate a few percent.
		createSessionAndRefresh: d.insertInWith(`WITH c AS (SELECT set_config('synchronous_commit', 'off', true)),
			s AS (INSERT INTO sessions (` + sessionCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))
			INSERT INTO refresh_tokens (` + refreshCols + `) VALUES (?, ?, ?, ?, ?, ?, (SELECT ?::text FROM c))`),
		refreshByHash: `SELECT ` + refreshCols + ` FROM refresh_tokens WHERE hash = ?`,
		// The rotated_at IS NULL guard is the whole of the concurrency
		// control: the database lets one UPDATE change the row, and the
		// loser sees the winner's rotated_at and changes nothing.
		rotateRefresh: `UPDATE refresh_tokens SET rotated_at = ?, successor_id = ?
			WHERE id = ? AND rotated_at IS NULL`,
		refreshExists: `SELECT 1 FROM refresh_tokens WHERE id = ?`,
		// userNoFactors names users.id, so users keeps its name in the join.
		refreshSession: `SELECT ` + qualify("r", refreshCols) + `, ` + qualify("s", sessionCols) + `, ` +
			qualify("users", userCols) + userNoFactors + `
			FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users ON users.id = s.user_id
			WHERE r.hash = ?`,
		// rotateRefresh, the successor's insert and the session's touch of
		// a refresh in one statement. The insert and the touch read o, so
		// a token another request rotated first (o empty) writes nothing;
		// the last two columns tell "lost the race" from "no such token".
		//
		// Like createSessionAndRefresh, it turns synchronous_commit off
		// for its own transaction: the commit does not wait for the WAL
		// flush, which was most of a refresh's time on PostgreSQL. A crash
		// of the database may lose the rotations of its last moments
		// (within 3 × wal_writer_delay, 600 ms by default): the old token
		// is then unrotated again and the successor its client holds is
		// unknown, so that client gets 401 and signs in again. What the
		// database kept stays single use: WAL is written in order, so any
		// later synchronous commit (a revocation) makes every rotation
		// before it durable too. Revocation on reuse is never written
		// this way. docs/security.md says the same.
		rotateRefreshAll: d.insertInWith(`WITH c AS (SELECT set_config('synchronous_commit', 'off', true)),
			o AS (UPDATE refresh_tokens SET rotated_at = ?, successor_id = ?
				WHERE id = ? AND rotated_at IS NULL RETURNING session_id),
			n AS (INSERT INTO refresh_tokens (` + refreshCols + `)
				SELECT ?, ?, ?::bytea, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::text FROM o),
			t AS (UPDATE sessions SET last_seen_at = ?, expires_at = ?
				WHERE id IN (SELECT session_id FROM o))
			SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM refresh_tokens WHERE id = ?)
			FROM c`),

		// refreshSession and rotateRefreshAll in one statement (numbered
		// parameters: $1 the hash, $2 now, $3 and $4 the successor's ID and
		// hash, $5 the session's slid expiry), so that a normal refresh is
		// one round trip. cur is the read, in the statement's snapshot,
		// with whether the token may be rotated at now, by
		// auth.RefreshToken.Rotatable's rule (unrotated, unexpired, session
		// live, user not disabled); o rotates it only then, and its rotated_at IS NULL
		// guard, re-checked on the locked row, still lets only one of
		// concurrent statements win: a loser reads the token as unrotated
		// (its snapshot) but returns 0, and the caller goes on as after a
		// race lost. synchronous_commit is off for it as for
		// rotateRefreshAll (the same crash cost).
		refreshAndRotate: d.insertInWith(`WITH c AS (SELECT set_config('synchronous_commit', 'off', true)),
			cur AS (SELECT r.id AS cur_id, s.absolute_expires_at AS cur_absolute,
					r.rotated_at IS NULL AND $2::timestamptz < r.expires_at AND s.revoked_at IS NULL
					AND $2::timestamptz < s.expires_at AND $2::timestamptz < s.absolute_expires_at
					AND users.disabled_at IS NULL AS cur_live,
					` + qualify("r", refreshCols) + `, ` + qualify("s", sessionCols) + `, ` +
			qualify("users", userCols) + userNoFactors + `
				FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users ON users.id = s.user_id
				WHERE r.hash = $1::bytea),
			o AS (UPDATE refresh_tokens SET rotated_at = $2::timestamptz, successor_id = $3::text
				WHERE id = (SELECT cur_id FROM cur WHERE cur_live) AND rotated_at IS NULL
				RETURNING session_id),
			n AS (INSERT INTO refresh_tokens (id, session_id, hash, created_at, expires_at)
				SELECT $3::text, o.session_id, $4::bytea, $2::timestamptz, cur.cur_absolute FROM o, cur),
			t AS (UPDATE sessions SET last_seen_at = $2::timestamptz,
				expires_at = LEAST($5::timestamptz, absolute_expires_at)
				WHERE id IN (SELECT session_id FROM o))
			SELECT cur.*, (SELECT count(*) FROM o) FROM cur, c`),

		signingKeys: `SELECT ` + keyCols + ` FROM signing_keys ORDER BY created_at, id`,
		// "" on SQLite: see dialect.lockTable.
		lockSigningKeys:   d.lockTable("signing_keys"),
		retireSigningKeys: `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`,
		addSigningKey:     `INSERT INTO signing_keys (` + keyCols + `) VALUES (?, ?, ?, ?, ?, ?)`,

		// One statement replaces the challenge of the same purpose and
		// address, if any, with the new one: unlike DELETE then INSERT it
		// cannot fail with a unique violation when two requests for one
		// address race on PostgreSQL (the second waits, then updates).
		putChallenge: `INSERT INTO challenges (` + challengeCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (purpose, address) DO UPDATE SET
			id = excluded.id, user_id = excluded.user_id, code_hash = excluded.code_hash,
			link_hash = excluded.link_hash, redirect_to = excluded.redirect_to,
			attempts = excluded.attempts, created_at = excluded.created_at,
			expires_at = excluded.expires_at, link_expires_at = excluded.link_expires_at,
			consumed_at = excluded.consumed_at, target = excluded.target, sign_up = excluded.sign_up`,
		challengeByAddress:  `SELECT ` + challengeCols + ` FROM challenges WHERE purpose = ? AND address = ?`,
		challengeByLinkHash: `SELECT ` + challengeCols + ` FROM challenges WHERE link_hash = ?`,
		// The increment happens in the database, so concurrent wrong codes
		// each count: no read-modify-write in Go.
		failChallenge: `UPDATE challenges SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`,
		// As with rotateRefresh, the consumed_at IS NULL guard is the whole
		// of the concurrency control.
		consumeChallenge: `UPDATE challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL`,
		challengeExists:  `SELECT 1 FROM challenges WHERE id = ?`,

		addMessage: `INSERT INTO messages (id, kind, channel, recipient, payload, status,
			attempts, next_attempt_at, last_error, created_at, sent_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		// The inner SELECT picks (and on PostgreSQL locks, skipping rows
		// another claim holds) the oldest due messages whose lease, if any,
		// has ended; the UPDATE leases them in the same statement. A row a
		// concurrent claim leased between this statement's snapshot and its
		// lock is re-checked by PostgreSQL against the WHERE and dropped.
		claimMessages: `UPDATE messages SET locked_until = ?
			WHERE id IN (SELECT id FROM messages
				WHERE status = 'pending' AND next_attempt_at <= ?
				AND (locked_until IS NULL OR locked_until <= ?)
				ORDER BY created_at, id LIMIT ?` + d.skipLocked() + `)
			RETURNING ` + messageCols,
		// The status guard makes the first final state stick: a worker
		// whose lease ran out cannot turn a message another worker sent
		// into a failed or pending one.
		messageSent: `UPDATE messages SET status = 'sent', attempts = ?, sent_at = ?, payload = ?,
			locked_until = NULL WHERE id = ? AND status = 'pending'`,
		messageRetry: `UPDATE messages SET attempts = ?, next_attempt_at = ?, last_error = ?,
			locked_until = NULL WHERE id = ? AND status = 'pending'`,
		messageFailed: `UPDATE messages SET status = 'failed', attempts = ?, last_error = ?,
			failed_at = ?, payload = ?, locked_until = NULL WHERE id = ? AND status = 'pending'`,
		messageExists:              `SELECT 1 FROM messages WHERE id = ?`,
		outboxStats:                `SELECT COUNT(*), MIN(created_at) FROM messages WHERE status = 'pending'`,
		listMessages:               listMessages(false, false),
		listMessagesBefore:         listMessages(false, true),
		listMessagesByStatus:       listMessages(true, false),
		listMessagesByStatusBefore: listMessages(true, true),

		confirmedFactorExists: `SELECT 1 FROM factors WHERE user_id = ? AND kind = ? AND confirmed_at IS NOT NULL`,
		deletePendingFactors:  `DELETE FROM factors WHERE user_id = ? AND kind = ? AND confirmed_at IS NULL`,
		insertFactor:          `INSERT INTO factors (` + factorCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		factors:               `SELECT ` + factorCols + ` FROM factors WHERE user_id = ? ORDER BY created_at, id`,
		// lockUser (below) for the user of a factor: see Store.lockUser.
		lockFactorUser: `SELECT id FROM users WHERE id = (SELECT user_id FROM factors WHERE id = ?)` + d.lockRow(),
		confirmFactor:  `UPDATE factors SET confirmed_at = ?, last_step = ? WHERE id = ? AND confirmed_at IS NULL`,
		// The last_step < ? guard is the whole of the replay protection:
		// of concurrent uses of one step the database lets one UPDATE
		// change the row, and the others see the new last_step.
		useTOTPStep:  `UPDATE factors SET last_step = ? WHERE id = ? AND last_step < ?`,
		factorExists: `SELECT 1 FROM factors WHERE id = ?`,
		deleteFactor: `DELETE FROM factors WHERE user_id = ? AND kind = ?`,

		// Serialises changes to one user's factors and backup codes on
		// PostgreSQL, where two "delete all, insert ten" transactions would
		// otherwise both delete the old set and both insert, leaving twenty.
		lockUser:          `SELECT id FROM users WHERE id = ?` + d.lockRow(),
		deleteBackupCodes: `DELETE FROM backup_codes WHERE user_id = ?`,
		insertBackupCode:  `INSERT INTO backup_codes (id, user_id, hash, used_at, created_at) VALUES (?, ?, ?, NULL, ?)`,
		// As with consumeChallenge, the used_at IS NULL guard makes one of
		// concurrent uses of a code win.
		useBackupCode:   `UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		backupCodesLeft: `SELECT COUNT(*) FROM backup_codes WHERE user_id = ? AND used_at IS NULL`,

		createMFAToken: `INSERT INTO mfa_tokens (` + mfaTokenCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		mfaTokenByHash:      `SELECT ` + mfaTokenCols + ` FROM mfa_tokens WHERE hash = ?`,
		failMFAToken:        `UPDATE mfa_tokens SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`,
		setMFAEmailCode:     `UPDATE mfa_tokens SET email_code_hash = ?, email_code_expires_at = ? WHERE id = ?`,
		consumeMFAToken:     `UPDATE mfa_tokens SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL`,
		mfaTokenExists:      `SELECT 1 FROM mfa_tokens WHERE id = ?`,
		deleteUserMFATokens: `DELETE FROM mfa_tokens WHERE user_id = ?`,

		addAuditEvent:           `INSERT INTO audit_events (` + auditCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		auditEvents:             auditEvents(false, false),
		auditEventsBefore:       auditEvents(false, true),
		auditEventsOfUser:       auditEvents(true, false),
		auditEventsOfUserBefore: auditEvents(true, true),

		addPasskey: `INSERT INTO passkeys (` + passkeyCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		passkeys:    `SELECT ` + passkeyCols + ` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`,
		passkeyByID: `SELECT ` + passkeyCols + ` FROM passkeys WHERE id = ?`,
		// The counter check is in the WHERE, so it is the whole of the
		// concurrency control, as with useTOTPStep: of concurrent uses of
		// one counter value the database lets one UPDATE change the row,
		// and the others, re-checked against the new sign_count, change
		// nothing. The new counter must be above the stored one, or both
		// zero (an authenticator that keeps no counter). Its arguments:
		// the new counter, backup state and time, the ID, then the new
		// counter twice. Both of its comparisons take their type from the
		// column, so PostgreSQL reads the parameters as bigint.
		usePasskey: `UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ?
			WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND sign_count = ?))`,
		passkeyExists: `SELECT 1 FROM passkeys WHERE id = ?`,
		renamePasskey: `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`,
		deletePasskey: `DELETE FROM passkeys WHERE id = ? AND user_id = ?`,

		putCeremony: `INSERT INTO webauthn_ceremonies (` + ceremonyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		// One statement takes the ceremony whatever its purpose and
		// expiry: of concurrent takes the database lets one DELETE remove
		// the row and return it, and the others find none. The caller
		// checks purpose and expiry on what it got, so a mismatched or
		// expired ceremony is gone all the same.
		takeCeremony: `DELETE FROM webauthn_ceremonies WHERE id = ? RETURNING ` + ceremonyCols,

		addIdentity:       `INSERT INTO identities (` + identityCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		identityBySubject: `SELECT ` + identitySelect + ` FROM identities WHERE provider = ? AND subject = ?`,
		identities:        `SELECT ` + identitySelect + ` FROM identities WHERE user_id = ? ORDER BY created_at, id`,
		useIdentity:       `UPDATE identities SET email = ?, email_verified = ?, name = ?, last_used_at = ? WHERE id = ?`,
		deleteIdentity:    `DELETE FROM identities WHERE id = ? AND user_id = ?`,
		setIdentityTokens: `UPDATE identities SET tokens = ? WHERE id = ?`,
		identityTokens:    `SELECT tokens FROM identities WHERE id = ? AND user_id = ?`,
	}
	for _, p := range []*string{
		&q.createUser, &q.userByID, &q.userByEmail, &q.userByPhone, &q.updateUser, &q.setPassword,
		&q.setDisabled, &q.setRoles, &q.deleteUser, &q.listUsers, &q.listUsersMatching,
		&q.createSession, &q.sessionByID, &q.sessionByCookieHash, &q.listSessions,
		&q.touchSession, &q.revokeSession, &q.revokeUserSessions, &q.raiseSession, &q.retireRefresh,
		&q.createRefresh, &q.refreshByHash, &q.rotateRefresh, &q.refreshExists, &q.createSessionAndRefresh,
		&q.refreshSession, &q.rotateRefreshAll, &q.refreshAndRotate,
		&q.signingKeys, &q.lockSigningKeys, &q.retireSigningKeys, &q.addSigningKey,
		&q.putChallenge, &q.challengeByAddress, &q.challengeByLinkHash, &q.failChallenge,
		&q.consumeChallenge, &q.challengeExists,
		&q.addMessage, &q.claimMessages, &q.messageSent, &q.messageRetry, &q.messageFailed,
		&q.messageExists, &q.listMessages, &q.listMessagesBefore, &q.listMessagesByStatus,
		&q.listMessagesByStatusBefore, &q.outboxStats,
		&q.confirmedFactorExists, &q.deletePendingFactors, &q.insertFactor, &q.factors, &q.lockFactorUser,
		&q.confirmFactor, &q.useTOTPStep, &q.factorExists, &q.deleteFactor,
		&q.lockUser, &q.deleteBackupCodes, &q.insertBackupCode, &q.useBackupCode, &q.backupCodesLeft,
		&q.createMFAToken, &q.mfaTokenByHash, &q.failMFAToken, &q.setMFAEmailCode, &q.consumeMFAToken,
		&q.mfaTokenExists, &q.deleteUserMFATokens,
		&q.addAuditEvent, &q.auditEvents, &q.auditEventsBefore, &q.auditEventsOfUser,
		&q.auditEventsOfUserBefore,
		&q.addPasskey, &q.passkeys, &q.passkeyByID, &q.usePasskey, &q.passkeyExists, &q.renamePasskey,
		&q.deletePasskey,
		&q.putCeremony, &q.takeCeremony,
		&q.addIdentity, &q.identityBySubject, &q.identities, &q.useIdentity, &q.deleteIdentity,
		&q.setIdentityTokens, &q.identityTokens,
	} {
		*p = d.rebind(*p)
	}
	return q
}

// likeContains returns a LIKE pattern matching s anywhere, with the
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

// zeroTimeCol scans a nullable time column into a time.Time that is zero
// for NULL, for fields whose zero value means "none".
type zeroTimeCol struct{ t *time.Time }

func (c zeroTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = time.Time{}
		return nil
	}
	return timeCol(c).Scan(v)
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
