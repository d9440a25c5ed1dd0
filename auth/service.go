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

// Config holds the flow settings; zero fields take the defaults of API.md.
type Config struct {
	// AccessTokenTTL is how long an access token is valid (15m).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a sign-in (720h): no
	// session or refresh token outlives it, however often it is used.
	RefreshTokenTTL time.Duration
	// SessionTTL is the sliding idle timeout (168h): a session unused for
	// this long ends.
	SessionTTL time.Duration
	// RefreshGrace is how long after a rotation a replay of the old refresh
	// token answers the same successor instead of revoking the session (10s).
	RefreshGrace time.Duration
	// SuccessorKey derives refresh-token successors (see opaque.Derive); it
	// must be the same on every node, so it comes from the server secret.
	SuccessorKey []byte
	// CacheTTL bounds how long this node trusts its in-process view of a
	// session before asking the store again (2s). Revocations made on this
	// node take effect at once; the TTL bounds staleness from other nodes.
	CacheTTL time.Duration

	// OTPLength is the number of digits of a one-time code (6).
	OTPLength int
	// OTPTTL is how long a code is valid (5m).
	OTPTTL time.Duration
	// OTPMaxAttempts is how many wrong codes kill a challenge (5).
	OTPMaxAttempts int
	// MagicLinkTTL is how long a link is valid (15m).
	MagicLinkTTL time.Duration
	// NoPasswordlessSignup stops codes and links from creating accounts:
	// unknown addresses then get the same answer and no message.
	NoPasswordlessSignup bool
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
	// AppName is the issuer shown in authenticator apps.
	AppName string

	// NoEmail turns the email flows off (they answer unavailable) while
	// the outbox serves SMS: no mail sender is configured.
	NoEmail bool
	// SMS turns the SMS flows on: an SMS sender is configured.
	SMS bool
	// SMSRegions, when not empty, are the only countries (ISO 3166-1
	// alpha-2, upper case) whose numbers may receive a code; any other
	// number is refused as invalid (SMS pumping usually targets far-away
	// premium ranges).
	SMSRegions []string
}

func (c *Config) defaults() {
	if c.LinkURL == nil {
		base := c.PublicURL
		c.LinkURL = func(token string) string { return base + "?token=" + url.QueryEscape(token) }
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 15 * time.Minute
	}
	if c.RefreshTokenTTL <= 0 {
		c.RefreshTokenTTL = 720 * time.Hour
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 168 * time.Hour
	}
	if c.RefreshGrace <= 0 {
		c.RefreshGrace = 10 * time.Second
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 2 * time.Second
	}
	if c.OTPLength <= 0 {
		c.OTPLength = 6
	}
	if c.OTPTTL <= 0 {
		c.OTPTTL = 5 * time.Minute
	}
	if c.OTPMaxAttempts <= 0 {
		c.OTPMaxAttempts = 5
	}
	if c.MagicLinkTTL <= 0 {
		c.MagicLinkTTL = 15 * time.Minute
	}
	if c.AppName == "" {
		c.AppName = "Gatehouse"
	}
}

// Observer hears about outcomes worth counting (metrics); it must not block.
type Observer interface {
	// SignIn records one sign-in attempt by method ("password",
	// "refresh_token", …) with result "success", "failure", "throttled" or
	// "error".
	SignIn(method, result string)
}

type nopObserver struct{}

func (nopObserver) SignIn(string, string) {}

// Deps are the ports a Service works through.
type Deps struct {
	Store    Store
	Hasher   PasswordHasher
	Policy   PasswordPolicy
	Signer   TokenSigner
	Throttle Throttle
	Clock    Clock
	Observer Observer
	Logger   *slog.Logger

	// Challenges, Outbox and SendLimiter are needed by the code, link and
	// recovery flows; without them those flows answer unavailable.
	Challenges  ChallengeStore
	Outbox      Outbox
	SendLimiter SendLimiter
	// CountryLimiter caps codes by SMS per country calling code (keys
	// "cc:44"), so an SMS-pumping run through many numbers of one
	// country is cut short; nil for no cap.
	CountryLimiter SendLimiter

	// Factors and Sealer enable second factors; Audit keeps their events.
	Factors FactorStore
	Sealer  Sealer
	Audit   AuditStore
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

	challenges ChallengeStore
	outbox     Outbox
	sendLimit  SendLimiter
	ccLimit    SendLimiter
	factors    FactorStore
	sealer     Sealer
	auditLog   AuditStore

	// host is the public URL's host, for the SMS line that lets a browser
	// on that host fill the code in.
	host string

	// dummyMu guards dummyHash, which is made once it is first needed.
	dummyMu   sync.Mutex
	dummyHash string
}

// New answers a Service; every port in d is required except Observer and
// Logger.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.defaults()
	if d.Store == nil || d.Hasher == nil || d.Policy == nil || d.Signer == nil || d.Throttle == nil || d.Clock == nil {
		return nil, errors.New("auth: a required dependency is missing")
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
		challenges: d.Challenges, outbox: d.Outbox, sendLimit: d.SendLimiter, ccLimit: d.CountryLimiter,
		auditLog: d.Audit,
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		s.host = u.Hostname()
	}
	if d.Factors != nil && d.Sealer != nil {
		s.factors, s.sealer = d.Factors, d.Sealer
	}
	return s, nil
}

// Config answers the effective configuration (defaults applied).
func (s *Service) Config() Config { return s.cfg }

// Client describes where a request came from; it is recorded on sessions and
// keys the per-address sign-in throttle.
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
// unavailable, …) survives for the caller to map.
func storeErr(op string, err error) error {
	return fmt.Errorf("auth: %s: %w", op, err)
}

// now answers the time in UTC at the store's precision (microseconds), so
// what a flow answers equals what a later read of the store answers.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }
