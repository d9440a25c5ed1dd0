package gatehouse

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/phone"
)

// Config is everything Gatehouse can be told. The environment names are the
// contract of docs/contract.md ("Configuration"); LoadConfig reads them.
type Config struct {
	// Addr is where `gatehouse serve` listens.
	Addr string `env:"GATEHOUSE_ADDR" envDefault:"localhost:3000"`
	// PublicURL is how browsers and other apps reach Gatehouse: the tokens'
	// issuer and the base of links in messages.
	PublicURL string `env:"GATEHOUSE_PUBLIC_URL" envDefault:"http://localhost:3000"`
	// DatabaseURL is `sqlite:PATH` (embedded, the default) or `postgres://…`.
	DatabaseURL string `env:"GATEHOUSE_DATABASE_URL" envDefault:"sqlite:gatehouse.db"`
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

	AccessTokenTTL  time.Duration `env:"GATEHOUSE_ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL time.Duration `env:"GATEHOUSE_REFRESH_TOKEN_TTL" envDefault:"720h"`
	// RefreshGrace is how long a just-rotated refresh token may be replayed
	// by a concurrent client and answered with the same successor.
	RefreshGrace time.Duration `env:"GATEHOUSE_REFRESH_GRACE" envDefault:"10s"`
	// SessionTTL is the sliding idle timeout of a session.
	SessionTTL        time.Duration `env:"GATEHOUSE_SESSION_TTL" envDefault:"168h"`
	SessionCookieName string        `env:"GATEHOUSE_SESSION_COOKIE_NAME" envDefault:"gatehouse_session"`
	// CORSOrigins are browser apps' origins trusted to make cross-origin
	// calls.
	CORSOrigins []string `env:"GATEHOUSE_CORS_ORIGINS" envSeparator:","`

	// MailURL chooses the email sender: console: (the dev default: print
	// messages), smtp://user:pass@host:port (STARTTLS required; ?tls=none
	// for a local relay), smtps://… (implicit TLS) or postmark://TOKEN.
	// Unset outside dev mode: codes, links and recovery answer 503.
	MailURL string `env:"GATEHOUSE_MAIL_URL"`
	// MailFrom is the sender address (no-reply@<public host>).
	MailFrom string `env:"GATEHOUSE_MAIL_FROM"`
	// PostmarkAPIURL overrides Postmark's API base URL (tests).
	PostmarkAPIURL string `env:"GATEHOUSE_POSTMARK_API_URL" envDefault:"https://api.postmarkapp.com"`
	// SMSURL chooses the SMS sender: console: (the dev default) or
	// twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+15550100 (or
	// ?messaging_service_sid=MG…). Unset outside dev mode: SMS codes
	// answer 503.
	SMSURL string `env:"GATEHOUSE_SMS_URL"`
	// TwilioAPIURL overrides Twilio's API base URL (tests).
	TwilioAPIURL string `env:"GATEHOUSE_TWILIO_API_URL" envDefault:"https://api.twilio.com"`
	// SMSAllowedCountries, when set, are the only countries (ISO 3166-1
	// alpha-2, e.g. US,CA,GB) whose numbers may get codes.
	SMSAllowedCountries []string `env:"GATEHOUSE_SMS_ALLOWED_COUNTRIES" envSeparator:","`
	// SMSCountryHourlyLimit caps codes by SMS per country calling code per
	// hour on each node, against SMS pumping; 0 turns the cap off.
	SMSCountryHourlyLimit int `env:"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT" envDefault:"100"`
	// AppName is the product name in messages and pages.
	AppName string `env:"GATEHOUSE_APP_NAME" envDefault:"Gatehouse"`
	// TemplatesDir holds message templates that replace the embedded ones.
	TemplatesDir string `env:"GATEHOUSE_TEMPLATES_DIR"`

	OTPLength      int           `env:"GATEHOUSE_OTP_LENGTH" envDefault:"6"`
	OTPTTL         time.Duration `env:"GATEHOUSE_OTP_TTL" envDefault:"5m"`
	OTPMaxAttempts int           `env:"GATEHOUSE_OTP_MAX_ATTEMPTS" envDefault:"5"`
	MagicLinkTTL   time.Duration `env:"GATEHOUSE_MAGIC_LINK_TTL" envDefault:"15m"`
	// AllowedRedirects are the origins a magic link may send the browser
	// back to (the public URL's origin when unset).
	AllowedRedirects []string `env:"GATEHOUSE_ALLOWED_REDIRECTS" envSeparator:","`
	// PasswordlessSignup lets a code or link create the account of an
	// unknown address.
	PasswordlessSignup bool `env:"GATEHOUSE_PASSWORDLESS_SIGNUP" envDefault:"true"`
	// ForwardAuthRedirect sends a browser that a proxy forwards to
	// /v1/check without a live session to the sign-in page (302, or 401
	// with Location for nginx) instead of a bare 401; API clients always
	// get 401.
	ForwardAuthRedirect bool `env:"GATEHOUSE_FORWARD_AUTH_REDIRECT" envDefault:"true"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"GATEHOUSE_LOG_LEVEL" envDefault:"info"`
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

	// Clock, when set, replaces the system clock (tests).
	Clock auth.Clock `env:"-"`
	// Logger, when set, receives every log line instead of one built from
	// LogLevel and LogFormat.
	Logger *slog.Logger `env:"-"`
}

// LoadConfig reads the configuration from vars (variable name → value;
// pass the environment merged with a .env file). Every problem is reported
// as one line that names the variable.
func LoadConfig(vars map[string]string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		return c, envError(err)
	}
	return c, c.Validate()
}

// DefaultConfig answers the configuration of an empty environment; only
// Secret (or Dev) is left to set. Defaults that derive from other settings
// (the allowed redirects and the sender from PublicURL, the console mail
// sender in dev mode) stay empty and are filled by New from the final
// settings, so changing PublicURL afterwards cannot leave stale ones.
func DefaultConfig() Config {
	c, _ := LoadConfig(map[string]string{})
	return c
}

// derive fills defaults computed from other settings.
func (c *Config) derive() {
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if len(c.AllowedRedirects) == 0 {
		c.AllowedRedirects = []string{c.PublicURL}
	}
	if c.MailURL == "" && c.Dev {
		c.MailURL = "console:" // outside dev mode, unset means no email sign-in
	}
	// Over https the cookie takes the __Host- prefix, which browsers honour
	// only for a Secure cookie with Path=/ and no Domain: no other host,
	// not even a subdomain, can set or shadow it.
	if strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.SessionCookieName, "__Host-") &&
		!strings.HasPrefix(c.SessionCookieName, "__Secure-") {
		c.SessionCookieName = "__Host-" + c.SessionCookieName
	}
	if c.SMSURL == "" && c.Dev {
		c.SMSURL = "console:" // outside dev mode, unset means no SMS sign-in
	}
	for i, r := range c.SMSAllowedCountries {
		c.SMSAllowedCountries[i] = strings.ToUpper(strings.TrimSpace(r))
	}
	if c.MailFrom == "" {
		if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
			c.MailFrom = "no-reply@" + u.Hostname()
		}
	}
}

// envError names the variable behind the library's field-level error.
func envError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) == 0 {
		return err
	}
	var pe env.ParseError
	if errors.As(agg.Errors[0], &pe) {
		if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
			msg := pe.Err.Error()
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			return fmt.Errorf("%s: %s", f.Tag.Get("env"), msg)
		}
	}
	return agg.Errors[0]
}

// Validate checks the settings that can be checked without I/O.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Addr) == "" {
		return errors.New("GATEHOUSE_ADDR: must not be empty (e.g. localhost:3000)")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("GATEHOUSE_PUBLIC_URL: must be an http(s) origin such as https://auth.example.com, got %q", c.PublicURL)
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "file:") &&
		!strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("GATEHOUSE_DATABASE_URL: must start with sqlite: or postgres://, got %q", redactURL(c.DatabaseURL))
	}
	if c.RedisURL != "" {
		return errors.New("GATEHOUSE_REDIS_URL: Redis support is not available in this version; unset it")
	}
	if c.Secret == "" && !c.Dev {
		return errors.New("GATEHOUSE_SECRET: required outside dev mode (at least 32 characters, e.g. from `openssl rand -base64 32`)")
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		return errors.New("GATEHOUSE_SECRET: must be at least 32 characters (e.g. from `openssl rand -base64 32`)")
	}
	if c.AdminAPIKey != "" && len(c.AdminAPIKey) < 16 {
		return errors.New("GATEHOUSE_ADMIN_API_KEY: must be at least 16 characters")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"GATEHOUSE_ACCESS_TOKEN_TTL", c.AccessTokenTTL}, {"GATEHOUSE_REFRESH_TOKEN_TTL", c.RefreshTokenTTL},
		{"GATEHOUSE_SESSION_TTL", c.SessionTTL}, {"GATEHOUSE_REFRESH_GRACE", c.RefreshGrace},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be a positive duration such as 15m, got %s", d.name, d.v)
		}
	}
	if c.AccessTokenTTL > 24*time.Hour {
		return errors.New("GATEHOUSE_ACCESS_TOKEN_TTL: must be at most 24h: access tokens cannot be recalled from apps that verify them offline")
	}
	if c.RefreshGrace > time.Minute {
		return errors.New("GATEHOUSE_REFRESH_GRACE: must be at most 1m")
	}
	if !cookieName(c.SessionCookieName) {
		return fmt.Errorf("GATEHOUSE_SESSION_COOKIE_NAME: %q is not a valid cookie name", c.SessionCookieName)
	}
	for _, o := range c.CORSOrigins {
		if !isOrigin(o) {
			return fmt.Errorf("GATEHOUSE_CORS_ORIGINS: %q is not an origin such as https://app.example.com", o)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"GATEHOUSE_OTP_TTL", c.OTPTTL}, {"GATEHOUSE_MAGIC_LINK_TTL", c.MagicLinkTTL}} {
		if d.v < time.Minute || d.v > 24*time.Hour {
			return fmt.Errorf("%s: must be between 1m and 24h, got %s", d.name, d.v)
		}
	}
	if c.OTPLength < 6 || c.OTPLength > 10 {
		return fmt.Errorf("GATEHOUSE_OTP_LENGTH: must be 6 to 10 digits, got %d", c.OTPLength)
	}
	if c.OTPMaxAttempts < 1 || c.OTPMaxAttempts > 20 {
		return fmt.Errorf("GATEHOUSE_OTP_MAX_ATTEMPTS: must be 1 to 20, got %d", c.OTPMaxAttempts)
	}
	c.derive()
	for _, o := range c.AllowedRedirects {
		if !isOrigin(o) {
			return fmt.Errorf("GATEHOUSE_ALLOWED_REDIRECTS: %q is not an origin such as https://app.example.com", o)
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Errorf("GATEHOUSE_MAIL_FROM: %q is not an email address", c.MailFrom)
	}
	if !isOrigin(strings.TrimSuffix(c.PostmarkAPIURL, "/")) && !strings.HasPrefix(c.PostmarkAPIURL, "http") {
		return fmt.Errorf("GATEHOUSE_POSTMARK_API_URL: %q is not an http(s) URL", c.PostmarkAPIURL)
	}
	if !isOrigin(strings.TrimSuffix(c.TwilioAPIURL, "/")) {
		return fmt.Errorf("GATEHOUSE_TWILIO_API_URL: %q is not an http(s) URL such as https://api.twilio.com", c.TwilioAPIURL)
	}
	for _, r := range c.SMSAllowedCountries {
		if !phone.ValidRegion(r) {
			return fmt.Errorf("GATEHOUSE_SMS_ALLOWED_COUNTRIES: %q is not a country code such as US or GB", r)
		}
	}
	if c.SMSCountryHourlyLimit < 0 {
		return fmt.Errorf("GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT: must be 0 (no cap) or more, got %d", c.SMSCountryHourlyLimit)
	}
	if strings.TrimSpace(c.AppName) == "" || len(c.AppName) > 100 {
		return errors.New("GATEHOUSE_APP_NAME: must be 1 to 100 characters")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("GATEHOUSE_LOG_LEVEL: must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return fmt.Errorf("GATEHOUSE_LOG_FORMAT: must be text or json, got %q", c.LogFormat)
	}
	return nil
}

// isOrigin accepts scheme://host[:port] with nothing after.
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil
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
