// Package gatehouse is an authentication server as a library: New returns
// an http.Handler that serves sign-up, sign-in, sessions, tokens, the check
// endpoint and the admin API. Mount it in any net/http application, or run
// the gatehouse command, a thin CLI around this package.
package gatehouse

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/aaguid"
	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
	"github.com/gatehouse/gatehouse/internal/passkey"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/tracing"
	"github.com/gatehouse/gatehouse/internal/tracing/otlp"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/store/redisstore"
)

// Version is set at build time (-ldflags "-X github.com/gatehouse/gatehouse.Version=…").
var Version = "dev"

// Gatehouse is a running authentication server. It is an http.Handler.
type Gatehouse struct {
	cfg   Config
	log   *slog.Logger
	store *sqlstore.Store
	keys  *token.Keys
	// redis is the shared Redis of a many-node deployment (nil without
	// GATEHOUSE_REDIS_URL).
	redis *redisstore.Client
	auth  *auth.Service
	api   *api.Server
	// pages serves the HTML pages; the guards render their refusals
	// with it.
	pages *web.Server
	// sessions finds who a request is signed in as, for the guards
	// (RequireAuth and the others).
	sessions httpauth.Sessions
	// passkeys is the WebAuthn relying party (nil when the public URL
	// cannot serve passkeys; see Config.passkeySettings).
	passkeys *passkey.RelyingParty
	// access is the access rules in force at /v1/check
	// (GATEHOUSE_ACCESS_RULES_FILE), which ReloadAccessRules replaces.
	access *access.Policy
	// handler is the front door: the shared middleware around the mux
	// that sends each request to the API or to the pages.
	handler http.Handler

	// stop ends the background work (delivery, purging); bg waits for it.
	stop context.CancelFunc
	bg   sync.WaitGroup
	// logs buffers the log lines of a logger New made itself (nil when
	// Config.Logger was given).
	logs *logbuf.Writer
	// tracer is where spans go (nil while tracing is off); ownTracer is
	// the provider New made from the OTEL_* variables, which Close shuts
	// down (nil when Config.TracerProvider was given).
	tracer    trace.TracerProvider
	ownTracer *sdktrace.TracerProvider
}

// New opens storage (migrating it unless cfg.SkipMigrations), loads the
// signing keys and builds the server. Close it when done.
func New(ctx context.Context, cfg Config) (*Gatehouse, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.resolved()
	// Built before anything is opened, so that a relying party the library
	// refuses stops start-up with its line and leaves no file behind.
	rp, err := newRelyingParty(cfg)
	if err != nil {
		return nil, err
	}
	// Read before anything is opened too: a bad rules file stops
	// start-up with one line naming the variable, the file, the rule and
	// the problem.
	rules, err := access.NewPolicy(cfg.AccessRulesFile)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_ACCESS_RULES_FILE: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = auth.SystemClock{}
	}
	if cfg.Secret == "" {
		secret, err := devSecret(cfg.DevSecretFile())
		if err != nil {
			return nil, err
		}
		cfg.Secret = secret
	}
	box, err := seal.New(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_SECRET: %w", err)
	}
	st, err := sqlstore.Open(ctx, cfg.DatabaseURL, sqlstore.Options{Timeout: cfg.StoreTimeout})
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	var logs *logbuf.Writer
	if log == nil {
		logs = logbuf.New(os.Stderr, 64<<10, 100*time.Millisecond)
		log = NewLogger(cfg, logs)
	}
	tp, own, err := tracerProvider(ctx, cfg)
	if err != nil {
		_ = st.Close()
		if logs != nil {
			_ = logs.Close()
		}
		return nil, err
	}
	if tp != nil {
		log = slog.New(tracing.LogHandler(log.Handler()))
	}
	bgctx, stop := context.WithCancel(context.Background())
	g := &Gatehouse{cfg: cfg, log: log, logs: logs, store: st, stop: stop, passkeys: rp, tracer: tp, ownTracer: own, access: rules}
	if err := g.start(ctx, bgctx, box); err != nil {
		_ = g.Close() // what started before the failure must not outlive New
		return nil, err
	}
	return g, nil
}

