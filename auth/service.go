package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
)

// Config holds the flow settings. DefaultConfig returns the defaults of
// docs/contract.md ("Configuration"), and New takes every zero field (nil
// for a *bool) from it, so a zero Config means exactly those defaults and
// each default is written once. A setting that is on by default is a
// *bool: a plain bool could not tell "turned off" from "not set", and a
// zero Config (which tests and embedders write) must keep meaning the
// defaults; a setting that is off by default is a plain bool.
type Config struct {
	// AccessTokenTTL is how long an access token is valid.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a sign-in: no session or
	// refresh token outlives it, however often it is used.
	RefreshTokenTTL time.Duration
	// SessionTTL is the sliding idle timeout: a session unused for this
	// long ends.
	SessionTTL time.Duration
	// RefreshGrace is how long after a rotation a replay of the old refresh
	// token answers the same successor instead of revoking the session.
	RefreshGrace time.Duration
	// SuccessorKey derives refresh-token successors (see opaque.Derive); it
	// must be the same on every node, so it comes from the server secret.
	SuccessorKey []byte
	// CacheTTL bounds how long this node trusts its in-process view of a
	// session before asking the store again. Revocations made on this node
	// take effect at once; the TTL bounds staleness from other nodes. With
	// Revocations that can say whether they are live (LiveRevocations),
	// it is the bound while they are not (Redis down, or a subscription
	// being made again), capped at a second (revocationBound).
	CacheTTL time.Duration
	// LiveCacheTTL is how long this node trusts its view while its
	// Revocations are live (LiveRevocations.Live): every revocation then
	// reaches the view as it is made, so the TTL only bounds what no
	// revocation announces, and the reloads of a busy session. It has
	// no effect with other Revocations or none.
	LiveCacheTTL time.Duration

	// OTPLength is the number of digits of a one-time code.
	OTPLength int
	// OTPTTL is how long a code is valid.
	OTPTTL time.Duration
	// OTPMaxAttempts is how many wrong codes kill a challenge: a sign-in,
	// recovery or phone code, or an MFA token's second factor.
	OTPMaxAttempts int
	// MagicLinkTTL is how long a link is valid.
	MagicLinkTTL time.Duration
	// PasswordlessSignup lets a code or link create the account of an
	// unknown address (on when nil). Off, unknown addresses get the same
	// answer and no message, so the answer still reveals nothing.
	PasswordlessSignup *bool
	// RequireVerifiedEmail refuses a password sign-in while the account's
	// email is unproven (email_unverified), sending a fresh code and link
	// to prove it.
	RequireVerifiedEmail bool
	// PublicURL is Gatehouse's own origin; its host is named in messages.
	PublicURL string
	// LinkURL returns the address an emailed link carries for token: the
	// page that consumes it, which belongs to the surface serving it, not
	// to the flows. The wiring sets it; nil makes links PublicURL?token=….
	LinkURL func(token string) string
	// AllowedRedirects are the origins a link may send the browser back to.
	AllowedRedirects []string
	// CodeKey keys the HMAC that codes are stored under (32+ bytes, from
	// the server secret, the same on every node).
	CodeKey []byte
	// AppName is the issuer shown in authenticator apps and the product
	// name in messages and pages.
	AppName string

	// Email turns the email flows on (on when nil): the outbox delivers
	// email. Off, they answer unavailable while the outbox serves SMS (no
	// mail sender is configured).
	Email *bool
	// SMS turns the SMS flows on: an SMS sender is configured.
	SMS bool
	// SMSRegions, when not empty, are the only countries (ISO 3166-1
	// alpha-2, upper case) whose numbers may receive a code; any other
	// number is refused as invalid (SMS pumping usually targets far-away
	// premium ranges).
	SMSRegions []string

	// The limits below are counted by Deps.Limiter over an hour; a tripped
	// one answers 429 with Retry-After (docs/security.md, "Limits").

	// MFAFailureLimit is how many wrong second-factor codes (authenticator,
	// email, backup code) one account may see in an hour, across MFA
	// tokens and factors. Past it the second step of that account is
	// refused whatever the code, for 15 minutes doubling up to a day, and
	// the owner is told by email.
	MFAFailureLimit int
	// ClientCodeFailureLimit is how many wrong codes, links, authenticator
	// and backup codes one client address may send in an hour, across
	// accounts; past it the address waits as above.
	ClientCodeFailureLimit int
	// ClientSendLimit is how many codes, links and SMS one client address
	// may have sent in an hour, across addresses.
	ClientSendLimit int
	// GlobalSendLimit is how many codes, links and SMS the server sends
	// in an hour in all: a ceiling on what a flood can cost in sender
	// reputation and provider bills.
	GlobalSendLimit int
	// ClientCeremonyLimit is how many passkey ceremonies one client
	// address may begin in a minute without a session (a passkey sign-in,
	// a passkey sign-up, a passkey second step): each stores a row until
	// it is used or expires, so a flood from one address is cut there.
	ClientCeremonyLimit int
}

