package gatehouse

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/passkey"
	"github.com/gatehouse/gatehouse/internal/phone"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// Config is everything Gatehouse can be told. The environment names are the
// contract of docs/contract.md ("Configuration"); LoadConfig reads them.
//
// Every setting has one default, written once, in the package that uses
// it: auth.DefaultConfig for the lifetimes, the codes and sign-up; the mail
// and SMS senders for their providers' API URLs; httpauth for the
// cookie name; this file (DefaultConfig) for what only the server uses
// (address, public and database URLs, the SMS country cap, the forward-auth
// redirect, logging). The rule: DefaultConfig gathers them, LoadConfig
// starts from DefaultConfig and replaces what the environment sets, and no
// struct tag holds a default. So a Config built in code starts from
// DefaultConfig as well: a zero field is a value, not "the default", and
// Validate reports those that cannot be zero.
//
// The settings derived from others (MailFrom and AllowedRedirects from the
// public URL, console senders in dev mode, the __Host- cookie prefix over
// https) stay empty in DefaultConfig; New fills them from the settings it
// is given, so changing PublicURL after DefaultConfig leaves no stale one.
type Config struct {
	// Addr is where `gatehouse serve` listens.
	Addr string `env:"GATEHOUSE_ADDR"`
	// PublicURL is how browsers and other apps reach Gatehouse: the tokens'
	// issuer and the base of links in messages. Its path, when it has one
	// (https://app.example.com/auth), is the prefix Gatehouse is mounted
	// under: every page, link, redirect and API route is under it (see
	// BasePath).
	PublicURL string `env:"GATEHOUSE_PUBLIC_URL"`
	// DatabaseURL is `sqlite:PATH` (embedded, the default) or `postgres://…`.
	DatabaseURL string `env:"GATEHOUSE_DATABASE_URL"`
	// StoreTimeout is the deadline of every database call, the wait for a
	// pooled connection included: past it the request answers 503 with
	// Retry-After instead of hanging on a database that does not answer.
	StoreTimeout time.Duration `env:"GATEHOUSE_STORE_TIMEOUT"`
	// RedisURL moves codes, rate limits and the session cache to Redis.
	RedisURL string `env:"GATEHOUSE_REDIS_URL"`
	// Secret seals secrets at rest (signing keys) and keys HMACs; required
	// outside dev mode, at least 32 characters, the same on every node.
	Secret string `env:"GATEHOUSE_SECRET"`
	// AdminAPIKey turns the admin API on.
	AdminAPIKey string `env:"GATEHOUSE_ADMIN_API_KEY"`
	// Dev is development mode: a generated secret kept beside the database,
	// cookies without Secure on http://localhost, readable text logs.
	Dev bool `env:"GATEHOUSE_DEV"`

	AccessTokenTTL  time.Duration `env:"GATEHOUSE_ACCESS_TOKEN_TTL"`
	RefreshTokenTTL time.Duration `env:"GATEHOUSE_REFRESH_TOKEN_TTL"`
	// RefreshGrace is how long a just-rotated refresh token may be replayed
	// by a concurrent client and answered with the same successor.
	RefreshGrace time.Duration `env:"GATEHOUSE_REFRESH_GRACE"`
	// SessionTTL is the sliding idle timeout of a session.
	SessionTTL        time.Duration `env:"GATEHOUSE_SESSION_TTL"`
	SessionCookieName string        `env:"GATEHOUSE_SESSION_COOKIE_NAME"`
	// CookieDomain, when set, makes the session cookie the parent
	// domain's (example.com for auth.example.com), so one sign-in covers
	// every app under it behind the proxy; unset, the cookie is this
	// host's alone.
	CookieDomain string `env:"GATEHOUSE_COOKIE_DOMAIN"`
	// CORSOrigins are browser apps' origins trusted to make cross-origin
	// calls.
	CORSOrigins []string `env:"GATEHOUSE_CORS_ORIGINS" envSeparator:","`
	// TrustedProxies are the reverse proxies (CIDRs, or single addresses)
	// whose X-Forwarded-For names the client for the limits, the audit and
	// the sessions. From any other peer the header is ignored.
	TrustedProxies []string `env:"GATEHOUSE_TRUSTED_PROXIES" envSeparator:","`
	// TLSTerminatedByProxy says browsers reach Gatehouse over https
	// although PublicURL is http (TLS ends at a proxy in front of us), so a
	// Secure session cookie comes back. Outside dev mode an http PublicURL
	// other than localhost is refused without it.
	TLSTerminatedByProxy bool `env:"GATEHOUSE_TLS_TERMINATED_BY_PROXY"`
	// WebAuthnRPID is the passkeys' relying party ID: the public URL's
	// host (derived), or a parent domain of it so that passkeys also work
	// on sibling sites. It cannot change once users have passkeys: theirs
	// are bound to it.
	WebAuthnRPID string `env:"GATEHOUSE_WEBAUTHN_RP_ID"`
	// WebAuthnOrigins are origins accepted for passkeys besides the public
	// URL's: https sites under the RP ID, and apps
	// (android:apk-key-hash:…).
	WebAuthnOrigins []string `env:"GATEHOUSE_WEBAUTHN_ORIGINS" envSeparator:","`

	// MailURL chooses the email sender: console: (the dev default: print
	// messages), smtp://user:pass@host:port (STARTTLS required; ?tls=none
	// for a local relay), smtps://… (implicit TLS) or postmark://TOKEN.
	// Unset outside dev mode: codes, links and recovery answer 503.
	MailURL string `env:"GATEHOUSE_MAIL_URL"`
	// MailFrom is the sender address (no-reply@<public host>).
	MailFrom string `env:"GATEHOUSE_MAIL_FROM"`
	// PostmarkAPIURL overrides Postmark's API base URL (tests).
	PostmarkAPIURL string `env:"GATEHOUSE_POSTMARK_API_URL"`
	// SMSURL chooses the SMS sender: console: (the dev default) or
	// twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+15550100 (or
	// ?messaging_service_sid=MG…). Unset outside dev mode: SMS codes
	// answer 503.
	SMSURL string `env:"GATEHOUSE_SMS_URL"`
	// TwilioAPIURL overrides Twilio's API base URL (tests).
	TwilioAPIURL string `env:"GATEHOUSE_TWILIO_API_URL"`
	// SMSAllowedCountries, when set, are the only countries (ISO 3166-1
	// alpha-2, e.g. US,CA,GB) whose numbers may get codes.
	SMSAllowedCountries []string `env:"GATEHOUSE_SMS_ALLOWED_COUNTRIES" envSeparator:","`
	// SMSCountryHourlyLimit caps codes by SMS per country calling code per
	// hour on each node, against SMS pumping; 0 turns the cap off.
	SMSCountryHourlyLimit int `env:"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT"`
	// DeliveryConcurrency bounds the messages a node sends at once, and so
	// its connections to the mail server (a relay may allow only a few).
	DeliveryConcurrency int `env:"GATEHOUSE_DELIVERY_CONCURRENCY"`
	// DeliveryBatch is how many due messages a node claims from the outbox
	// at once (the lease of a claim stretches to fit its sends).
	DeliveryBatch int `env:"GATEHOUSE_DELIVERY_BATCH"`
	// AppName is the product name in messages and pages.
	AppName string `env:"GATEHOUSE_APP_NAME"`
	// TemplatesDir holds message templates that replace the embedded ones.
	TemplatesDir string `env:"GATEHOUSE_TEMPLATES_DIR"`

	OTPLength      int           `env:"GATEHOUSE_OTP_LENGTH"`
	OTPTTL         time.Duration `env:"GATEHOUSE_OTP_TTL"`
	OTPMaxAttempts int           `env:"GATEHOUSE_OTP_MAX_ATTEMPTS"`
	MagicLinkTTL   time.Duration `env:"GATEHOUSE_MAGIC_LINK_TTL"`
	// The limits counted over an hour (auth.Config has what each bounds):
	// wrong second-factor codes per account, wrong codes per client
	// address across accounts, messages asked for per client address, and
	// messages sent by the server in all.
	MFAFailureLimit        int `env:"GATEHOUSE_MFA_FAILURE_LIMIT"`
	ClientCodeFailureLimit int `env:"GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT"`
	ClientSendLimit        int `env:"GATEHOUSE_CLIENT_SEND_LIMIT"`
	GlobalSendLimit        int `env:"GATEHOUSE_GLOBAL_SEND_LIMIT"`
	// ClientCeremonyLimit is how many passkey ceremonies (sign-in,
	// sign-up, second step) one client address may begin in a minute.
	ClientCeremonyLimit int `env:"GATEHOUSE_CLIENT_CEREMONY_LIMIT"`
	// AllowedRedirects are the origins a magic link may send the browser
	// back to (the public URL's origin when unset).
	AllowedRedirects []string `env:"GATEHOUSE_ALLOWED_REDIRECTS" envSeparator:","`
	// PasswordlessSignup lets a code or link create the account of an
	// unknown address.
	PasswordlessSignup bool `env:"GATEHOUSE_PASSWORDLESS_SIGNUP"`
	// RequireVerifiedEmail refuses a password sign-in until the account's
	// email is proven (403 email_unverified; a fresh code and link go out).
	RequireVerifiedEmail bool `env:"GATEHOUSE_REQUIRE_VERIFIED_EMAIL"`
	// ForwardAuthRedirect sends a browser that a proxy forwards to
	// /v1/check without a live session to the sign-in page (302, or 401
	// with Location for nginx) instead of a bare 401; API clients always
	// get 401.
	ForwardAuthRedirect bool `env:"GATEHOUSE_FORWARD_AUTH_REDIRECT"`
	// AccessRulesFile names the YAML file of access rules that /v1/check
	// applies to the forwarded host and path (docs/forward-auth.md,
	// "Access rules"); unset, being signed in is enough everywhere. New
	// reads it, and a bad file stops start-up; ReloadAccessRules (SIGHUP
	// in `gatehouse serve`) reads it again.
	AccessRulesFile string `env:"GATEHOUSE_ACCESS_RULES_FILE"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"GATEHOUSE_LOG_LEVEL"`
	// LogFormat is text or json (json is the default outside dev mode).
	LogFormat string `env:"GATEHOUSE_LOG_FORMAT"`
	// SkipMigrations leaves the schema alone at start-up (run `gatehouse
	// migrate` yourself).
	SkipMigrations bool `env:"GATEHOUSE_SKIP_MIGRATIONS"`

	// NoDelivery leaves background work to other processes: no worker
	// sends messages and no hourly purge deletes dead rows from this one
	// (short-lived commands, or nodes that only answer HTTP).
	NoDelivery bool `env:"-"`
	// Console receives console: messages (standard output when nil).
	Console io.Writer `env:"-"`
	// MailTLS is the base TLS configuration of SMTP connections (tests
	// trust their own certificate with it).
	MailTLS *tls.Config `env:"-"`
	// RedisPrefix starts every key and channel in Redis ("gatehouse:" when
	// empty): two deployments, or tests running in parallel, may then
	// share one Redis without sharing counters.
	RedisPrefix string `env:"-"`

	// CheapPasswordHashing hashes new passwords with argon2id at its
	// cheapest cost (8 KiB, one pass) instead of OWASP's 19 MiB and two
	// passes. It is for tests, which hash hundreds of passwords and would
	// otherwise spend most of their time (and memory) in argon2. Such
	// hashes fall to an offline guess in no time, so Validate refuses the
	// setting outside dev mode and test binaries, and no environment
	// variable sets it. Hashes keep their parameters: a server started
	// without it verifies them and upgrades each at its next sign-in.
	CheapPasswordHashing bool `env:"-"`
	// Clock, when set, replaces the system clock (tests).
	Clock auth.Clock `env:"-"`
	// Logger, when set, receives every log line instead of one built from
	// LogLevel and LogFormat.
	Logger *slog.Logger `env:"-"`
	// TracerProvider, when set, is where Gatehouse's spans go (an
	// embedding application's own OpenTelemetry provider; Close leaves it
	// running). When nil, tracing follows the standard OTEL_* variables:
	// off unless OTEL_EXPORTER_OTLP_ENDPOINT,
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER=otlp is
	// set, then exported by OTLP over HTTP (docs/operations.md).
	TracerProvider trace.TracerProvider `env:"-"`

	// OAuth are the providers people may sign in with, one per
	// GATEHOUSE_OAUTH_<NAME>_CLIENT_ID (LoadConfig reads them with the
	// rest of the environment); none by default.
	OAuth []oauth.Config `env:"-"`
	// OAuthHTTPClient, when set, carries every request to the providers
	// (a proxy, a custom CA); it should have a timeout.
	OAuthHTTPClient *http.Client `env:"-"`
	// OAuthOptions, by provider name, change how a provider is built
	// (tests point a provider at a fake with them).
	OAuthOptions map[string][]oauth.Option `env:"-"`
}

