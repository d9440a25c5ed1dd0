// Package notify delivers email (and later SMS) through a durable outbox:
// messages are written to the store in the same transaction as the code
// they carry, and a worker sends them with retries and backoff, resuming
// after a restart. Senders (console, SMTP, Postmark) are in notify/mail.
package notify

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Store is what the outbox worker needs from storage. The SQL store
// implements it. Enqueueing is auth's port (auth.MessageQueue, with
// auth.ChallengeMessagePutter for a code and its message in one
// transaction), since the flows enqueue and only the worker claims.
type Store interface {
	// ClaimMessages leases up to limit pending messages whose
	// NextAttemptAt has come (or whose earlier lease ran out, after a crash)
	// until now+lease, oldest first, and returns them. Several workers,
	// on several nodes, never claim the same message at once.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Message, error)
	// MessagesSent records deliveries, each by its attempts-th try (1 for
	// the first) at its time, and wipes their payloads, all at once (one
	// transaction, so a batch costs one commit). A message no longer
	// pending or unknown is left as it is.
	MessagesSent(ctx context.Context, sent []auth.SentMessage) error
	// MessageRetry records a failed attempt: attempts, the error, and when
	// to try again; the lease ends.
	MessageRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error
	// MessageFailed gives up on a message: status failed, the error, the
	// attempts, and the payload wiped.
	MessageFailed(ctx context.Context, id string, attempts int, lastErr string, now time.Time) error
	// ListMessages returns messages newest first, with status (or any when
	// empty), before the cursor ID (or from the newest when empty), at most
	// limit; payloads are not returned.
	ListMessages(ctx context.Context, status, before string, limit int) ([]auth.Message, error)
}