// DefaultConfig returns the default of every setting that has one; it is
// the one place they are written (the gatehouse package's DefaultConfig
// and the environment's defaults come from here). Keys, URLs and the SMS
// settings have no default.
func DefaultConfig() Config {
	return Config{
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    720 * time.Hour,
		SessionTTL:         168 * time.Hour,
		RefreshGrace:       10 * time.Second,
		CacheTTL:           2 * time.Second,
		LiveCacheTTL:       time.Minute,
		OTPLength:          6,
		OTPTTL:             5 * time.Minute,
		OTPMaxAttempts:     5,
		MagicLinkTTL:       15 * time.Minute,
		PasswordlessSignup: new(true),
		AppName:            "Gatehouse",
		Email:              new(true),

		MFAFailureLimit:        10,
		ClientCodeFailureLimit: 50,
		ClientSendLimit:        30,
		GlobalSendLimit:        10_000,
		ClientCeremonyLimit:    30,
	}
}

// withDefaults returns c with every zero or negative setting taken from
// DefaultConfig. Its *bool fields point to values of its own, so whoever
// keeps c (or a Config the Service returned) cannot change a running
// Service's settings through them.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.AccessTokenTTL, &d.AccessTokenTTL}, {&c.RefreshTokenTTL, &d.RefreshTokenTTL},
		{&c.SessionTTL, &d.SessionTTL}, {&c.RefreshGrace, &d.RefreshGrace}, {&c.CacheTTL, &d.CacheTTL},
		{&c.LiveCacheTTL, &d.LiveCacheTTL},
		{&c.OTPTTL, &d.OTPTTL}, {&c.MagicLinkTTL, &d.MagicLinkTTL},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if c.OTPLength <= 0 {
		c.OTPLength = d.OTPLength
	}
	for _, f := range []struct{ v, def *int }{
		{&c.OTPMaxAttempts, &d.OTPMaxAttempts}, {&c.MFAFailureLimit, &d.MFAFailureLimit},
		{&c.ClientCodeFailureLimit, &d.ClientCodeFailureLimit}, {&c.ClientSendLimit, &d.ClientSendLimit},
		{&c.GlobalSendLimit, &d.GlobalSendLimit}, {&c.ClientCeremonyLimit, &d.ClientCeremonyLimit},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if c.AppName == "" {
		c.AppName = d.AppName
	}
	if c.LinkURL == nil {
		// The wiring names the page that consumes a link; without it a
		// link is the public URL with the token in its query.
		base := c.PublicURL
		c.LinkURL = func(token string) string { return base + "?token=" + url.QueryEscape(token) }
	}
	for _, f := range []struct{ v, def **bool }{{&c.PasswordlessSignup, &d.PasswordlessSignup}, {&c.Email, &d.Email}} {
		if *f.v == nil {
			*f.v = *f.def
		} else {
			*f.v = new(**f.v)
		}
	}
	return c
}

// Observer hears about outcomes worth counting (metrics); it must not block.
// Every argument is one of a small fixed set of names (no user data), so an
// implementation may use them as metric labels as they are. SessionView is
// on the check's hot path: an implementation keeps it to an atomic add.
type Observer interface {
	// SignIn records one sign-in attempt by method ("password",
	// "refresh_token", …) with result ResultSuccess, ResultFailure,
	// ResultThrottled, ResultError or ResultAbandoned.
	SignIn(method, result string)
	// SignUp records one attempt to create an account by method
	// ("password", "passwordless", "code", "passkey", "oauth") with a
	// result as SignIn's.
	SignUp(method, result string)
	// LimitTripped records that a limit started refusing a key; name is
	// one of the Limit* names (LimitMFAAccount, …).
	LimitTripped(name string)
	// CodeSent records one code or link queued for delivery: its channel
	// ("email", "sms") and message kind (KindSignInCode, …).
	CodeSent(channel, kind string)
	// CodeVerified records one try of a code or link (what is "code" or
	// "link") with a result as SignIn's.
	CodeVerified(what, result string)
	// Refresh records a refresh token rotated (RefreshRotated) or a
	// rotated one presented again after the grace, which revokes its
	// session (RefreshReuse).
	Refresh(event string)
	// AccountClaimed records an account handed to the first person to
	// prove its address (the claim drops what was set up without it).
	AccountClaimed()
	// SessionView records one session looked up for a token or cookie:
	// cached when the in-process view answered without the store.
	SessionView(cached bool)
}