// DefaultConfig returns the configuration of an empty environment, each
// default taken from the package that owns it; only Secret (or Dev) is
// left to set. Derived settings stay empty (see Config).
func DefaultConfig() Config {
	a := auth.DefaultConfig()
	return Config{
		Addr:         "localhost:3000",
		PublicURL:    "http://localhost:3000",
		DatabaseURL:  "sqlite:gatehouse.db",
		StoreTimeout: sqlstore.DefaultTimeout,

		AccessTokenTTL:    a.AccessTokenTTL,
		RefreshTokenTTL:   a.RefreshTokenTTL,
		RefreshGrace:      a.RefreshGrace,
		SessionTTL:        a.SessionTTL,
		SessionCookieName: httpauth.DefaultCookieName,

		PostmarkAPIURL: mail.DefaultPostmarkAPIURL,
		TwilioAPIURL:   sms.DefaultTwilioAPIURL,
		// Against SMS pumping: enough for a busy country, far below what a
		// pumping run needs to pay off.
		SMSCountryHourlyLimit: 100,
		DeliveryConcurrency:   notify.DefaultConcurrency,
		DeliveryBatch:         notify.DefaultBatch,
		AppName:               a.AppName,

		OTPLength:          a.OTPLength,
		OTPTTL:             a.OTPTTL,
		OTPMaxAttempts:     a.OTPMaxAttempts,
		MagicLinkTTL:       a.MagicLinkTTL,
		PasswordlessSignup: *a.PasswordlessSignup,

		MFAFailureLimit:        a.MFAFailureLimit,
		ClientCodeFailureLimit: a.ClientCodeFailureLimit,
		ClientSendLimit:        a.ClientSendLimit,
		GlobalSendLimit:        a.GlobalSendLimit,
		ClientCeremonyLimit:    a.ClientCeremonyLimit,
		// Proxies send browsers to sign in rather than to a bare 401.
		ForwardAuthRedirect: true,

		LogLevel: "info",
	}
}

// LoadConfig reads the configuration from vars (variable name → value;
// pass the environment merged with a .env file): DefaultConfig, with every
// variable that is set replacing its setting. It returns the configuration
// with derived settings filled in, or every problem at once, one line each
// that names its variable. Values that do not parse are reported alone:
// the checks of Validate would then judge a setting the environment did not
// mean (GATEHOUSE_DEV=maybe would also report a missing secret).
func LoadConfig(vars map[string]string) (Config, error) {
	c := DefaultConfig()
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		return c, envError(err)
	}
	// The providers' settings are checked with the rest, so a half-set
	// provider is one more line naming its variable.
	providers, perr := oauth.LoadConfigs(vars, strings.TrimSuffix(c.PublicURL, "/"))
	c.OAuth = providers
	if err := errors.Join(c.Validate(), perr); err != nil {
		return c, err
	}
	return c.resolved(), nil
}

// EnvFile is the dotenv file ConfigFromEnv reads, in the working
// directory, when it exists.
const EnvFile = ".env"

// Bounds of the delivery settings: more messages in flight than 256 is more
// connections than a mail server gives one client, and a claim of more
// than 1,000 keeps the last of them leased, unsent, for many rounds of
// sends that another node could have made.
const (
	maxDeliveryConcurrency = 256
	maxDeliveryBatch       = 1000
)

