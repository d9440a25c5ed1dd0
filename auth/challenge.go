package auth

import (
	"context"
	"strings"
	"time"
)

// Challenge purposes: what proving the code or link achieves.
const (
	PurposeSignIn   = "signin"
	PurposeRecovery = "recovery"
	// PurposePhone adds or changes the phone of a signed-in account. Its
	// challenge is keyed by the account (Address is the user ID), and
	// Target is the number being proven.
	PurposePhone = "phone"
	// PurposeEmail proves an email for an account: the sign-up's own
	// (Target is the account's email) or a new one it changes to. Like
	// PurposePhone it is keyed by the account (Address is the user ID).
	PurposeEmail = "email"
)

// Message kinds: which template a message is rendered from.
const (
	KindSignInCode = "signin_code"
	KindMagicLink  = "magic_link"
	KindRecovery   = "recovery"
	KindMFACode    = "mfa_code"
	// KindMFALocked tells an account's owner that someone who knows the
	// password keeps failing the second step (Config.MFAFailureLimit).
	KindMFALocked = "mfa_locked"
	// KindSMSCode is a code by SMS (sign-in or a phone change): the one
	// kind sent on the "sms" channel.
	KindSMSCode = "sms_code"
	// KindVerifyEmail asks the owner of an address to confirm it (a code
	// and a link), or to say "this was not me" (PurposeEmail).
	KindVerifyEmail = "verify_email"
	// KindMethodAdded tells an account's owner that a sign-in method was
	// added (a provider linked, MessageData.Method names it), so a link
	// they did not make does not go unseen.
	KindMethodAdded = "method_added"
)

// Challenge is a one-time code (and, for links, a link token) sent to an
// address. Only keyed hashes of the code and the link are stored. There is
// at most one live challenge per purpose and address: a new request
// replaces the old one.
type Challenge struct {
	ID      string
	Purpose string
	// Address is what the challenge is keyed by: the normalised email or
	// E.164 phone the code went to or, for PurposePhone, the user ID.
	Address string
	// Target is what completing the challenge sets: the new phone of a
	// PurposePhone challenge; empty otherwise.
	Target string
	// SignUp marks the sign-up's own first code (a phone sign-up's SMS):
	// proving it keeps what the same person set up a moment before, where
	// any other first proof of a never-proven address claims the account
	// (see challengeUser). A new request replaces it with an unmarked one.
	SignUp bool
	// UserID is empty when no account had the address at request time;
	// completing the challenge then creates one (passwordless sign-up).
	UserID string
	// CodeHash is HMAC-SHA256 under a key from the server secret of the
	// challenge ID and the code: a short code cannot be brute-forced from a
	// stolen database, and equal codes hash differently.
	CodeHash []byte
	// LinkHash is the SHA-256 of the link token; nil when no link was sent.
	LinkHash   []byte
	RedirectTo string
	// Attempts counts wrong codes; at the limit the challenge is dead.
	Attempts      int
	CreatedAt     time.Time
	ExpiresAt     time.Time // the code's end
	LinkExpiresAt time.Time // the link's end (zero without a link)
	ConsumedAt    *time.Time
}

// Message statuses in the outbox.
const (
	MessagePending = "pending"
	MessageSent    = "sent"
	MessageFailed  = "failed"
	// MessageSuppressed is a message that is never sent: asked for an
	// address that gets no mail (no account while sign-up by code is off,
	// recovery for an unknown address, a disabled account). It is written
	// all the same, with random bytes of the content's length, so both
	// answers cost the same work and their timing reveals nothing.
	MessageSuppressed = "suppressed"
)

// Message is one email (or SMS) in the durable outbox. It is enqueued with
// the challenge whose code it carries (in one transaction where the store
// allows) and delivered by a worker with retries. Payload is the rendered
// content sealed under the server secret (it holds a code) and is wiped
// once delivered.
type Message struct {
	ID      string
	Kind    string
	Channel string // "email" or "sms"
	To      string
	Payload []byte
	Status  string
	// Attempts counts the tries to deliver it so far, the one that
	// succeeded included: 1 for a message sent at the first try.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// SentMessage is one delivery for the outbox to record: the message, the
// try that sent it (1 for the first) and when. The worker records those of
// a batch together (notify.Store.MessagesSent).
type SentMessage struct {
	ID       string
	Attempts int
	At       time.Time
}

// MaskAddress keeps an address recognisable to an admin without showing it
// whole: the first letter of an email's local part, the last four digits
// of a phone.
func MaskAddress(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		if len(addr) <= 4 {
			return strings.Repeat("*", len(addr))
		}
		return strings.Repeat("*", len(addr)-4) + addr[len(addr)-4:]
	}
	if local == "" {
		return "***@" + domain
	}
	return local[:1] + "***@" + domain
}

// MessageData is what a template may show.
type MessageData struct {
	Code      string
	Link      string
	ExpiresIn time.Duration
	LinkTTL   time.Duration
	// Host is the public host name, for the origin-bound line of an SMS
	// code ("@host #123456") that lets browsers fill the code in.
	Host string
	// Method names the sign-in method a KindMethodAdded message is about
	// (the provider's configured name).
	Method string
}

// Outbox renders and seals messages for delivery (package notify); the
// flows hand what it composes to a MessageQueue.
type Outbox interface {
	// Compose renders a message of kind for to; the caller enqueues it
	// (with its challenge, when the store can do both at once).
	Compose(ctx context.Context, kind, to string, data MessageData) (*Message, error)
	// Wake tells the delivery worker that a message was committed, so it
	// goes out at once rather than at the next poll.
	Wake()
}

// ChallengeStore keeps challenges: short-lived codes and links, dead within
// MagicLinkTTL. A store that keeps them beside the outbox may also
// implement ChallengeMessagePutter, so a code and its message are stored
// together or not at all.
type ChallengeStore interface {
	// PutChallenge deletes any challenge of c's purpose and address and
	// inserts c, atomically: of concurrent puts for one purpose and
	// address, one challenge survives whole. An empty c.UserID keeps no
	// user; a zero c.LinkExpiresAt and a nil c.LinkHash keep none.
	PutChallenge(ctx context.Context, c *Challenge) error
	// ChallengeByAddress returns the challenge of purpose for address,
	// consumed or expired ones included: the caller decides.
	ChallengeByAddress(ctx context.Context, purpose, address string) (*Challenge, error)
	// ChallengeByLinkHash returns the challenge whose link hashes to hash;
	// an empty hash finds nothing.
	ChallengeByLinkHash(ctx context.Context, hash []byte) (*Challenge, error)
	// FailChallenge counts one wrong code and returns the new count; every
	// one of concurrent calls counts. A challenge that a new put replaced
	// is ErrNotFound.
	FailChallenge(ctx context.Context, id string) (int, error)
	// ConsumeChallenge marks the challenge used at now; false when it was
	// used already (of two concurrent calls exactly one returns true).
	ConsumeChallenge(ctx context.Context, id string, now time.Time) (bool, error)
}

// SendLimiter bounds how often codes go to one address (email bombing). It
// is a short-lived counter, like Throttle.
type SendLimiter interface {
	// Allow records one send to key and returns 0, or how long to wait
	// when a limit is reached (nothing is recorded then).
	Allow(ctx context.Context, key string) (time.Duration, error)
}