// Results of an attempt as Observer hears them.
const (
	ResultSuccess   = "success"
	ResultFailure   = "failure"
	ResultThrottled = "throttled"
	ResultError     = "error"
	// ResultAbandoned: the request's context was canceled before the
	// answer, which is a client that went away (a sign-in storm's clients
	// giving up while they wait for a hashing slot), not a fault of ours.
	ResultAbandoned = "abandoned"
)

// Events of Observer.Refresh.
const (
	RefreshRotated = "rotated"
	RefreshReuse   = "reuse_detected"
)

type nopObserver struct{}

func (nopObserver) SignIn(string, string)       {}
func (nopObserver) SignUp(string, string)       {}
func (nopObserver) LimitTripped(string)         {}
func (nopObserver) CodeSent(string, string)     {}
func (nopObserver) CodeVerified(string, string) {}
func (nopObserver) Refresh(string)              {}
func (nopObserver) AccountClaimed()             {}
func (nopObserver) SessionView(bool)            {}

// Deps are the ports a Service works through (see ports.go for how they
// split into durable and short-lived ones).
type Deps struct {
	// Store keeps accounts and sessions (durable).
	Store    Store
	Hasher   PasswordHasher
	Policy   PasswordPolicy
	Signer   TokenSigner
	Throttle Throttle
	Clock    Clock
	Observer Observer
	Logger   *slog.Logger

	// Challenges, Outbox, Messages and SendLimiter are needed by the code,
	// link and recovery flows; without them those flows answer
	// unavailable. Outbox composes messages, Messages queues them.
	Challenges  ChallengeStore
	Outbox      Outbox
	Messages    MessageQueue
	SendLimiter SendLimiter
	// CountryLimiter caps codes by SMS per country calling code (keys
	// "cc:44"), so an SMS-pumping run through many numbers of one
	// country is cut short; nil for no cap.
	CountryLimiter SendLimiter

	// Factors, MFATokens and Sealer enable second factors; Audit keeps
	// their events.
	Factors   FactorStore
	MFATokens MFATokenStore
	Sealer    Sealer
	Audit     AuditStore

	// Revocations carries revocations to the other nodes and theirs to
	// this one; nil for a single node.
	Revocations Revocations

	// Limiter counts second-factor failures per account, wrong codes per
	// client and sends per client and in all (the Config's limits); nil
	// turns those limits off, which only tests of other things should do.
	Limiter Limiter

	// Passkeys, Ceremonies and RelyingParty enable passkeys; without any
	// of them the passkey flows answer unavailable. PasskeyName names a
	// new passkey after its authenticator's model (AAGUID), "" when it
	// does not know it; nil names every new passkey "Passkey".
	Passkeys     PasskeyStore
	Ceremonies   CeremonyStore
	RelyingParty RelyingParty
	PasskeyName  func(aaguid []byte) string

	// Identities keeps the provider identities linked to accounts; without
	// it the provider flows answer unavailable.
	Identities IdentityStore
}

// Service runs the flows. It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	hasher   PasswordHasher
	policy   PasswordPolicy
	signer   TokenSigner
	throttle Throttle
	clock    Clock
	obs      Observer
	log      *slog.Logger
	sessions *sessionCache
	// loads joins concurrent store loads of one uncached session.
	loads singleflight.Group

	challenges  ChallengeStore
	outbox      Outbox
	messages    MessageQueue
	sendLimit   SendLimiter
	ccLimit     SendLimiter
	factors     FactorStore
	mfaTokens   MFATokenStore
	sealer      Sealer
	auditLog    AuditStore
	revocations Revocations
	// live is revocations when it can say it is live, else nil; notLive
	// is how long a view is trusted while it says no (trust).
	live    LiveRevocations
	notLive time.Duration
	limiter Limiter
	// passkeys, ceremonies and rp are all set or all nil (passkeysOn).
	passkeys   PasskeyStore
	ceremonies CeremonyStore
	rp         RelyingParty
	namer      func(aaguid []byte) string
	// identities is nil when provider sign-in is off (identitiesOn).
	identities IdentityStore
	// stopWatch ends the subscription to revocations (Close).
	stopWatch context.CancelFunc

	// host is the public URL's host, for the SMS line that lets a browser
	// on that host fill the code in.
	host string

	// dummyMu guards dummyHash, which is made once it is first needed.
	dummyMu   sync.Mutex
	dummyHash string
}

