package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/tracing"
)

// Worker defaults; see WorkerConfig.
const (
	DefaultPoll        = time.Second
	DefaultLease       = 5 * time.Minute
	DefaultBatch       = 64
	DefaultConcurrency = 16
	DefaultSendTimeout = 30 * time.Second
	DefaultMaxAttempts = 10
	DefaultMaxAge      = 24 * time.Hour
	DefaultBackoff     = 10 * time.Second
	DefaultMaxBackoff  = 30 * time.Minute
)

// storeTimeout bounds each store update after a send. It runs on a context
// detached from the worker's, so a send that went out is recorded even when
// the worker is stopping: recording it is what prevents a second send.
const storeTimeout = 10 * time.Second

// WorkerConfig configures a Worker. Store, Box and at least one of Sender
// and SMS are required; a zero value elsewhere takes the default.
type WorkerConfig struct {
	Store Store
	Box   *seal.Box
	// Sender delivers messages on ChannelEmail.
	Sender Sender
	// SMS delivers messages on ChannelSMS. A message whose channel has no
	// sender here fails at once, for good: waiting cannot configure one,
	// and its code would expire long before.
	SMS SMSSender
	// Clock stamps every time the worker reads or writes (auth.SystemClock
	// when nil), so tests move through backoff without sleeping.
	Clock auth.Clock
	// Logger gets one line per attempt (slog.Default when nil). It never
	// sees the payload, subject, code or link.
	Logger *slog.Logger
	// Wake, when set, makes Run look for messages at once (Outbox.Wakeups).
	Wake <-chan struct{}
	// Poll is how often Run looks for due messages without a wake-up: it
	// bounds the delay of retries and of messages queued by other nodes.
	Poll time.Duration
	// Lease is how long a claimed message is reserved for this worker. It
	// must exceed a whole batch's sends (Batch/Concurrency rounds of
	// SendTimeout) plus the store updates, as a sent message is recorded
	// with its batch; a worker that dies mid-batch leaves its messages to
	// be claimed again when it runs out. When zero, DefaultLease or, for a
	// batch that needs more, its rounds and a minute.
	Lease time.Duration
	// Batch is how many messages one claim takes. A larger batch spreads
	// the claim's and the record's commits over more messages.
	Batch int
	// Concurrency bounds the messages of a batch in flight at once (and so
	// the connections to the mail server): a batch takes about
	// Batch/Concurrency SendTimeouts at worst.
	Concurrency int
	// SendTimeout bounds one Send or SendSMS.
	SendTimeout time.Duration
	// MaxAttempts and MaxAge bound retries: a message that failed
	// MaxAttempts times, or is older than MaxAge, is failed for good.
	MaxAttempts int
	MaxAge      time.Duration
	// Backoff is the wait after the first failure, doubled after each
	// further failure up to MaxBackoff, less up to a fifth at random so
	// that messages that failed together do not retry together.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Observe, when set, hears the outcome of every attempt: the
	// message's channel and "sent", "retry" or "failed" (metrics). It
	// must not block.
	Observe func(channel, status string)
	// Tracer, when set, traces every attempt: a span per message, with
	// the send and the store's update of a retry or failure as its
	// children (the sent messages of a batch are recorded together, after
	// their spans).
	Tracer trace.TracerProvider
}

// Outcomes of an attempt as WorkerConfig.Observe hears them.
const (
	DeliverySent   = "sent"
	DeliveryRetry  = "retry"
	DeliveryFailed = "failed"
)

// Worker delivers the outbox: it claims due messages from the store, sends
// them and records the outcome, retrying temporary failures with
// exponential backoff. Several workers, in one process or on several nodes,
// may run against one store: the store's lease keeps them from sending one
// message twice.
type Worker struct {
	cfg WorkerConfig
	log *slog.Logger
}