// start readies the store (migrations, signing keys), builds the flows,
// the API and the pages, and then starts the background work.
//
// The store's part is round trips (a dozen or so with PostgreSQL: the
// migration lock and version check, the keys) and the rest is CPU
// (huma's OpenAPI schemas, the templates), and nothing built reads the
// store, so the two run at once: start-up takes the longer of them rather
// than their sum. The background work (delivery, purging) reads the
// store, so it starts only once the store is ready. A failure of the
// store's part is reported before one of the build's, as when they ran
// one after the other.
func (g *Gatehouse) start(ctx, bgctx context.Context, box *seal.Box) error {
	cfg := g.cfg
	g.keys = token.NewKeys(g.store, box, cfg.Clock, token.Config{
		Issuer: cfg.PublicURL, Audience: cfg.PublicURL, AccessTTL: cfg.AccessTokenTTL,
	})
	stored := make(chan error, 1)
	go func() { stored <- g.readyStore(ctx) }()
	deliver, err := g.build(ctx, box)
	if serr := <-stored; serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	if !cfg.NoDelivery {
		g.background(func() { g.purge(bgctx) })
	}
	if deliver != nil {
		g.background(func() { deliver(bgctx) })
	}
	return nil
}

// readyStore brings the schema up to date (unless Config.SkipMigrations)
// and loads the signing keys.
func (g *Gatehouse) readyStore(ctx context.Context) error {
	if !g.cfg.SkipMigrations {
		if err := g.store.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := g.keys.Load(ctx); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	return nil
}

// build makes the flows, the API, the pages and the front door around
// them without reading the store, and returns the delivery worker's loop
// for start to run once the store is ready (nil when nothing is
// delivered).
func (g *Gatehouse) build(ctx context.Context, box *seal.Box) (deliver func(context.Context), err error) {
	cfg := g.cfg
	metrics := api.NewMetrics()
	if err := g.share(ctx, metrics); err != nil {
		return nil, err
	}
	for role, db := range g.store.Pools() {
		metrics.WatchDB(role, db)
	}
	metrics.WatchOutbox(g.store.OutboxStats, cfg.Clock.Now)
	hashing := password.DefaultParams
	if cfg.CheapPasswordHashing { // tests only; Validate refused it elsewhere
		hashing = cheapHashing
	}
	// Each hash allocates its block array afresh (hashing.Memory, 19 MiB).
	// When sign-ins stop, nothing else allocates enough to start a garbage
	// collection, so a storm's arrays would stay resident for minutes;
	// once hashing has been quiet for hashQuiet, collect and give them
	// back to the OS: one collection per burst, far less than one hash
	// costs. (Cheap test hashes allocate nothing worth it.) In a process
	// with a memory limit (gatehouse serve sets one), every hash also
	// collects before handing its slot on (password.Hasher.AfterEach
	// says why), so the heap holds the arrays in use and not garbage
	// arrays the last goal made room for; an app without a limit keeps
	// its own collector's pace.
	hasher := password.New(hashing, 0).OnWait(metrics.HashWaited)
	if !cfg.CheapPasswordHashing {
		hasher.AfterBurst(hashQuiet, debug.FreeOSMemory)
		if debug.SetMemoryLimit(-1) != math.MaxInt64 {
			hasher.AfterEach(runtime.GC)
		}
	}
	deps := auth.Deps{
		Store: g.store, Hasher: hasher, Policy: password.DefaultPolicy,
		Signer: g.keys, Throttle: throttle.NewMemory(cfg.Clock, throttle.Config{}), Clock: cfg.Clock,
		Observer: metrics, Logger: g.log,
		Factors: g.store, MFATokens: g.store, Sealer: box, Audit: g.store,
		Limiter:    throttle.NewLimiter(cfg.Clock, 0),
		Identities: g.store,
	}
	if cfg.MailURL != "" || cfg.SMSURL != "" {
		var outbox *notify.Outbox
		outbox, deliver, err = g.delivery(box, metrics)
		if err != nil {
			return nil, err
		}
		// Codes stay in the SQL store beside their outbox message, which
		// it writes in the same transaction (auth.ChallengeMessagePutter).
		deps.Challenges, deps.Outbox, deps.Messages = g.store, outbox, g.store
		deps.SendLimiter = throttle.NewWindow(cfg.Clock, throttle.DefaultSendLimits, 0)
		if cfg.SMSCountryHourlyLimit > 0 {
			deps.CountryLimiter = throttle.NewWindow(cfg.Clock, g.countryLimits(), 0)
		}
	}
	if g.passkeys != nil {
		// Only a relying party that exists: a nil *passkey.RelyingParty
		// in the interface would look wired.
		deps.Passkeys, deps.Ceremonies, deps.RelyingParty = g.store, g.store, g.passkeys
		deps.PasskeyName = func(id []byte) string {
			name, _ := aaguid.Name(id)
			return name
		}
	}
	g.sharedCounters(&deps)
	svc, err := auth.New(auth.Config{
		AccessTokenTTL: cfg.AccessTokenTTL, RefreshTokenTTL: cfg.RefreshTokenTTL, SessionTTL: cfg.SessionTTL,
		RefreshGrace: cfg.RefreshGrace, SuccessorKey: box.Key("refresh-successor"),
		OTPLength: cfg.OTPLength, OTPTTL: cfg.OTPTTL, OTPMaxAttempts: cfg.OTPMaxAttempts, MagicLinkTTL: cfg.MagicLinkTTL,
		PasswordlessSignup: new(cfg.PasswordlessSignup), RequireVerifiedEmail: cfg.RequireVerifiedEmail, PublicURL: cfg.PublicURL, AllowedRedirects: cfg.AllowedRedirects,
		CodeKey: box.Key("otp-code"), AppName: cfg.AppName, LinkURL: linkURL(cfg.PublicURL),
		Email: new(cfg.MailURL != ""), SMS: cfg.SMSURL != "", SMSRegions: cfg.SMSAllowedCountries,
		MFAFailureLimit: cfg.MFAFailureLimit, ClientCodeFailureLimit: cfg.ClientCodeFailureLimit,
		ClientSendLimit: cfg.ClientSendLimit, GlobalSendLimit: cfg.GlobalSendLimit, ClientCeremonyLimit: cfg.ClientCeremonyLimit,
	}, deps)
	if err != nil {
		return nil, err
	}
	g.auth = svc
	cookies := httpauth.CookiePolicy{Name: cfg.SessionCookieName, Insecure: cfg.Dev && isLocalHTTP(cfg.PublicURL), Domain: cfg.CookieDomain}
	g.sessions = httpauth.Sessions{Auth: svc, Cookies: cookies}
	providers, err := newProviders(cfg)
	if err != nil {
		return nil, err
	}
	logProviders(ctx, g.log, providers)
	if cfg.AccessRulesFile != "" {
		g.log.InfoContext(ctx, "access rules in force", "file", cfg.AccessRulesFile, "rules", g.access.Rules().Len())
	}
	g.api, err = api.New(api.Options{
		Auth: svc, Keys: g.keys, Store: g.store, Clock: cfg.Clock, Metrics: metrics, Logger: g.log,
		Redis: g.redisHealth(), Issuer: cfg.PublicURL, AdminAPIKey: cfg.AdminAPIKey, Cookies: cookies,
		TrustedOrigins: cfg.CORSOrigins, Version: Version,
		Messages: g.store, Audit: g.store, ForwardAuthRedirect: cfg.ForwardAuthRedirect,
		SignInURL: cfg.PublicURL + "/login", StepUpURL: cfg.PublicURL + "/step-up", Providers: apiProviders(providers),
		Access: g.access,
	})
	if err != nil {
		return nil, err
	}
	pages, err := web.New(web.Options{
		Auth: svc, AppName: cfg.AppName, PublicURL: cfg.PublicURL, BasePath: cfg.BasePath(), Cookies: cookies,
		AllowedRedirects: cfg.AllowedRedirects, Admin: g.store, Logger: g.log, APIDocs: apiDocs(g.api, cfg.BasePath()),
		Providers: webProviders(providers), Sealer: box, Now: cfg.Clock.Now,
	})
	if err != nil {
		return nil, err
	}
	g.pages = pages
	proxies, err := httpauth.NewProxies(cfg.TrustedProxies, g.log, cfg.Clock.Now)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_TRUSTED_PROXIES: %w", err)
	}
	g.handler, err = frontDoor(g.api, pages, metrics, g.log, trustedOrigins(cfg), proxies, cfg.BasePath())
	if err != nil {
		return nil, err
	}
	if g.tracer != nil {
		g.handler = tracing.Handler(g.tracer, g.handler)
	}
	return deliver, nil
}

// tracerProvider answers where spans go: Config.TracerProvider, else one
// made from the OTEL_* variables (own, for Close to shut down), else nil
// (tracing is off and costs nothing).
func tracerProvider(ctx context.Context, cfg Config) (tp trace.TracerProvider, own *sdktrace.TracerProvider, err error) {
	if cfg.TracerProvider != nil {
		return cfg.TracerProvider, nil, nil
	}
	own, err = otlp.New(ctx, os.Getenv, Version)
	if err != nil || own == nil {
		return nil, nil, err
	}
	return own, own, nil
}

// countryLimits is the cap on codes by SMS per country calling code.
func (g *Gatehouse) countryLimits() []throttle.Limit {
	return []throttle.Limit{{N: g.cfg.SMSCountryHourlyLimit, Per: time.Hour}}
}

// delivery builds the outbox the flows write to and, unless NoDelivery,
// the worker that delivers from it by email and SMS: deliver is its loop,
// which reads the store, for start to run once the store is ready (nil
// under NoDelivery).
func (g *Gatehouse) delivery(box *seal.Box, metrics *api.Metrics) (outbox *notify.Outbox, deliver func(context.Context), err error) {
	cfg := g.cfg
	tpl, err := notify.NewTemplates(cfg.TemplatesDir, cfg.AppName)
	if err != nil {
		return nil, nil, fmt.Errorf("GATEHOUSE_TEMPLATES_DIR: %w", err)
	}
	var mailer notify.Sender
	if cfg.MailURL != "" {
		if mailer, err = mail.New(cfg.MailURL, cfg.MailFrom, mail.Options{
			Console: cfg.Console, PostmarkAPIURL: cfg.PostmarkAPIURL, TLSConfig: cfg.MailTLS,
			MaxIdleConns: cfg.DeliveryConcurrency,
		}); err != nil {
			return nil, nil, err
		}
	}
	var texter notify.SMSSender
	if cfg.SMSURL != "" {
		if texter, err = sms.New(cfg.SMSURL, sms.Options{Console: cfg.Console, TwilioAPIURL: cfg.TwilioAPIURL}); err != nil {
			return nil, nil, err
		}
	}
	outbox = notify.NewOutbox(tpl, box, cfg.Clock)
	if cfg.NoDelivery {
		return outbox, nil, nil
	}
	worker, err := notify.NewWorker(notify.WorkerConfig{
		Store: g.store, Box: box, Sender: mailer, SMS: texter, Clock: cfg.Clock, Logger: g.log, Wake: outbox.Wakeups(),
		Batch: cfg.DeliveryBatch, Concurrency: cfg.DeliveryConcurrency,
		// A code older than this is useless to its reader: stop retrying.
		MaxAge:  time.Hour,
		Observe: metrics.Delivered, Tracer: g.tracer,
	})
	if err != nil {
		return nil, nil, err
	}
	deliver = func(bgctx context.Context) {
		if err := worker.Run(bgctx); err != nil {
			g.log.Error("delivery worker stopped", "err", err)
		}
		// The SMTP sender keeps connections open between messages.
		if c, ok := mailer.(io.Closer); ok {
			_ = c.Close()
		}
	}
	return outbox, deliver, nil
}

// background runs fn in a goroutine that Close waits for.
func (g *Gatehouse) background(fn func()) {
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		fn()
	}()
}

// hashQuiet is how long password hashing must be quiet after a burst
// before New's hasher returns the burst's memory to the OS.
const hashQuiet = 10 * time.Second

// cheapHashing is the smallest argon2id cost package password accepts, for
// Config.CheapPasswordHashing.
var cheapHashing = password.Params{Memory: 8, Iterations: 1, Parallelism: 1}

// Retention of what Purge deletes: dead challenges, MFA tokens, stale
// enrolments and ended sessions after a day; delivered messages (admins
// look at them) and rotated refresh tokens (a replay of one revokes its
// session) after a week.
const (
	purgeEvery    = time.Hour
	purgeAfter    = 24 * time.Hour
	purgeKeepWeek = 7 * 24 * time.Hour
)

// purge deletes dead rows every hour (and soon after start), so tables stay
// the size of what is live.
func (g *Gatehouse) purge(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := g.cfg.Clock.Now()
		if n, err := g.store.Purge(ctx, now.Add(-purgeAfter), now.Add(-purgeKeepWeek)); err != nil {
			g.log.Warn("purge", "err", err)
		} else if n > 0 {
			g.log.Info("purged dead rows", "rows", n)
		}
		t.Reset(purgeEvery)
	}
}

// ReloadAccessRules reads the access rules file
// (GATEHOUSE_ACCESS_RULES_FILE) again and puts its rules in force for the
// checks that follow; a check sees the old rules or the new, never a mix.
// A bad or missing file changes nothing: the rules in force stay, an
// error line is logged, and the error (naming the file, the rule and the
// problem) is returned. Without a rules file it does nothing. `gatehouse
// serve` calls it on SIGHUP.
func (g *Gatehouse) ReloadAccessRules() error {
	rs, err := g.access.Reload()
	if err != nil {
		g.log.Error("access rules not reloaded", "err", err, "rules", rs.Len())
		return fmt.Errorf("GATEHOUSE_ACCESS_RULES_FILE: %w", err)
	}
	if g.cfg.AccessRulesFile != "" {
		g.log.Info("access rules reloaded", "file", g.cfg.AccessRulesFile, "rules", rs.Len())
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (g *Gatehouse) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Handler returns g as an http.Handler (docs/contract.md names it so).
func (g *Gatehouse) Handler() http.Handler { return g }

// Auth returns the flows, for the CLI and for programs embedding Gatehouse.
func (g *Gatehouse) Auth() *auth.Service { return g.auth }

// Keys returns the signing key set (rotate, list).
func (g *Gatehouse) Keys() *token.Keys { return g.keys }

// Config returns the effective configuration.
func (g *Gatehouse) Config() Config { return g.cfg }

// Logger returns the logger every part of g writes to.
func (g *Gatehouse) Logger() *slog.Logger { return g.log }

// Close stops the background work (a message being sent is left to
// another worker or the next start) and releases storage.
func (g *Gatehouse) Close() error {
	if g.auth != nil {
		g.auth.Close()
	}
	g.stop()
	g.bg.Wait()
	if g.redis != nil {
		_ = g.redis.Close()
	}
	err := g.store.Close()
	if g.ownTracer != nil {
		// Flush the spans still batched, within a bound: a collector that
		// is down must not hold the shutdown.
		ctx, cancel := context.WithTimeout(context.Background(), tracerShutdownTimeout)
		if terr := g.ownTracer.Shutdown(ctx); terr != nil {
			g.log.Warn("tracing: flush spans at shutdown", "err", terr)
		}
		cancel()
	}
	if g.logs != nil {
		_ = g.logs.Close()
	}
	return err
}

// tracerShutdownTimeout bounds the flush of spans at Close.
const tracerShutdownTimeout = 5 * time.Second

// User is who a request that a guard (RequireAuth, RequireAAL2,
// RequireRole) let through is signed in as. It is a plain copy: nothing an
// application does with it reaches Gatehouse's own view of the session.
type User struct {
	// ID is the user's id, the sub of their access tokens.
	ID    string
	Email string
	Name  string
	// SessionID names the session the request came with.
	SessionID string
	// AAL is the session's assurance level: "aal1", or "aal2" after a
	// second factor.
	AAL string
	// AMR lists the methods the session was signed in with ("pwd", "otp",
	// "link", "totp", ...).
	AMR []string
	// Roles lists the user's roles, sorted; "admin" (RoleAdmin) is the
	// administrators'.
	Roles []string
}

type userKey struct{}

// RequireAuth lets through only requests signed in with a Bearer access
// token or the session cookie, and makes the user available to h through
// UserFrom. A browser asking for a page (GET or HEAD with text/html in its
// Accept, and no Authorization header) without a live session is sent to
// the sign-in page with a 303, and comes back to the page it asked for
// when that address passes GATEHOUSE_ALLOWED_REDIRECTS (a path on
// Gatehouse's host always does). Others get a 401 problem, as the API
// answers; a store that is down is a 503 problem.
func (g *Gatehouse) RequireAuth(h http.Handler) http.Handler {
	return g.guard(h, nil)
}

// UserFrom returns who a request passed by a guard is signed in as, and
// false for a request that did not pass through one. Each call returns its
// own copy.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	u.AMR = slices.Clone(u.AMR)
	u.Roles = slices.Clone(u.Roles)
	return u, ok
}

// NewLogger builds the logger cfg describes: JSON lines, or readable text
// in dev mode.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" || (cfg.LogFormat == "" && cfg.Dev) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(newJSONLines(w, opts))
}