// ConfigFromEnv returns the configuration of the process's environment,
// read as `gatehouse serve` reads it: every GATEHOUSE_* variable, over
// those of the .env file in the working directory when there is one (a
// variable already set wins). It is LoadConfig(Environ(EnvFile, false)):
// the defaults, the derived settings and every problem at once, one line
// each naming its variable. To change a setting before loading, call
// Environ and LoadConfig yourself; to change one after, set the field and
// let New validate it.
func ConfigFromEnv() (Config, error) {
	vars, err := Environ(EnvFile, false)
	if err != nil {
		return DefaultConfig(), err
	}
	return LoadConfig(vars)
}

// Environ returns the variables LoadConfig takes, from the process
// environment and a dotenv file: the file's (KEY=VALUE lines, comments and
// quotes as in shell) with the environment's GATEHOUSE_* variables over
// them, so a variable already set wins over the file. envFile "" reads no
// file; a file that does not exist counts as empty unless required is
// true, when it is an error naming the file.
func Environ(envFile string, required bool) (map[string]string, error) {
	vars := map[string]string{}
	if envFile != "" {
		fileVars, err := godotenv.Read(envFile)
		switch {
		case err == nil:
			maps.Copy(vars, fileVars)
		case errors.Is(err, fs.ErrNotExist) && !required:
		default:
			return nil, fmt.Errorf("env file %s: %w", envFile, err)
		}
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "GATEHOUSE_") {
			vars[k] = v
		}
	}
	return vars, nil
}

// DevSecretFile returns where dev mode keeps the secret it generates when
// GATEHOUSE_SECRET is unset: gatehouse.secret in the folder of the SQLite
// database (the working directory for PostgreSQL). The command line looks
// there too, so that its commands run beside a `serve --dev` server.
func (c Config) DevSecretFile() string {
	dir := "."
	for _, scheme := range []string{"sqlite:", "file:"} { // the forms sqlstore opens
		if p, ok := strings.CutPrefix(c.DatabaseURL, scheme); ok {
			dir = filepath.Dir(strings.TrimPrefix(p, "//"))
			break
		}
	}
	return filepath.Join(dir, "gatehouse.secret")
}

