package auth

import (
	"context"
	"fmt"
	"time"
)

// Limit bounds how many events a key may have within Per. Past it the key
// waits Block, doubled for each further lock while the key is remembered,
// up to MaxBlock; with no Block it waits until its oldest event leaves
// the window (a plain sliding window, for sends).
type Limit struct {
	Max      int
	Per      time.Duration
	Block    time.Duration
	MaxBlock time.Duration
}

// Limiter counts events per key (a second-factor failure of an account, a
// wrong code from a client address, a message sent) under a Limit the
// caller gives with each call. It is a short-lived counter like Throttle:
// losing it forgets some events, never a security state, and nodes that
// must agree share one (Redis). The in-process implementation lives in
// internal/throttle; every implementation passes storetest.Limiters.
type Limiter interface {
	// Take records one event for key under l and returns 0. Past the limit
	// it records nothing and returns how long key must wait; tripped is
	// true for exactly one call per lock, the one that started it, so what
	// a lock sets off (a message, an audit event) happens once. Of
	// concurrent calls for one key at most l.Max are let through.
	//
	// An implementation that cannot remember a new key (its memory is
	// full) refuses it with a wait rather than forget a key it holds: an
	// attacker flooding other keys must not wipe the count that protects
	// someone.
	Take(ctx context.Context, key string, l Limit) (wait time.Duration, tripped bool, err error)
	// Return takes back key's newest recorded event, when key is not
	// waiting: the attempt it counted turned out right. It never ends a
	// wait.
	Return(ctx context.Context, key string) error
}

// The limits below share one shape: a window of an hour and, once
// tripped, a wait that starts at a quarter of an hour and doubles for as
// long as the key keeps tripping, up to a day. A day caps what a
// determined guesser gets at a few dozen tries a day, while a real person
// who fat-fingers a code is never near the limit.
const (
	limitWindow   = time.Hour
	limitBlock    = 15 * time.Minute
	limitMaxBlock = 24 * time.Hour
)

func (s *Service) mfaLimit() Limit {
	return Limit{Max: s.cfg.MFAFailureLimit, Per: limitWindow, Block: limitBlock, MaxBlock: limitMaxBlock}
}

func (s *Service) clientCodeLimit() Limit {
	return Limit{Max: s.cfg.ClientCodeFailureLimit, Per: limitWindow, Block: limitBlock, MaxBlock: limitMaxBlock}
}

// Names of the limits, as LimitTripped hears them and /metrics shows them.
const (
	LimitMFAAccount      = "mfa_account"
	LimitCodeClient      = "code_client"
	LimitSendClient      = "send_client"
	LimitSendGlobal      = "send_global"
	LimitPasswordAccount = "password_account"
	LimitPasswordClient  = "password_client"
	LimitCeremonyClient  = "ceremony_client"
)

// Audit kinds of the limits.
const (
	// AuditMFALocked: an account's second step is refused for a while
	// because of too many wrong second-factor codes.
	AuditMFALocked = "mfa_locked"
	// AuditClientLimited: a client address that tripped the wrong-code
	// limit did so on this account.
	AuditClientLimited = "client_limited"
	// AuditSignInLocked: password sign-in to the account is throttled.
	AuditSignInLocked = "signin_locked"
)

var (
	// errMFALocked answers every second step of a locked account, right
	// code or wrong, so the lock cannot be used to test codes.
	errMFALocked = &Error{Kind: KindTooManyAttempts, Message: "Too many wrong second-factor codes for this account; try again later."}
	// errClientLimited names no account: it is about the client only.
	errClientLimited = &Error{Kind: KindRateLimited, Message: "Too many wrong codes from your network; try again later."}
	// errClientSends and errGlobalSends are the same for every address,
	// known or not, so an over-limit answer tells nothing about it.
	errClientSends = &Error{Kind: KindRateLimited, Message: "Too many messages were asked for from your network; try again later."}
	errGlobalSends = &Error{Kind: KindRateLimited, Message: "The server is sending too many messages right now; try again later."}
	// errClientCeremonies answers a client that began too many passkey
	// ceremonies.
	errClientCeremonies = &Error{Kind: KindRateLimited, Message: "Too many passkey requests from your network; try again in a minute."}
)

type clientKey struct{}

// WithClient returns ctx carrying c, for the flows that take no Client
// argument (asking for and proving codes and links): they count wrong
// codes and sends per client from it. The HTTP surfaces set it once per
// request; without it those per-client limits do not apply.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client WithClient stored in ctx, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// guard is whose failures one code-bearing try counts against, beyond
// the challenge's or token's own count.
type guard struct {
	// user is the account whose second-factor failures count (nil for
	// codes and links that prove an address, which have their own
	// per-address send limit and per-challenge count).
	user *User
	// client is where the try came from; its wrong codes count across
	// accounts.
	client Client
}

