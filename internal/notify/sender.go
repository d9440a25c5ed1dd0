package notify

import (
	"context"
	"errors"
)

// Email is one rendered message as a Sender gets it. From may be empty: the
// sender then uses its configured address (GATEHOUSE_MAIL_FROM), so the
// outbox never has to store it.
type Email struct {
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender hands an email to a transport (console, SMTP, Postmark). The worker
// decides about retries from the error alone: an error marked with Permanent
// fails the message at once, any other error is retried with backoff. Send
// must return promptly when ctx ends, so a stopping worker is not held up.
type Sender interface {
	Send(ctx context.Context, m Email) error
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that no retry can fix (an SMTP 5xx reply, a
// Postmark 4xx other than 429), so the worker fails the message at once
// instead of repeating a doomed attempt for a day. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked with
// Permanent. Unmarked errors are taken as temporary: a transport that cannot
// tell is better retried than dropped.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// SMS is one rendered text message as an SMSSender gets it. To is E.164.
type SMS struct {
	To   string
	Text string
}

// SMSSender hands a text message to a transport (console, Twilio). Its
// errors follow Sender's rules: Permanent for what no retry can fix, any
// other error is retried with backoff.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}