// envError names the variable behind each of the library's field-level
// errors.
func envError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) == 0 {
		return err
	}
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		f, ok := reflect.StructField{}, false
		if errors.As(e, &pe) {
			f, ok = reflect.TypeFor[Config]().FieldByName(pe.Name)
		}
		if !ok {
			errs = append(errs, e)
			continue
		}
		msg := pe.Err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		errs = append(errs, fmt.Errorf("%s: %s", f.Tag.Get("env"), msg))
	}
	return errors.Join(errs...)
}

// resolved returns c with the settings derived from others filled in. It
// changes nothing in c (slices included) and resolving twice changes
// nothing more; New and LoadConfig call it after Validate.
func (c Config) resolved() Config {
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if len(c.AllowedRedirects) == 0 {
		c.AllowedRedirects = []string{publicOrigin(c.PublicURL)}
	}
	if c.MailURL == "" && c.Dev {
		c.MailURL = "console:" // outside dev mode, unset means no email sign-in
	}
	if c.SMSURL == "" && c.Dev {
		c.SMSURL = "console:" // outside dev mode, unset means no SMS sign-in
	}
	// Over https the cookie takes the __Host- prefix, which browsers honour
	// only for a Secure cookie with Path=/ and no Domain: no other host,
	// not even a subdomain, can set or shadow it. A cookie for the parent
	// domain cannot have it (it has a Domain); __Secure- at least keeps a
	// plain-http page from setting it.
	c.CookieDomain = cleanDomain(c.CookieDomain)
	if strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.SessionCookieName, "__Host-") &&
		!strings.HasPrefix(c.SessionCookieName, "__Secure-") {
		if c.CookieDomain != "" {
			c.SessionCookieName = "__Secure-" + c.SessionCookieName
		} else {
			c.SessionCookieName = "__Host-" + c.SessionCookieName
		}
	}
	c.SMSAllowedCountries = countryCodes(c.SMSAllowedCountries)
	if c.MailFrom == "" {
		c.MailFrom = defaultMailFrom(c.PublicURL)
	}
	if rpID, _, on, err := c.passkeySettings(); on && err == nil {
		c.WebAuthnRPID = rpID
	}
	return c
}

// passkeySettings returns the passkeys' relying party ID and origins (the
// public URL's first) as New builds them. on is false when the public URL
// cannot serve passkeys and nothing asked for them: plain http on a host
// other than localhost (dev mode, or an address such as 127.0.0.1), where
// no browser offers passkeys. A problem is an error of one line naming its
// setting. It changes nothing in c.
func (c Config) passkeySettings() (rpID string, origins []string, on bool, err error) {
	public := publicOrigin(c.PublicURL) // passkeys belong to an origin, not a path
	u, perr := url.Parse(public)
	if perr != nil || !isOrigin(public) {
		return "", nil, false, nil // the public URL's own line says it all
	}
	// Browsers put the host in lower case in the origin they report.
	host, origin := strings.ToLower(u.Hostname()), u.Scheme+"://"+strings.ToLower(u.Host)
	asked := c.WebAuthnRPID != "" || len(c.WebAuthnOrigins) > 0
	switch {
	case u.Scheme == "https", host == "localhost":
	case c.TLSTerminatedByProxy:
		origin = "https://" + strings.ToLower(u.Host) // what browsers see at the proxy
	case asked:
		name := "GATEHOUSE_WEBAUTHN_RP_ID"
		if c.WebAuthnRPID == "" {
			name = "GATEHOUSE_WEBAUTHN_ORIGINS"
		}
		return "", nil, false, fmt.Errorf("%s: passkeys need a public URL that browsers reach over https (or http://localhost), and GATEHOUSE_PUBLIC_URL is %s", name, public)
	default:
		return "", nil, false, nil
	}
	rpID = c.WebAuthnRPID
	switch {
	case rpID == "":
		if err := passkey.CheckRPID(host); err != nil {
			return "", nil, true, fmt.Errorf("GATEHOUSE_PUBLIC_URL: passkeys need Gatehouse at a domain name, and the host %s cannot be their relying party ID (GATEHOUSE_WEBAUTHN_RP_ID defaults to it): %v", host, err)
		}
		rpID = host
	case passkey.CheckRPID(rpID) != nil:
		return "", nil, true, fmt.Errorf("GATEHOUSE_WEBAUTHN_RP_ID: %v", passkey.CheckRPID(rpID))
	case host != rpID && !strings.HasSuffix(host, "."+rpID):
		return "", nil, true, fmt.Errorf("GATEHOUSE_WEBAUTHN_RP_ID: %q is neither the public URL's host %s nor a parent domain of it", rpID, host)
	}
	origins = []string{origin}
	for _, o := range c.WebAuthnOrigins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if err := passkey.CheckOrigin(rpID, o); err != nil {
			return "", nil, true, fmt.Errorf("GATEHOUSE_WEBAUTHN_ORIGINS: %v", err)
		}
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return rpID, origins, true, nil
}