// take counts one try against g's limits before its code is compared, for
// the reason tryCode gives. It returns a function that takes the try back
// when the code turns out right (only failures count: a person who signs
// in often must never reach a limit), or the refusal when a limit is
// reached. A lock is refused whatever the code: checked before the code
// is compared, so neither a right code nor its timing shows through it.
func (s *Service) take(ctx context.Context, g guard) (giveBack func(context.Context), err error) {
	if s.limiter == nil {
		return func(context.Context) {}, nil
	}
	var keys []string
	if g.user != nil {
		key := "mfa:" + g.user.ID
		wait, tripped, err := s.limiter.Take(ctx, key, s.mfaLimit())
		if err != nil {
			return nil, storeErr("count second-factor try", err)
		}
		if tripped {
			s.mfaLocked(ctx, g.user, g.client, wait)
		}
		if wait > 0 {
			return nil, retryAfter(errMFALocked, wait)
		}
		keys = append(keys, key)
	}
	if g.client.IP != "" {
		key := "code-ip:" + g.client.IP
		wait, tripped, err := s.limiter.Take(ctx, key, s.clientCodeLimit())
		if err != nil {
			s.giveBack(ctx, keys)
			return nil, storeErr("count try", err)
		}
		if tripped {
			s.obs.LimitTripped(LimitCodeClient)
			if g.user != nil {
				s.audit(ctx, g.user.ID, AuditClientLimited, g.client, "too many wrong codes from this address")
			}
		}
		if wait > 0 {
			s.giveBack(ctx, keys)
			return nil, retryAfter(errClientLimited, wait)
		}
		keys = append(keys, key)
	}
	return func(ctx context.Context) { s.giveBack(ctx, keys) }, nil
}

func (s *Service) giveBack(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.limiter.Return(ctx, k); err != nil {
			s.log.WarnContext(ctx, "take back a counted try", "err", err)
		}
	}
}

// failed counts a try that fails before any code could be compared (no
// live challenge, an unknown link): such tries cost the client as much
// as wrong codes do, or spreading guesses over addresses with no
// challenge would be free, and whether a challenge exists would show in
// which tries are counted. It returns refused, or the limit's refusal.
func (s *Service) failed(ctx context.Context, g guard, refused error) error {
	if _, err := s.take(ctx, g); err != nil {
		return err
	}
	return refused
}

// mfaLocked tells the account's owner, once per lock, that someone who
// knows the password is failing the second step, and records it.
func (s *Service) mfaLocked(ctx context.Context, u *User, c Client, wait time.Duration) {
	s.obs.LimitTripped(LimitMFAAccount)
	s.audit(ctx, u.ID, AuditMFALocked, c, fmt.Sprintf("second step refused for %s", wait.Round(time.Second)))
	if u.Email == "" || s.outbox == nil || s.messages == nil || !*s.cfg.Email {
		return
	}
	msg, err := s.outbox.Compose(ctx, KindMFALocked, u.Email, MessageData{ExpiresIn: wait})
	if err == nil {
		err = s.messages.Enqueue(ctx, msg)
	}
	if err != nil {
		// The lock holds without the message; losing it must not let the
		// guessing on.
		s.log.WarnContext(ctx, "queue second-factor lock notice", "user_id", u.ID, "err", err)
		return
	}
	s.outbox.Wake()
}

// sendLimit is one limit of a message's own: its address's (or number's),
// or its country's.
type sendLimit struct {
	limiter SendLimiter // nil: no limit
	key     string
	refused *Error
}

// allowMessage records one message against every limit it meets, in the
// order below (allowClientSend): the client's, then limits, then the
// server's ceiling.
func (s *Service) allowMessage(ctx context.Context, limits ...sendLimit) error {
	if err := s.allowClientSend(ctx); err != nil {
		return err
	}
	for _, l := range limits {
		if err := s.allowSend(ctx, l.limiter, l.key, l.refused); err != nil {
			return err
		}
	}
	return s.allowGlobalSend(ctx)
}

// allowClientSend records one message asked for by the request's client,
// and allowGlobalSend one against the server's hourly ceiling. The client's
// comes before the address's own limit, so a client past its limit spends
// nothing of an address's budget; the ceiling comes after every other
// limit, so what it counts are messages that go out (or, for an address
// that gets none, are suppressed to look the same). Neither is keyed on
// anything about the address, so an over-limit answer is the same for
// known and unknown ones.
func (s *Service) allowClientSend(ctx context.Context) error {
	ip := ClientFrom(ctx).IP
	if s.limiter == nil || ip == "" {
		return nil
	}
	return s.takeSend(ctx, "send-ip:"+ip, s.cfg.ClientSendLimit, LimitSendClient, errClientSends)
}

func (s *Service) allowGlobalSend(ctx context.Context) error {
	if s.limiter == nil {
		return nil
	}
	return s.takeSend(ctx, "send-all", s.cfg.GlobalSendLimit, LimitSendGlobal, errGlobalSends)
}

func (s *Service) takeSend(ctx context.Context, key string, max int, name string, refused *Error) error {
	wait, tripped, err := s.limiter.Take(ctx, key, Limit{Max: max, Per: limitWindow})
	if err != nil {
		return storeErr("send limit", err)
	}
	if tripped {
		s.obs.LimitTripped(name)
	}
	if wait > 0 {
		return retryAfter(refused, wait)
	}
	return nil
}

// ceremonyWindow is the window of Config.ClientCeremonyLimit.
const ceremonyWindow = time.Minute

// allowCeremony records one passkey ceremony begun by the request's client
// without a session (a session's own begins are bounded by who holds it).
// Each begin stores a ceremony until it is used or expires, minutes
// later, so without a limit one address could fill the store; a plain
// sliding window of a minute is enough, since a begin proves nothing and
// guesses nothing.
func (s *Service) allowCeremony(ctx context.Context) error {
	ip := ClientFrom(ctx).IP
	if s.limiter == nil || ip == "" {
		return nil
	}
	wait, tripped, err := s.limiter.Take(ctx, "ceremony-ip:"+ip, Limit{Max: s.cfg.ClientCeremonyLimit, Per: ceremonyWindow})
	if err != nil {
		return storeErr("ceremony limit", err)
	}
	if tripped {
		s.obs.LimitTripped(LimitCeremonyClient)
	}
	if wait > 0 {
		return retryAfter(errClientCeremonies, wait)
	}
	return nil
}