// New returns a Service. Store, Hasher, Policy, Signer, Throttle and Clock
// are required; an Outbox needs Messages to queue what it composes. With
// Revocations, New subscribes to it until Close.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if d.Store == nil || d.Hasher == nil || d.Policy == nil || d.Signer == nil || d.Throttle == nil || d.Clock == nil {
		return nil, errors.New("auth: a required dependency is missing")
	}
	if d.Outbox != nil && d.Messages == nil {
		return nil, errors.New("auth: an Outbox needs a MessageQueue (Deps.Messages)")
	}
	if len(cfg.SuccessorKey) < 32 {
		return nil, errors.New("auth: SuccessorKey must be at least 32 bytes")
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: d.Store, hasher: d.Hasher, policy: d.Policy, signer: d.Signer,
		throttle: d.Throttle, clock: d.Clock, obs: d.Observer, log: d.Logger,
		sessions:   newSessionCache(100_000),
		challenges: d.Challenges, outbox: d.Outbox, messages: d.Messages, sendLimit: d.SendLimiter, ccLimit: d.CountryLimiter,
		auditLog: d.Audit, revocations: d.Revocations, limiter: d.Limiter, identities: d.Identities,
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		s.host = u.Hostname()
	}
	if d.Factors != nil && d.MFATokens != nil && d.Sealer != nil {
		s.factors, s.mfaTokens, s.sealer = d.Factors, d.MFATokens, d.Sealer
	}
	if d.Passkeys != nil && d.Ceremonies != nil && d.RelyingParty != nil {
		s.passkeys, s.ceremonies, s.rp, s.namer = d.Passkeys, d.Ceremonies, d.RelyingParty, d.PasskeyName
	}
	if l, ok := d.Revocations.(LiveRevocations); ok {
		s.live, s.notLive = l, min(cfg.CacheTTL, revocationBound)
	}
	if d.Revocations != nil {
		ctx, stop := context.WithCancel(context.Background())
		if err := d.Revocations.Watch(ctx, s.heard); err != nil {
			stop()
			return nil, fmt.Errorf("auth: watch revocations: %w", err)
		}
		s.stopWatch = stop
	}
	return s, nil
}

// Config returns the effective configuration (defaults applied); changing
// it changes nothing in s.
func (s *Service) Config() Config { return s.cfg.withDefaults() }

// Client describes where a request came from; it is recorded on sessions and
// keys the per-client limits (the sign-in throttle, wrong codes, sends).
type Client struct {
	IP        string
	UserAgent string
}

// newID answers a UUIDv7: unique, and ordered by creation so IDs double as
// paging cursors.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// dummy answers a hash of a random password, so a sign-in for an unknown
// email costs one full hash just like a wrong password. It is made at the
// first sign-in rather than at start-up (which it would slow by a hash and
// 19 MiB), and every sign-in asks for it, so that first one costs the same
// for known and unknown emails.
//
// A failure (the first caller's context ending while it waits for a hashing
// slot) is not kept: the next sign-in tries again.
func (s *Service) dummy(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummyHash == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		h, err := s.hasher.Hash(ctx, string(b))
		if err != nil {
			return "", err
		}
		s.dummyHash = h
	}
	return s.dummyHash, nil
}

// storeErr wraps a store failure with context; the kind (not found,
// unavailable, …) survives for the caller to map. A store that could not
// answer in time (its own deadline, or a context that ran out) or at all
// becomes errUnavailable, which surfaces as 503 with Retry-After: the
// failure is the backend's, the client may try again, and the error it
// still wraps (for the log) names what failed.
func storeErr(op string, err error) error {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("auth: %s: %w: %w", op, errUnavailable, err)
	}
	return fmt.Errorf("auth: %s: %w", op, err)
}

// errUnavailable is what a client is told when a backend does not answer.
// Retry-After asks it to come back once a short outage (a fail-over, a lock
// pile-up clearing) may be over, rather than retrying at once into a
// database that is struggling.
var errUnavailable = &Error{Kind: KindUnavailable, Message: "A backend is unavailable; try again shortly.", RetryAfter: unavailableRetry}

// unavailableRetry is errUnavailable's Retry-After.
const unavailableRetry = 5 * time.Second

// now answers the time in UTC at the store's precision (microseconds), so
// what a flow answers equals what a later read of the store answers.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }
