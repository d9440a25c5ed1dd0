package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

// Page sizes of ListMessages.
const (
	defaultMessagePage = 50
	maxMessagePage     = 200
)

// maxLastError bounds the stored text of a delivery error: it comes from a
// remote mail server and could be anything, of any length.
const maxLastError = 1000

func scanMessage(row scanner, payload bool) (*auth.Message, error) {
	var m auth.Message
	dest := []any{&m.ID, &m.Kind, &m.Channel, &m.To}
	if payload {
		dest = append(dest, &m.Payload)
	}
	dest = append(dest, &m.Status, &m.Attempts, timeCol{&m.NextAttemptAt}, &m.LastError,
		timeCol{&m.CreatedAt}, nullTimeCol{&m.SentAt})
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return &m, nil
}

var _ auth.MessageQueue = (*Store)(nil)

// Enqueue stores m in the outbox. m is stored as given, except that an
// empty Status is pending and a zero NextAttemptAt is m.CreatedAt (due at
// once).
func (s *Store) Enqueue(ctx context.Context, m *auth.Message) error {
	return s.addMessage(ctx, s.w, m)
}

// addMessage inserts m within the caller's transaction (or on its own).
func (s *Store) addMessage(ctx context.Context, x execer, m *auth.Message) error {
	d := s.d
	status := cmp.Or(m.Status, auth.MessagePending)
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	_, err := x.ExecContext(ctx, s.q.addMessage,
		m.ID, m.Kind, m.Channel, m.To, nonNilBytes(m.Payload), status, m.Attempts,
		d.time(next), cleanText(m.LastError, maxLastError), d.time(m.CreatedAt), d.nullTime(m.SentAt))
	if err != nil {
		return s.fail("enqueue message", err)
	}
	return nil
}

// ClaimMessages leases up to limit pending messages that are due at now
// (NextAttemptAt not after now) and not leased by another claim (no lease,
// or one that ended by now, as after a worker died), until now+lease, and
// returns them oldest first (by CreatedAt, then ID) with their payloads.
// A limit below 1 claims nothing.
//
// It is one statement. On PostgreSQL its SELECT locks the rows it picks
// with FOR UPDATE SKIP LOCKED, so claims on several connections and nodes
// pass each other's rows by rather than wait for them, and a row leased by
// a claim that committed meanwhile is re-checked and left out; on SQLite
// the statement holds the database's write lock throughout. Either way a
// message is held by one claim at a time.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Message, error) {
	if limit < 1 {
		return []auth.Message{}, nil
	}
	d := s.d
	t := d.time(now)
	rows, err := s.w.QueryContext(ctx, s.q.claimMessages, d.time(now.Add(lease)), t, t, limit)
	out, err := collect(s, "claim messages", rows, err, func(row scanner) (*auth.Message, error) { return scanMessage(row, true) })
	if err != nil {
		return nil, err
	}
	// RETURNING promises no order.
	slices.SortFunc(out, func(a, b auth.Message) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// MessageSent records that the message was delivered at now by its
// attempts-th try (1 for the first: the try that succeeded counts, as in
// the worker's log), wipes its payload and ends its lease. A message that is no longer pending (sent or
// given up already, by a worker whose lease had not run out) is left as it
// is and returns nil: the first final state sticks. An unknown ID is
// auth.ErrNotFound.
func (s *Store) MessageSent(ctx context.Context, id string, attempts int, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.messageSent, attempts, s.d.time(now), []byte{}, id)
	return s.pendingRow(ctx, "message sent", id, res, err)
}

// MessagesSent records several deliveries as MessageSent does each, in one
// transaction: the worker sends a batch at once, and one commit (one WAL
// flush on PostgreSQL) for the batch rather than one per message is what
// lets delivery keep up with a burst of codes. A message no longer pending,
// or unknown, is left out without error, so that one such message cannot
// undo the record of the others (which would send them again).
func (s *Store) MessagesSent(ctx context.Context, sent []auth.SentMessage) error {
	if len(sent) == 0 {
		return nil
	}
	return s.inTx(ctx, "messages sent", func(ctx context.Context, tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q.messageSent)
		if err != nil {
			return s.fail("messages sent", err)
		}
		defer stmt.Close()
		for _, m := range sent {
			if _, err := stmt.ExecContext(ctx, m.Attempts, s.d.time(m.At), []byte{}, m.ID); err != nil {
				return s.fail("messages sent", err)
			}
		}
		return nil
	})
}

// MessageRetry records a failed attempt of a pending message: its attempt
// count, the error (made valid UTF-8 without NUL and cut to 1000 bytes) and
// when it is due again; its lease ends. A message no longer pending is left
// as it is and returns nil; an unknown ID is auth.ErrNotFound.
func (s *Store) MessageRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	res, err := s.w.ExecContext(ctx, s.q.messageRetry, attempts, s.d.time(next), cleanText(lastErr, maxLastError), id)
	return s.pendingRow(ctx, "message retry", id, res, err)
}

// MessageFailed gives up on a pending message at now: status failed, its
// attempt count and error (cleaned as by MessageRetry), its payload wiped
// and its lease ended. A message no longer pending is left as it is and
// returns nil; an unknown ID is auth.ErrNotFound. auth.Message has no field
// for the time given up; the store keeps it (failed_at) all the same.
func (s *Store) MessageFailed(ctx context.Context, id string, attempts int, lastErr string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q.messageFailed, attempts, cleanText(lastErr, maxLastError),
		s.d.time(now), []byte{}, id)
	return s.pendingRow(ctx, "message failed", id, res, err)
}

// pendingRow finishes a statement that changes one message only while it is
// pending: no row changed is fine for a message that exists (no longer
// pending) and auth.ErrNotFound for one that does not.
func (s *Store) pendingRow(ctx context.Context, op, id string, res sql.Result, err error) error {
	if err != nil {
		return s.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 1 {
		return nil
	}
	return s.exists(ctx, s.q.messageExists, "message "+id, id)
}

// ListMessages returns messages newest first (by CreatedAt, then ID), of
// status (any when empty), after the message with ID before in that order
// (from the newest when empty; an unknown cursor returns none), at most
// limit (default 50, at most 200). Payloads are not read: Payload is nil.
func (s *Store) ListMessages(ctx context.Context, status, before string, limit int) ([]auth.Message, error) {
	rows, err := s.newestFirst(ctx, pageQueries{
		all: s.q.listMessages, before: s.q.listMessagesBefore,
		of: s.q.listMessagesByStatus, ofBefore: s.q.listMessagesByStatusBefore,
	}, status, before, pageSize(limit, defaultMessagePage, maxMessagePage))
	return collect(s, "list messages", rows, err, func(row scanner) (*auth.Message, error) { return scanMessage(row, false) })
}

// OutboxStats answers how many messages wait in the outbox (pending, those
// waiting to retry included) and when the oldest of them was queued (zero
// when none waits), for the metrics a scrape reads.
func (s *Store) OutboxStats(ctx context.Context) (pending int, oldest time.Time, err error) {
	var first *time.Time
	if err := s.r.QueryRowContext(ctx, s.q.outboxStats).Scan(&pending, nullTimeCol{&first}); err != nil {
		return 0, time.Time{}, s.fail("outbox stats", err)
	}
	if first != nil {
		oldest = *first
	}
	return pending, oldest, nil
}

// cleanText makes s storable as text on both databases (valid UTF-8, no
// NUL, which PostgreSQL refuses) and at most n bytes long, cut at a rune
// boundary.
func cleanText(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
