package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// codesOnly keeps challenges and MFA tokens with no outbox beside them.
type codesOnly struct {
	ChallengeStore
	MFATokenStore
	challenges []*Challenge
	codes      []string
	err        error
}

func (c *codesOnly) PutChallenge(_ context.Context, ch *Challenge) error {
	c.challenges = append(c.challenges, ch)
	return c.err
}

func (c *codesOnly) SetMFAEmailCode(_ context.Context, id string, _ []byte, _ time.Time) error {
	c.codes = append(c.codes, id)
	return c.err
}

// codesWithOutbox can store a code and its message in one transaction.
type codesWithOutbox struct {
	codesOnly
	together []string
}

func (c *codesWithOutbox) PutChallengeWithMessage(_ context.Context, ch *Challenge, m *Message) error {
	c.together = append(c.together, ch.ID+"+"+m.ID)
	return nil
}

func (c *codesWithOutbox) SetMFAEmailCodeWithMessage(_ context.Context, id string, _ []byte, _ time.Time, m *Message) error {
	c.together = append(c.together, id+"+"+m.ID)
	return nil
}

type queue struct {
	ids []string
	err error
}

func (q *queue) Enqueue(_ context.Context, m *Message) error {
	if q.err != nil {
		return q.err
	}
	q.ids = append(q.ids, m.ID)
	return nil
}

// A code and its message go in one transaction when the store can, else
// the code first and then the message, and a failed code sends nothing.
func TestPutCodeWithMessage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ch, m := &Challenge{ID: "c"}, &Message{ID: "m"}
	calls := func(s *Service) error {
		if err := s.putChallenge(ctx, ch, m); err != nil {
			return err
		}
		if err := s.putChallenge(ctx, &Challenge{ID: "bare"}, nil); err != nil {
			return err
		}
		return s.setMFAEmailCode(ctx, "t", nil, time.Time{}, m)
	}

	// Separately: the code, then its message.
	codes, q := &codesOnly{}, &queue{}
	s := &Service{challenges: codes, mfaTokens: codes, messages: q}
	if err := calls(s); err != nil {
		t.Fatal(err)
	}
	if len(codes.challenges) != 2 || len(codes.codes) != 1 || len(q.ids) != 2 {
		t.Errorf("stored %d challenges, %d codes, enqueued %v; want 2, 1, [m m]", len(codes.challenges), len(codes.codes), q.ids)
	}

	// Together, when the store can: the queue is not used for them.
	both, q := &codesWithOutbox{}, &queue{}
	s = &Service{challenges: both, mfaTokens: both, messages: q}
	if err := calls(s); err != nil {
		t.Fatal(err)
	}
	if len(both.together) != 2 || len(both.challenges) != 1 || len(q.ids) != 0 {
		t.Errorf("stored %v together, %d alone, enqueued %v; want 2 together, the bare one alone, none queued", both.together, len(both.challenges), q.ids)
	}

	// A code that could not be stored sends nothing; a message that could
	// not be queued fails the request.
	failing := errors.New("down")
	codes, q = &codesOnly{err: failing}, &queue{}
	s = &Service{challenges: codes, mfaTokens: codes, messages: q}
	if err := s.putChallenge(ctx, ch, m); !errors.Is(err, failing) || len(q.ids) != 0 {
		t.Errorf("putChallenge with the store down = %v, enqueued %v; want the error, nothing", err, q.ids)
	}
	if err := s.setMFAEmailCode(ctx, "t", nil, time.Time{}, m); !errors.Is(err, failing) || len(q.ids) != 0 {
		t.Errorf("setMFAEmailCode with the store down = %v, enqueued %v; want the error, nothing", err, q.ids)
	}
	codes, q = &codesOnly{}, &queue{err: failing}
	s = &Service{challenges: codes, mfaTokens: codes, messages: q}
	if err := s.putChallenge(ctx, ch, m); !errors.Is(err, failing) {
		t.Errorf("putChallenge with the queue down = %v; want its error", err)
	}
}