// NewWorker checks cfg and fills in defaults.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("notify: worker needs a store")
	case cfg.Box == nil:
		return nil, errors.New("notify: worker needs a seal box")
	case cfg.Sender == nil && cfg.SMS == nil:
		return nil, errors.New("notify: worker needs an email or SMS sender")
	}
	if cfg.Clock == nil {
		cfg.Clock = auth.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string, string) {}
	}
	setDefault(&cfg.Poll, DefaultPoll)
	setDefault(&cfg.Batch, DefaultBatch)
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.SendTimeout, DefaultSendTimeout)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.MaxAge, DefaultMaxAge)
	setDefault(&cfg.Backoff, DefaultBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	// The last message of a batch is recorded when the whole batch is
	// done: its lease must outlast every round of sends. An unset lease
	// stretches to fit a large batch sent a few at a time (a minute to
	// spare); one that was set is the caller's to fit.
	rounds := time.Duration((cfg.Batch + cfg.Concurrency - 1) / cfg.Concurrency)
	need := rounds*cfg.SendTimeout + storeTimeout
	setDefault(&cfg.Lease, max(DefaultLease, need+time.Minute))
	if cfg.Lease <= need {
		return nil, fmt.Errorf("notify: worker lease %v must exceed %d rounds of the send timeout %v (batch %d, concurrency %d) plus %v",
			cfg.Lease, rounds, cfg.SendTimeout, cfg.Batch, cfg.Concurrency, storeTimeout)
	}
	return &Worker{cfg: cfg, log: cfg.Logger.With("component", "notify")}, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Run delivers until ctx ends, then returns nil. It looks for due messages
// every Poll and at once on a wake-up, and keeps claiming without waiting
// while batches come back full. Store errors are logged and retried at the
// next poll: a database outage must not stop delivery for good.
//
// When ctx ends mid-send the send is abandoned and nothing is recorded; the
// message's lease runs out and it is sent again, by this node after a
// restart or by another one. A send that did complete is still recorded.
func (w *Worker) Run(ctx context.Context) error {
	ticker := time.NewTicker(w.cfg.Poll)
	defer ticker.Stop()
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.log.Error("outbox delivery", "error", err)
		}
		if err == nil && n == w.cfg.Batch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-w.cfg.Wake:
		}
	}
}

// RunOnce claims one batch of due messages, sends them (Concurrency at a
// time) and
// records the outcomes: the messages sent all together, in one store call
// once the batch is done (one commit per batch, not per message), retries
// and failures each as it happens. It returns how many messages it
// claimed, and the errors of the claim or of recording outcomes (a failed
// send is not an error here: it is recorded on the message). Tests drive
// the worker with it, one step at a time.
//
// A message sent but not yet recorded is still leased to this worker, so
// no other worker sends it; if this one dies before the record, the lease
// runs out and the message is sent again (at least once, never lost).
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	msgs, err := w.cfg.Store.ClaimMessages(ctx, w.cfg.Clock.Now(), w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("notify: claim messages: %w", err)
	}
	errs := make([]error, len(msgs)+1)
	sentAt := make([]time.Time, len(msgs)) // zero: not sent
	var wg sync.WaitGroup
	slots := make(chan struct{}, w.cfg.Concurrency)
	for i := range msgs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			sentAt[i], errs[i] = w.deliver(ctx, &msgs[i])
		})
	}
	wg.Wait()
	errs[len(msgs)] = w.recordSent(ctx, msgs, sentAt)
	return len(msgs), errors.Join(errs...)
}

// recordSent records the messages of msgs that deliver sent (at sentAt[i],
// zero for one not sent) in one store call, then logs and counts them.
func (w *Worker) recordSent(ctx context.Context, msgs []auth.Message, sentAt []time.Time) error {
	var batch []auth.SentMessage
	for i := range msgs {
		if !sentAt[i].IsZero() {
			batch = append(batch, auth.SentMessage{ID: msgs[i].ID, Attempts: msgs[i].Attempts + 1, At: sentAt[i]})
		}
	}
	if len(batch) == 0 {
		return nil
	}
	sctx, cancel := w.storeCtx(ctx)
	defer cancel()
	err := w.cfg.Store.MessagesSent(sctx, batch)
	for i := range msgs {
		if sentAt[i].IsZero() {
			continue
		}
		m := &msgs[i]
		log := w.log.With("message_id", m.ID, "kind", m.Kind, "channel", m.Channel, "attempt", m.Attempts+1)
		if err != nil {
			log.Error("message sent but not recorded; it may be sent again", "status", auth.MessagePending, "error", err)
			continue
		}
		log.Info("message sent", "status", auth.MessageSent)
		w.cfg.Observe(m.Channel, DeliverySent)
	}
	if err != nil {
		return fmt.Errorf("notify: record %d messages sent: %w", len(batch), err)
	}
	return nil
}

