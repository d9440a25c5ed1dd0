package auth

import (
	"context"
	"time"
)

// MessageQueue takes composed messages for delivery: the enqueueing half of
// the outbox, whose worker (package notify) delivers them.
type MessageQueue interface {
	// Enqueue stores m for delivery; m is durable once Enqueue returns.
	// An empty m.Status is pending and a zero m.NextAttemptAt is
	// m.CreatedAt (due at once). A suppressed message is kept, never sent.
	Enqueue(ctx context.Context, m *Message) error
}

// ChallengeMessagePutter is a ChallengeStore that also keeps the outbox and
// can store a challenge and the message carrying its code in one
// transaction. The flows use it when the ChallengeStore has it; otherwise
// they put the challenge, then enqueue the message.
type ChallengeMessagePutter interface {
	// PutChallengeWithMessage is PutChallenge and MessageQueue.Enqueue of m,
	// atomically: both are stored or neither is.
	PutChallengeWithMessage(ctx context.Context, c *Challenge, m *Message) error
}

// MFAEmailCodeMessageSetter is an MFATokenStore that also keeps the outbox
// and can record an emailed second-factor code and its message in one
// transaction, as ChallengeMessagePutter does for challenges.
type MFAEmailCodeMessageSetter interface {
	// SetMFAEmailCodeWithMessage is SetMFAEmailCode and
	// MessageQueue.Enqueue of m, atomically: an unknown token enqueues
	// nothing.
	SetMFAEmailCodeWithMessage(ctx context.Context, id string, hash []byte, expires time.Time, m *Message) error
}

// putChallenge stores c and enqueues m (when not nil), in one transaction
// when the store can. Otherwise the challenge goes first: if the enqueue
// then fails, the request fails and no message carries a code that was
// never stored; a retry replaces the orphaned challenge.
func (s *Service) putChallenge(ctx context.Context, c *Challenge, m *Message) error {
	if p, ok := s.challenges.(ChallengeMessagePutter); ok && m != nil {
		return p.PutChallengeWithMessage(ctx, c, m)
	}
	if err := s.challenges.PutChallenge(ctx, c); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	return s.messages.Enqueue(ctx, m)
}

// setMFAEmailCode records the emailed code of an MFA token and enqueues its
// message m, in one transaction when the store can, else code first (as
// putChallenge).
func (s *Service) setMFAEmailCode(ctx context.Context, id string, hash []byte, expires time.Time, m *Message) error {
	if p, ok := s.mfaTokens.(MFAEmailCodeMessageSetter); ok && m != nil {
		return p.SetMFAEmailCodeWithMessage(ctx, id, hash, expires, m)
	}
	if err := s.mfaTokens.SetMFAEmailCode(ctx, id, hash, expires); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	return s.messages.Enqueue(ctx, m)
}
