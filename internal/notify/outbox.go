package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
)

// SealPurpose is the seal.Box purpose of message payloads. A payload copied
// into another sealed column cannot be opened there, nor the reverse.
const SealPurpose = "message"

// Channels (auth.Message.Channel): which sender the worker hands a message
// to. A kind's channel is fixed by the list it is in (EmailKinds, SMSKinds).
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Outbox renders and seals messages for the durable outbox (auth.Outbox).
// Rendering happens at request time, not at delivery, so the code or link
// never has to be stored anywhere but inside the sealed payload, and a
// template change cannot break messages already queued.
type Outbox struct {
	tpl   *Templates
	box   *seal.Box
	clock auth.Clock
	wake  chan struct{}
}

var _ auth.Outbox = (*Outbox)(nil)

// NewOutbox returns an Outbox that renders with tpl, seals with box and
// stamps times from clock.
func NewOutbox(tpl *Templates, box *seal.Box, clock auth.Clock) *Outbox {
	return &Outbox{tpl: tpl, box: box, clock: clock, wake: make(chan struct{}, 1)}
}

// Compose renders kind for to (an email address, or an E.164 number for an
// SMS kind) and returns a pending message due now on kind's channel, with
// the content sealed in its payload. The caller enqueues it with the
// challenge whose code it carries (auth.MessageQueue).
func (o *Outbox) Compose(_ context.Context, kind, to string, data auth.MessageData) (*auth.Message, error) {
	if to == "" {
		return nil, errors.New("notify: compose: empty recipient")
	}
	c, err := o.tpl.Render(kind, to, data)
	if err != nil {
		return nil, fmt.Errorf("notify: compose %s: %w", kind, err)
	}
	// Render knew kind, so it has a channel.
	channel := o.tpl.kinds[kind].channel
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("notify: compose %s: marshal: %w", kind, err)
	}
	payload, err := o.box.Seal(SealPurpose, plain)
	if err != nil {
		return nil, fmt.Errorf("notify: compose %s: seal: %w", kind, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("notify: compose %s: id: %w", kind, err)
	}
	now := o.clock.Now()
	return &auth.Message{
		ID:            id.String(),
		Kind:          kind,
		Channel:       channel,
		To:            to,
		Payload:       payload,
		Status:        auth.MessagePending,
		NextAttemptAt: now,
		CreatedAt:     now,
	}, nil
}

// Wake tells the worker a message was committed so it is sent at once rather
// than at the next poll. It never blocks: a wake-up already pending covers
// this one too.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Wakeups is the channel Wake signals; pass it to the worker
// (WorkerConfig.Wake) running in the same process.
func (o *Outbox) Wakeups() <-chan struct{} { return o.wake }

// OpenPayload reverses Compose's sealing: it returns the content sealed in
// a message payload.
func OpenPayload(box *seal.Box, payload []byte) (Content, error) {
	plain, err := box.Open(SealPurpose, payload)
	if err != nil {
		return Content{}, fmt.Errorf("notify: open payload: %w", err)
	}
	var c Content
	if err := json.Unmarshal(plain, &c); err != nil {
		return Content{}, fmt.Errorf("notify: open payload: decode: %w", err)
	}
	return c, nil
}