// countryCodes returns the list in the form phone.ValidRegion takes, as a
// new slice.
func countryCodes(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = strings.ToUpper(strings.TrimSpace(r))
	}
	return out
}

// defaultMailFrom returns no-reply@ the public URL's host, or "" when the
// URL has none.
func defaultMailFrom(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return "no-reply@" + u.Hostname()
	}
	return ""
}

// Validate checks the settings that can be checked without I/O and returns
// every problem at once (errors.Join: one line each, starting with the
// variable's name), or nil. It changes nothing: derived settings are
// checked as New will derive them.
func (c Config) Validate() error {
	var errs []error
	bad := func(variable, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Addr) == "" {
		bad("GATEHOUSE_ADDR", "must not be empty (e.g. localhost:3000)")
	}
	// An origin, or an origin and the plain path Gatehouse is mounted
	// under; a trailing slash is trimmed.
	publicOK := isOrigin(publicOrigin(c.PublicURL))
	if !publicOK {
		bad("GATEHOUSE_PUBLIC_URL", "must be an http(s) origin such as https://auth.example.com, or one with the path Gatehouse is mounted under such as https://app.example.com/auth, got %q", c.PublicURL)
	} else if err := checkBasePath(c.BasePath()); err != nil {
		publicOK = false
		bad("GATEHOUSE_PUBLIC_URL", "%v, got %q", err, c.PublicURL)
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "file:") &&
		!strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("GATEHOUSE_DATABASE_URL", "must start with sqlite: or postgres://, got %q", redactURL(c.DatabaseURL))
	}
	if c.StoreTimeout < 100*time.Millisecond || c.StoreTimeout > time.Minute {
		bad("GATEHOUSE_STORE_TIMEOUT", "must be between 100ms and 1m, got %s", c.StoreTimeout)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("GATEHOUSE_REDIS_URL", "must start with redis:// (or rediss:// for TLS), got %q", redactURL(c.RedisURL))
	}
	switch {
	case c.Secret == "" && !c.Dev:
		bad("GATEHOUSE_SECRET", "required outside dev mode (at least 32 characters, e.g. from `openssl rand -base64 32`)")
	case c.Secret != "" && len(c.Secret) < 32:
		bad("GATEHOUSE_SECRET", "must be at least 32 characters (e.g. from `openssl rand -base64 32`)")
	}
	if c.AdminAPIKey != "" && len(c.AdminAPIKey) < 16 {
		bad("GATEHOUSE_ADMIN_API_KEY", "must be at least 16 characters")
	}

	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"GATEHOUSE_ACCESS_TOKEN_TTL", c.AccessTokenTTL}, {"GATEHOUSE_REFRESH_TOKEN_TTL", c.RefreshTokenTTL},
		{"GATEHOUSE_REFRESH_GRACE", c.RefreshGrace}, {"GATEHOUSE_SESSION_TTL", c.SessionTTL},
	} {
		if d.v <= 0 {
			bad(d.name, "must be a positive duration such as 15m, got %s", d.v)
		}
	}
	if c.AccessTokenTTL > 24*time.Hour {
		bad("GATEHOUSE_ACCESS_TOKEN_TTL", "must be at most 24h: access tokens cannot be recalled from apps that verify them offline")
	}
	if c.RefreshGrace > time.Minute {
		bad("GATEHOUSE_REFRESH_GRACE", "must be at most 1m")
	}
	if !cookieName(c.SessionCookieName) {
		bad("GATEHOUSE_SESSION_COOKIE_NAME", "%q is not a valid cookie name", c.SessionCookieName)
	}
	for _, o := range c.CORSOrigins {
		if !isOrigin(o) {
			bad("GATEHOUSE_CORS_ORIGINS", "%q is not an origin such as https://app.example.com", o)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := httpauth.ParseProxy(p); err != nil {
			bad("GATEHOUSE_TRUSTED_PROXIES", "%q is not a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.10", p)
		}
	}
	// The session cookie is Secure except in dev mode on localhost: on a
	// plain-http public URL the browser drops it and a right password
	// lands back on the sign-in page.
	if publicOK && !c.Dev && !c.TLSTerminatedByProxy && strings.HasPrefix(c.PublicURL, "http://") && !isLocalHTTP(c.PublicURL) {
		bad("GATEHOUSE_PUBLIC_URL", "is plain http (%s): browsers drop the Secure session cookie, so nobody could sign in; use https, or set GATEHOUSE_TLS_TERMINATED_BY_PROXY=true if TLS ends at a proxy in front of Gatehouse", c.PublicURL)
	}

	if c.MailFrom != "" || publicOK { // else the public URL's line says it all
		from := c.MailFrom
		if from == "" {
			from = defaultMailFrom(c.PublicURL)
		}
		if _, err := netmail.ParseAddress(from); err != nil {
			bad("GATEHOUSE_MAIL_FROM", "%q is not an email address", from)
		}
	}
	if !isOrigin(strings.TrimSuffix(c.PostmarkAPIURL, "/")) && !strings.HasPrefix(c.PostmarkAPIURL, "http") {
		bad("GATEHOUSE_POSTMARK_API_URL", "%q is not an http(s) URL", c.PostmarkAPIURL)
	}
	if !isOrigin(strings.TrimSuffix(c.TwilioAPIURL, "/")) {
		bad("GATEHOUSE_TWILIO_API_URL", "%q is not an http(s) URL such as https://api.twilio.com", c.TwilioAPIURL)
	}
	for _, r := range countryCodes(c.SMSAllowedCountries) {
		if !phone.ValidRegion(r) {
			bad("GATEHOUSE_SMS_ALLOWED_COUNTRIES", "%q is not a country code such as US or GB", r)
		}
	}
	if c.SMSCountryHourlyLimit < 0 {
		bad("GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT", "must be 0 (no cap) or more, got %d", c.SMSCountryHourlyLimit)
	}
	if c.DeliveryConcurrency < 1 || c.DeliveryConcurrency > maxDeliveryConcurrency {
		bad("GATEHOUSE_DELIVERY_CONCURRENCY", "must be 1 to %d, got %d", maxDeliveryConcurrency, c.DeliveryConcurrency)
	}
	if c.DeliveryBatch < 1 || c.DeliveryBatch > maxDeliveryBatch {
		bad("GATEHOUSE_DELIVERY_BATCH", "must be 1 to %d, got %d", maxDeliveryBatch, c.DeliveryBatch)
	}
	if strings.TrimSpace(c.AppName) == "" || len(c.AppName) > 100 {
		bad("GATEHOUSE_APP_NAME", "must be 1 to 100 characters")
	}

	if c.OTPLength < 6 || c.OTPLength > 10 {
		bad("GATEHOUSE_OTP_LENGTH", "must be 6 to 10 digits, got %d", c.OTPLength)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"GATEHOUSE_OTP_TTL", c.OTPTTL}, {"GATEHOUSE_MAGIC_LINK_TTL", c.MagicLinkTTL}} {
		if d.v < time.Minute || d.v > 24*time.Hour {
			bad(d.name, "must be between 1m and 24h, got %s", d.v)
		}
	}
	if c.OTPMaxAttempts < 1 || c.OTPMaxAttempts > 20 {
		bad("GATEHOUSE_OTP_MAX_ATTEMPTS", "must be 1 to 20, got %d", c.OTPMaxAttempts)
	}
	for _, l := range []struct {
		name   string
		v, max int
	}{
		{"GATEHOUSE_MFA_FAILURE_LIMIT", c.MFAFailureLimit, 100},
		{"GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT", c.ClientCodeFailureLimit, 10_000},
		{"GATEHOUSE_CLIENT_SEND_LIMIT", c.ClientSendLimit, 10_000},
		{"GATEHOUSE_GLOBAL_SEND_LIMIT", c.GlobalSendLimit, 10_000_000},
	} {
		if l.v < 1 || l.v > l.max {
			bad(l.name, "must be 1 to %d an hour, got %d", l.max, l.v)
		}
	}
	if c.ClientCeremonyLimit < 1 || c.ClientCeremonyLimit > 10_000 {
		bad("GATEHOUSE_CLIENT_CEREMONY_LIMIT", "must be 1 to 10000 a minute, got %d", c.ClientCeremonyLimit)
	}
	for _, o := range c.AllowedRedirects {
		if !isOrigin(o) && !isOriginPattern(o) {
			bad("GATEHOUSE_ALLOWED_REDIRECTS", "%q is not an origin such as https://app.example.com or https://*.example.com", o)
		}
	}
	if c.CookieDomain != "" {
		if err := checkCookieDomain(cleanDomain(c.CookieDomain), c.PublicURL, c.SessionCookieName); err != nil {
			bad("GATEHOUSE_COOKIE_DOMAIN", "%s", err)
		}
	}
	if _, _, _, err := c.passkeySettings(); err != nil {
		errs = append(errs, err)
	}

	// testing.Testing reports a test binary: a server that embeds
	// Gatehouse cannot turn weak hashes on by mistake.
	if c.CheapPasswordHashing && !c.Dev && !testing.Testing() {
		errs = append(errs, errors.New("CheapPasswordHashing: only for dev mode and tests: its hashes fall to an offline guess"))
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("GATEHOUSE_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		bad("GATEHOUSE_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	return errors.Join(errs...)
}

// BasePath returns the path prefix Gatehouse is mounted under: the public
// URL's path without its trailing slash ("/auth"), or "" at the root of
// its host. The handler answers only under it (and the probes at
// /healthz, /readyz and /metrics also at the root), so an embedding app
// mounts it as is, without http.StripPrefix:
//
//	mux.Handle("/auth/", g)
func (c Config) BasePath() string {
	u, err := url.Parse(strings.TrimSuffix(c.PublicURL, "/"))
	if err != nil {
		return ""
	}
	return u.EscapedPath() // an escape stays one, for checkBasePath to refuse
}

// publicOrigin returns the public URL without its path (the origin when it
// is a valid one): what browsers send as Origin, and the default allowed
// redirect.
func publicOrigin(public string) string {
	public = strings.TrimSuffix(public, "/")
	u, err := url.Parse(public)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return public // isOrigin refuses it with the whole value
	}
	u.Path, u.RawPath = "", ""
	return u.String()
}