// deliver sends one claimed message. It records a failure (retry or give
// up) itself; a success it answers (when it was sent; zero when it was
// not) for RunOnce to record with the rest of the batch.
func (w *Worker) deliver(ctx context.Context, m *auth.Message) (sentAt time.Time, err error) {
	if w.cfg.Tracer != nil {
		var span trace.Span
		ctx, span = w.cfg.Tracer.Tracer(tracing.Scope).Start(ctx, "deliver "+m.Channel, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("gatehouse.message.kind", m.Kind), attribute.Int("gatehouse.message.attempt", m.Attempts+1)))
		defer func() {
			if err != nil {
				span.SetStatus(codes.Error, "record outcome")
			}
			span.End()
		}()
	}
	attempt := m.Attempts + 1
	log := w.log.With("message_id", m.ID, "kind", m.Kind, "channel", m.Channel, "attempt", attempt)

	c, err := OpenPayload(w.cfg.Box, m.Payload)
	if err != nil {
		// Sealed under another secret, or damaged: no retry can open it.
		return time.Time{}, w.fail(ctx, log, m, attempt, err)
	}
	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	sendCtx, end := tracing.Start(sendCtx, "send "+m.Channel)
	err = w.send(sendCtx, m, c)
	end(err)
	cancel()
	if err == nil {
		return w.cfg.Clock.Now(), nil
	}
	if ctx.Err() != nil {
		log.Warn("message send abandoned; it is sent again once its lease runs out", "status", auth.MessagePending, "error", redact(err, m.To))
		return time.Time{}, nil
	}
	now := w.cfg.Clock.Now()
	if IsPermanent(err) || attempt >= w.cfg.MaxAttempts || now.Sub(m.CreatedAt) >= w.cfg.MaxAge {
		return time.Time{}, w.fail(ctx, log, m, attempt, err)
	}
	next := now.Add(w.backoff(attempt))
	msg := redact(err, m.To)
	sctx, cancel := w.storeCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.MessageRetry(sctx, m.ID, attempt, next, msg); err != nil {
		return time.Time{}, fmt.Errorf("notify: record retry of message %s: %w", m.ID, err)
	}
	log.Warn("message send failed; will retry", "status", auth.MessagePending, "next_attempt_at", next, "error", msg)
	w.cfg.Observe(m.Channel, DeliveryRetry)
	return time.Time{}, nil
}

// send hands c to the sender of m's channel. A channel without a sender is
// a Permanent error, so it takes the same path as any other failure (logged,
// redacted, recorded) but is never retried.
func (w *Worker) send(ctx context.Context, m *auth.Message, c Content) error {
	switch m.Channel {
	case ChannelEmail:
		if w.cfg.Sender == nil {
			return Permanent(errors.New("notify: no email sender configured"))
		}
		return w.cfg.Sender.Send(ctx, Email{To: m.To, Subject: c.Subject, Text: c.Text, HTML: c.HTML})
	case ChannelSMS:
		if w.cfg.SMS == nil {
			return Permanent(errors.New("notify: no sms sender configured"))
		}
		return w.cfg.SMS.SendSMS(ctx, SMS{To: m.To, Text: c.Text})
	default:
		return Permanent(fmt.Errorf("notify: unknown channel %q", m.Channel))
	}
}

// fail gives up on m.
func (w *Worker) fail(ctx context.Context, log *slog.Logger, m *auth.Message, attempt int, cause error) error {
	msg := redact(cause, m.To)
	sctx, cancel := w.storeCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.MessageFailed(sctx, m.ID, attempt, msg, w.cfg.Clock.Now()); err != nil {
		return fmt.Errorf("notify: record message %s failed: %w", m.ID, err)
	}
	log.Error("message send failed; giving up", "status", auth.MessageFailed, "permanent", IsPermanent(cause), "error", msg)
	w.cfg.Observe(m.Channel, DeliveryFailed)
	return nil
}

// storeCtx returns a context for recording an outcome: detached from ctx's
// cancellation (see storeTimeout) but keeping its values.
func (w *Worker) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
}

// backoff returns the wait after the attempt-th failure: Backoff doubled
// attempt-1 times, capped at MaxBackoff, less a random part of up to a
// fifth (so it still grows with each attempt until the cap).
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	if j := int64(d / 5); j > 0 {
		d -= time.Duration(rand.Int64N(j))
	}
	return d
}

// redact returns err's text without the recipient, which SMTP servers and
// Postmark echo in their errors, and Twilio too ("The 'To' number
// +14155552671 is not a valid phone number."): the text is logged and shown
// to admins, who see only a masked recipient. An E.164 number is also
// removed without its plus, as Twilio sometimes prints it and as it shows
// in a form-encoded "To=%2B…".
func redact(err error, to string) string {
	s := err.Error()
	if to == "" {
		return s
	}
	pattern := "(?i)" + regexp.QuoteMeta(to)
	if digits, ok := strings.CutPrefix(to, "+"); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
		pattern = `\+?` + digits
	}
	return regexp.MustCompile(pattern).ReplaceAllLiteralString(s, "[recipient]")
}