// devSecret returns the secret dev mode keeps in the data folder (beside
// the SQLite file), generating it on first start, so sessions and keys
// survive restarts without any setting.
func devSecret(path string) (string, error) {
	dir := filepath.Dir(path)
	b, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= 32 {
			return s, nil
		}
		return "", fmt.Errorf("GATEHOUSE_SECRET: dev secret file %s is too short; delete it to have a new one made", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("GATEHOUSE_SECRET: read dev secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("GATEHOUSE_SECRET: create data folder: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("GATEHOUSE_SECRET: write dev secret: %w", err)
	}
	return s, nil
}

// linkURL returns where an emailed link leads: the page at /v1/verify that
// consumes it (GET shows a button, the button's POST signs in).
func linkURL(publicURL string) func(token string) string {
	return func(token string) string { return publicURL + "/v1/verify?token=" + url.QueryEscape(token) }
}

// isLocalHTTP reports a plain-http localhost origin, where browsers drop
// cookies marked Secure.
// newRelyingParty builds the passkeys' relying party of cfg, or nil when
// the public URL cannot serve passkeys.
func newRelyingParty(cfg Config) (*passkey.RelyingParty, error) {
	rpID, origins, on, err := cfg.passkeySettings()
	if err != nil || !on {
		return nil, err
	}
	rp, err := passkey.New(rpID, cfg.AppName, origins)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_WEBAUTHN_RP_ID, GATEHOUSE_WEBAUTHN_ORIGINS: %w", err)
	}
	return rp, nil
}

func isLocalHTTP(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// Migrate brings the database schema of cfg up to date and closes it.
func Migrate(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := sqlstore.Open(ctx, cfg.DatabaseURL, sqlstore.Options{Timeout: cfg.StoreTimeout})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}