// checkBasePath accepts "" or a plain path prefix: segments of letters,
// digits and "-._~", none of them "." or "..", none empty. Anything a
// browser or a proxy could rewrite (escapes, dot segments, "//") would
// make the links the pages print and the paths they are served at differ.
func checkBasePath(p string) error {
	if p == "" {
		return nil
	}
	for seg := range strings.SplitSeq(strings.TrimPrefix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("its path (the prefix Gatehouse is mounted under) must not have empty, \".\" or \"..\" segments")
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return fmt.Errorf("its path (the prefix Gatehouse is mounted under) may hold only letters, digits, \"-._~\" and \"/\", not %q", r)
			}
		}
	}
	return nil
}

// isOrigin accepts scheme://host[:port] with nothing after.
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.Contains(u.Host, "*")
}

// isOriginPattern accepts "https://*.example.com" (and a port): every
// subdomain of a domain with a dot, for GATEHOUSE_ALLOWED_REDIRECTS.
func isOriginPattern(o string) bool {
	scheme, rest, ok := strings.Cut(strings.TrimSuffix(o, "/"), "://*.")
	if !ok || scheme != "http" && scheme != "https" {
		return false
	}
	u, err := url.Parse(scheme + "://" + rest)
	return err == nil && isOrigin(scheme+"://"+rest) && strings.Contains(u.Hostname(), ".") && net.ParseIP(u.Hostname()) == nil
}

// cleanDomain is a cookie domain as browsers compare it: lower case, no
// leading or trailing dot.
func cleanDomain(d string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), ".")), ".")
}

// checkCookieDomain accepts a parent domain of the public URL's host
// (or the host itself) that a browser will set a cookie for: a name with
// a dot, not an address, and no __Host- cookie name (that prefix forbids
// a Domain).
func checkCookieDomain(domain, publicURL, cookie string) error {
	u, err := url.Parse(publicURL)
	if err != nil {
		return errors.New("needs a public URL")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case strings.ContainsAny(domain, ":/ ") || net.ParseIP(domain) != nil || !strings.Contains(domain, "."):
		return fmt.Errorf("%q is not a domain such as example.com", domain)
	case host != domain && !strings.HasSuffix(host, "."+domain):
		return fmt.Errorf("%q does not contain the public URL's host %q: browsers would refuse the cookie", domain, host)
	case strings.HasPrefix(cookie, "__Host-"):
		return fmt.Errorf("the cookie name %q has the __Host- prefix, which forbids a domain: use __Secure- or no prefix", cookie)
	}
	return nil
}

// cookieName accepts an RFC 6265 token.
func cookieName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= 0x20 || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

// redactURL hides a password in a connection URL before it is shown.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
