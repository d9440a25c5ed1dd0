package gatehouse_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
)

const testSecret = "config-test-secret-0123456789-abcdef"

// field answers the Config field read from the variable name, formatted.
func field(t *testing.T, c gatehouse.Config, name string) string {
	t.Helper()
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("env") == name {
			return fmt.Sprint(v.Field(i).Interface())
		}
	}
	t.Fatalf("Config has no field for %s", name)
	return ""
}

// TestLoadConfigDefaults holds the defaults against docs/contract.md's table
// ("Configuration"), and the few settings only DESIGN.md names.
func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := gatehouse.LoadConfig(map[string]string{"GATEHOUSE_SECRET": testSecret})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"GATEHOUSE_ADDR":                   "localhost:3000",
		"GATEHOUSE_PUBLIC_URL":             "http://localhost:3000",
		"GATEHOUSE_DATABASE_URL":           "sqlite:gatehouse.db",
		"GATEHOUSE_REDIS_URL":              "",
		"GATEHOUSE_SECRET":                 testSecret,
		"GATEHOUSE_ADMIN_API_KEY":          "",
		"GATEHOUSE_DEV":                    "false",
		"GATEHOUSE_MAIL_FROM":              "no-reply@localhost",
		"GATEHOUSE_POSTMARK_API_URL":       "https://api.postmarkapp.com",
		"GATEHOUSE_OTP_LENGTH":             "6",
		"GATEHOUSE_OTP_TTL":                "5m0s",
		"GATEHOUSE_OTP_MAX_ATTEMPTS":       "5",
		"GATEHOUSE_MAGIC_LINK_TTL":         "15m0s",
		"GATEHOUSE_ACCESS_TOKEN_TTL":       "15m0s",
		"GATEHOUSE_REFRESH_TOKEN_TTL":      "720h0m0s",
		"GATEHOUSE_SESSION_TTL":            "168h0m0s",
		"GATEHOUSE_SESSION_COOKIE_NAME":    "gatehouse_session",
		"GATEHOUSE_ALLOWED_REDIRECTS":      "[http://localhost:3000]",
		"GATEHOUSE_CORS_ORIGINS":           "[]",
		"GATEHOUSE_TRUSTED_PROXIES":        "[]",
		"GATEHOUSE_REQUIRE_VERIFIED_EMAIL": "false",
		"GATEHOUSE_WEBAUTHN_RP_ID":         "localhost", // the public URL's host
		"GATEHOUSE_WEBAUTHN_ORIGINS":       "[]",
		// Not in docs/contract.md's table: TLS that ends at a proxy (issue 12).
		"GATEHOUSE_TLS_TERMINATED_BY_PROXY": "false",
		"GATEHOUSE_PASSWORDLESS_SIGNUP":     "true",
		"GATEHOUSE_SMS_URL":                 "",
		"GATEHOUSE_TWILIO_API_URL":          "https://api.twilio.com",
		// A database that hangs, and the limits (issue 12).
		"GATEHOUSE_STORE_TIMEOUT":             "3s",
		"GATEHOUSE_MFA_FAILURE_LIMIT":         "10",
		"GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT": "50",
		"GATEHOUSE_CLIENT_SEND_LIMIT":         "30",
		"GATEHOUSE_GLOBAL_SEND_LIMIT":         "10000",
		// The passkey ceremonies begun without a session (issue 14).
		"GATEHOUSE_CLIENT_CEREMONY_LIMIT": "30",
		// Not in docs/contract.md's table: the SMS-pumping defences (issue 5).
		"GATEHOUSE_SMS_ALLOWED_COUNTRIES":    "[]",
		"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT": "100",
		// Not in docs/contract.md's table: the outbox's delivery (issue 18).
		"GATEHOUSE_DELIVERY_CONCURRENCY": "16",
		"GATEHOUSE_DELIVERY_BATCH":       "64",
		// Not in docs/contract.md's table: the refresh grace is its "short
		// grace period" (10 s, DESIGN.md), and logging.
		"GATEHOUSE_REFRESH_GRACE":   "10s",
		"GATEHOUSE_LOG_LEVEL":       "info",
		"GATEHOUSE_LOG_FORMAT":      "",
		"GATEHOUSE_SKIP_MIGRATIONS": "false",
		// Not in docs/contract.md's table: forward-auth sends browsers to sign in.
		"GATEHOUSE_FORWARD_AUTH_REDIRECT": "true",
	} {
		if got := field(t, c, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if c.Clock != nil || c.Logger != nil {
		t.Error("LoadConfig set Clock or Logger")
	}
	// Dev mode sends mail to the console unless told otherwise.
	dev, err := gatehouse.LoadConfig(map[string]string{"GATEHOUSE_DEV": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if dev.MailURL != "console:" || dev.SMSURL != "console:" || dev.Secret != "" {
		t.Errorf("dev mode: GATEHOUSE_MAIL_URL %q, GATEHOUSE_SMS_URL %q, GATEHOUSE_SECRET set %v", dev.MailURL, dev.SMSURL, dev.Secret != "")
	}
	// DefaultConfig is an empty environment's.
	d := gatehouse.DefaultConfig()
	if d.Addr != "localhost:3000" || d.DatabaseURL != "sqlite:gatehouse.db" || d.AccessTokenTTL != 15*time.Minute || d.Secret != "" {
		t.Errorf("DefaultConfig %+v", d)
	}
}

func TestLoadConfigValues(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"GATEHOUSE_ADDR":                     "0.0.0.0:8080",
		"GATEHOUSE_PUBLIC_URL":               "https://auth.example.com/",
		"GATEHOUSE_DATABASE_URL":             "postgres://gh:pw@db:5432/gh?sslmode=disable",
		"GATEHOUSE_SECRET":                   testSecret,
		"GATEHOUSE_ADMIN_API_KEY":            "0123456789abcdef",
		"GATEHOUSE_DEV":                      "true",
		"GATEHOUSE_ACCESS_TOKEN_TTL":         "5m",
		"GATEHOUSE_REFRESH_TOKEN_TTL":        "24h",
		"GATEHOUSE_REFRESH_GRACE":            "30s",
		"GATEHOUSE_SESSION_TTL":              "1h30m",
		"GATEHOUSE_SESSION_COOKIE_NAME":      "__Host-gh",
		"GATEHOUSE_CORS_ORIGINS":             "https://app.example.com,http://localhost:5173",
		"GATEHOUSE_LOG_LEVEL":                "debug",
		"GATEHOUSE_LOG_FORMAT":               "text",
		"GATEHOUSE_SKIP_MIGRATIONS":          "true",
		"GATEHOUSE_SMS_ALLOWED_COUNTRIES":    "us, CA,gb",
		"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT": "0",
		"GATEHOUSE_DELIVERY_CONCURRENCY":     "4",
		"GATEHOUSE_DELIVERY_BATCH":           "200",
		"GATEHOUSE_FORWARD_AUTH_REDIRECT":    "false",
		"GATEHOUSE_STORE_TIMEOUT":            "750ms",
		"GATEHOUSE_TRUSTED_PROXIES":          "10.0.0.0/8, 192.0.2.10",
		"GATEHOUSE_TLS_TERMINATED_BY_PROXY":  "true",
		"GATEHOUSE_WEBAUTHN_RP_ID":           "example.com",
		"GATEHOUSE_WEBAUTHN_ORIGINS":         "https://app.example.com, android:apk-key-hash:abc",
		"UNRELATED":                          "ignored",
	}
	c, err := gatehouse.LoadConfig(vars)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"GATEHOUSE_ADDR":                     "0.0.0.0:8080",
		"GATEHOUSE_PUBLIC_URL":               "https://auth.example.com", // trailing slash trimmed
		"GATEHOUSE_DATABASE_URL":             "postgres://gh:pw@db:5432/gh?sslmode=disable",
		"GATEHOUSE_ADMIN_API_KEY":            "0123456789abcdef",
		"GATEHOUSE_DEV":                      "true",
		"GATEHOUSE_ACCESS_TOKEN_TTL":         "5m0s",
		"GATEHOUSE_REFRESH_TOKEN_TTL":        "24h0m0s",
		"GATEHOUSE_REFRESH_GRACE":            "30s",
		"GATEHOUSE_SESSION_TTL":              "1h30m0s",
		"GATEHOUSE_SESSION_COOKIE_NAME":      "__Host-gh",
		"GATEHOUSE_CORS_ORIGINS":             "[https://app.example.com http://localhost:5173]",
		"GATEHOUSE_ALLOWED_REDIRECTS":        "[https://auth.example.com]",
		"GATEHOUSE_MAIL_FROM":                "no-reply@auth.example.com",
		"GATEHOUSE_LOG_LEVEL":                "debug",
		"GATEHOUSE_LOG_FORMAT":               "text",
		"GATEHOUSE_SKIP_MIGRATIONS":          "true",
		"GATEHOUSE_SMS_ALLOWED_COUNTRIES":    "[US CA GB]",
		"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT": "0",
		"GATEHOUSE_DELIVERY_CONCURRENCY":     "4",
		"GATEHOUSE_DELIVERY_BATCH":           "200",
		"GATEHOUSE_FORWARD_AUTH_REDIRECT":    "false",
		"GATEHOUSE_STORE_TIMEOUT":            "750ms",
		"GATEHOUSE_TRUSTED_PROXIES":          "[10.0.0.0/8  192.0.2.10]",
		"GATEHOUSE_TLS_TERMINATED_BY_PROXY":  "true",
		"GATEHOUSE_WEBAUTHN_RP_ID":           "example.com",
		"GATEHOUSE_WEBAUTHN_ORIGINS":         "[https://app.example.com  android:apk-key-hash:abc]",
	} {
		if got := field(t, c, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestLoadConfigErrors: every bad setting answers one error that starts
// with the variable's name.
func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, variable, value string
	}{
		{"bad duration", "GATEHOUSE_ACCESS_TOKEN_TTL", "fifteen minutes"},
		{"duration without unit", "GATEHOUSE_SESSION_TTL", "3600"},
		{"negative TTL", "GATEHOUSE_SESSION_TTL", "-1h"},
		{"negative refresh TTL", "GATEHOUSE_REFRESH_TOKEN_TTL", "-720h"},
		{"zero TTL", "GATEHOUSE_ACCESS_TOKEN_TTL", "0s"},
		{"access TTL over a day", "GATEHOUSE_ACCESS_TOKEN_TTL", "25h"},
		{"negative grace", "GATEHOUSE_REFRESH_GRACE", "-10s"},
		{"grace over a minute", "GATEHOUSE_REFRESH_GRACE", "2m"},
		{"empty address", "GATEHOUSE_ADDR", "  "},
		{"public URL not a URL", "GATEHOUSE_PUBLIC_URL", "auth.example.com"},
		{"public URL scheme", "GATEHOUSE_PUBLIC_URL", "ftp://auth.example.com"},
		{"public URL path with dot segment", "GATEHOUSE_PUBLIC_URL", "https://example.com/a/../auth"},
		{"public URL path with empty segment", "GATEHOUSE_PUBLIC_URL", "https://example.com//auth"},
		{"public URL path with escape", "GATEHOUSE_PUBLIC_URL", "https://example.com/my%20auth"},
		{"public URL path with escaped slash", "GATEHOUSE_PUBLIC_URL", "https://example.com/a%2Fb"},
		{"public URL path with space", "GATEHOUSE_PUBLIC_URL", "https://example.com/my auth"},
		{"public URL fragment after path", "GATEHOUSE_PUBLIC_URL", "https://example.com/auth#x"},
		{"public URL query", "GATEHOUSE_PUBLIC_URL", "https://auth.example.com?x=1"},
		{"public URL no host", "GATEHOUSE_PUBLIC_URL", "https://"},
		{"public URL unparsable", "GATEHOUSE_PUBLIC_URL", "http://[::1"},
		{"DB URL scheme", "GATEHOUSE_DATABASE_URL", "mysql://root:hunter2@db/gh"},
		{"DB URL bare path", "GATEHOUSE_DATABASE_URL", "/var/lib/gatehouse.db"},
		{"store timeout zero", "GATEHOUSE_STORE_TIMEOUT", "0s"},
		{"store timeout too short", "GATEHOUSE_STORE_TIMEOUT", "10ms"},
		{"store timeout too long", "GATEHOUSE_STORE_TIMEOUT", "5m"},
		{"short secret", "GATEHOUSE_SECRET", "only-31-characters-long-secret!"},
		{"short admin key", "GATEHOUSE_ADMIN_API_KEY", "short"},
		{"bad bool", "GATEHOUSE_DEV", "maybe"},
		{"cookie name with space", "GATEHOUSE_SESSION_COOKIE_NAME", "my session"},
		{"cookie name with semicolon", "GATEHOUSE_SESSION_COOKIE_NAME", "a;b"},
		{"cookie name with equals", "GATEHOUSE_SESSION_COOKIE_NAME", "a=b"},
		{"cookie name non-ascii", "GATEHOUSE_SESSION_COOKIE_NAME", "sessión"},
		{"cookie name too long", "GATEHOUSE_SESSION_COOKIE_NAME", strings.Repeat("c", 65)},
		{"CORS origin with path", "GATEHOUSE_CORS_ORIGINS", "https://app.example.com/app"},
		{"CORS origin without scheme", "GATEHOUSE_CORS_ORIGINS", "app.example.com"},
		{"CORS wildcard", "GATEHOUSE_CORS_ORIGINS", "*"},
		{"CORS second origin bad", "GATEHOUSE_CORS_ORIGINS", "https://ok.example.com,ftp://bad.example.com"},
		{"bad log level", "GATEHOUSE_LOG_LEVEL", "verbose"},
		{"log level case", "GATEHOUSE_LOG_LEVEL", "INFO"},
		{"bad log format", "GATEHOUSE_LOG_FORMAT", "xml"},
		{"Redis URL not redis", "GATEHOUSE_REDIS_URL", "http://localhost:6379/0"},
		{"OTP too short", "GATEHOUSE_OTP_LENGTH", "4"},
		{"OTP length not a number", "GATEHOUSE_OTP_LENGTH", "six"},
		{"OTP TTL too short", "GATEHOUSE_OTP_TTL", "10s"},
		{"OTP attempts zero", "GATEHOUSE_OTP_MAX_ATTEMPTS", "0"},
		{"MFA failure limit zero", "GATEHOUSE_MFA_FAILURE_LIMIT", "0"},
		{"MFA failure limit too high", "GATEHOUSE_MFA_FAILURE_LIMIT", "1000"},
		{"client code failure limit negative", "GATEHOUSE_CLIENT_CODE_FAILURE_LIMIT", "-1"},
		{"client send limit not a number", "GATEHOUSE_CLIENT_SEND_LIMIT", "many"},
		{"global send limit zero", "GATEHOUSE_GLOBAL_SEND_LIMIT", "0"},
		{"ceremony limit zero", "GATEHOUSE_CLIENT_CEREMONY_LIMIT", "0"},
		{"ceremony limit too high", "GATEHOUSE_CLIENT_CEREMONY_LIMIT", "100000"},
		{"magic link TTL too long", "GATEHOUSE_MAGIC_LINK_TTL", "48h"},
		{"redirect with path", "GATEHOUSE_ALLOWED_REDIRECTS", "https://app.example.com/return"},
		{"redirect wildcard of a top-level domain", "GATEHOUSE_ALLOWED_REDIRECTS", "https://*.com"},
		{"redirect wildcard with path", "GATEHOUSE_ALLOWED_REDIRECTS", "https://*.example.com/x"},
		{"redirect wildcard mid-name", "GATEHOUSE_ALLOWED_REDIRECTS", "https://app.*.example.com"},
		{"cookie domain without a dot", "GATEHOUSE_COOKIE_DOMAIN", "localhost"},
		{"cookie domain an address", "GATEHOUSE_COOKIE_DOMAIN", "127.0.0.1"},
		{"cookie domain with a scheme", "GATEHOUSE_COOKIE_DOMAIN", "https://example.com"},
		{"cookie domain not the public URL's", "GATEHOUSE_COOKIE_DOMAIN", "example.com"},
		{"mail from not an address", "GATEHOUSE_MAIL_FROM", "not an address"},
		{"bad bool for passwordless sign-up", "GATEHOUSE_PASSWORDLESS_SIGNUP", "sometimes"},
		{"unknown country", "GATEHOUSE_SMS_ALLOWED_COUNTRIES", "US,XX"},
		{"country as a name", "GATEHOUSE_SMS_ALLOWED_COUNTRIES", "USA"},
		{"empty country in the list", "GATEHOUSE_SMS_ALLOWED_COUNTRIES", "US,,CA"},
		{"negative country cap", "GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT", "-1"},
		{"country cap not a number", "GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT", "lots"},
		{"no delivery at once", "GATEHOUSE_DELIVERY_CONCURRENCY", "0"},
		{"more deliveries at once than connections allowed", "GATEHOUSE_DELIVERY_CONCURRENCY", "1000"},
		{"empty delivery batch", "GATEHOUSE_DELIVERY_BATCH", "0"},
		{"delivery batch over a thousand", "GATEHOUSE_DELIVERY_BATCH", "5000"},
		{"delivery batch not a number", "GATEHOUSE_DELIVERY_BATCH", "many"},
		{"Twilio API URL without scheme", "GATEHOUSE_TWILIO_API_URL", "api.twilio.com"},
		{"Twilio API URL with path", "GATEHOUSE_TWILIO_API_URL", "https://api.twilio.com/2010-04-01"},
		{"bad bool for forward-auth redirect", "GATEHOUSE_FORWARD_AUTH_REDIRECT", "yes please"},
		{"trusted proxy prefix too long", "GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"trusted proxy a host name", "GATEHOUSE_TRUSTED_PROXIES", "proxy.internal"},
		{"trusted proxy wildcard", "GATEHOUSE_TRUSTED_PROXIES", "*"},
		{"plain http public URL outside dev", "GATEHOUSE_PUBLIC_URL", "http://auth.example.com"},
		{"bad bool for TLS at a proxy", "GATEHOUSE_TLS_TERMINATED_BY_PROXY", "perhaps"},
		{"RP ID not a parent of the public host", "GATEHOUSE_WEBAUTHN_RP_ID", "example.org"},
		{"RP ID an address", "GATEHOUSE_WEBAUTHN_RP_ID", "127.0.0.1"},
		{"RP ID a URL", "GATEHOUSE_WEBAUTHN_RP_ID", "https://localhost"},
		{"passkey origin elsewhere", "GATEHOUSE_WEBAUTHN_ORIGINS", "https://app.example.com"},
		{"passkey origin not an origin", "GATEHOUSE_WEBAUTHN_ORIGINS", "localhost:5173"},
		{"passkey origin unknown app scheme", "GATEHOUSE_WEBAUTHN_ORIGINS", "myapp:thing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"GATEHOUSE_SECRET": testSecret, tc.variable: tc.value}
			_, err := gatehouse.LoadConfig(vars)
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.variable, tc.value)
			}
			if !strings.HasPrefix(err.Error(), tc.variable+": ") {
				t.Errorf("error %q does not start with %q", err, tc.variable+": ")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}

	t.Run("missing secret outside dev", func(t *testing.T) {
		t.Parallel()
		_, err := gatehouse.LoadConfig(map[string]string{})
		if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_SECRET: ") {
			t.Errorf("error %v, want one about GATEHOUSE_SECRET", err)
		}
		// Dev mode makes its own.
		if _, err := gatehouse.LoadConfig(map[string]string{"GATEHOUSE_DEV": "true"}); err != nil {
			t.Errorf("dev mode without a secret: %v", err)
		}
	})
}

// TestLoadConfigEveryProblem: with many bad settings at once, the one
// error has a line for each, naming its variable. Values that do not parse
// come first and alone (what Validate would say of the others could be a
// consequence of them); values that parse but are out of bounds all come
// together next.
func TestLoadConfigEveryProblem(t *testing.T) {
	t.Parallel()
	type setting struct{ variable, value string }
	for _, tc := range []struct {
		name string
		bad  []setting
	}{
		{"values that do not parse", []setting{
			{"GATEHOUSE_DEV", "maybe"},
			{"GATEHOUSE_SESSION_TTL", "3600"},
			{"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT", "lots"},
			{"GATEHOUSE_OTP_LENGTH", "six"},
			{"GATEHOUSE_PASSWORDLESS_SIGNUP", "sometimes"},
			{"GATEHOUSE_FORWARD_AUTH_REDIRECT", "yes please"},
		}},
		{"values out of bounds", []setting{
			{"GATEHOUSE_ADDR", "  "},
			{"GATEHOUSE_PUBLIC_URL", "ftp://auth.example.com"},
			{"GATEHOUSE_DATABASE_URL", "mysql://root:hunter2@db/gh"},
			{"GATEHOUSE_REDIS_URL", "memcache://localhost:11211"},
			{"GATEHOUSE_SECRET", "only-31-characters-long-secret!"},
			{"GATEHOUSE_ADMIN_API_KEY", "short"},
			{"GATEHOUSE_ACCESS_TOKEN_TTL", "25h"},
			{"GATEHOUSE_REFRESH_TOKEN_TTL", "-720h"},
			{"GATEHOUSE_REFRESH_GRACE", "2m"},
			{"GATEHOUSE_SESSION_TTL", "0s"},
			{"GATEHOUSE_SESSION_COOKIE_NAME", "a;b"},
			{"GATEHOUSE_CORS_ORIGINS", "*"},
			{"GATEHOUSE_MAIL_FROM", "not an address"},
			{"GATEHOUSE_POSTMARK_API_URL", "api.postmarkapp.com"},
			{"GATEHOUSE_TWILIO_API_URL", "https://api.twilio.com/2010-04-01"},
			{"GATEHOUSE_SMS_ALLOWED_COUNTRIES", "us,XX"},
			{"GATEHOUSE_SMS_COUNTRY_HOURLY_LIMIT", "-1"},
			{"GATEHOUSE_APP_NAME", " "},
			{"GATEHOUSE_OTP_LENGTH", "4"},
			{"GATEHOUSE_OTP_TTL", "10s"},
			{"GATEHOUSE_OTP_MAX_ATTEMPTS", "0"},
			{"GATEHOUSE_MAGIC_LINK_TTL", "48h"},
			{"GATEHOUSE_ALLOWED_REDIRECTS", "https://app.example.com/return"},
			{"GATEHOUSE_LOG_LEVEL", "verbose"},
			{"GATEHOUSE_LOG_FORMAT", "xml"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"GATEHOUSE_SECRET": testSecret}
			var want []string
			for _, b := range tc.bad {
				vars[b.variable] = b.value
				want = append(want, b.variable)
			}
			_, err := gatehouse.LoadConfig(vars)
			if err == nil {
				t.Fatal("accepted")
			}
			var got []string
			for line := range strings.SplitSeq(err.Error(), "\n") {
				name, _, ok := strings.Cut(line, ": ")
				if !ok || !strings.HasPrefix(name, "GATEHOUSE_") {
					t.Errorf("line %q does not start with a variable's name", line)
				}
				got = append(got, name)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("lines name\n%q\nwant one for each of\n%q\nerror:\n%v", got, want, err)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), testSecret) ||
				strings.Contains(err.Error(), vars["GATEHOUSE_SECRET"]) {
				t.Errorf("error shows a secret:\n%v", err)
			}
		})
	}
}

// TestValidateChangesNothing: Validate only reports; the derived settings
// (trimmed URL, default redirects and sender, console senders, cookie
// prefix, upper-case countries) are New's to fill, on its own copy.
func TestValidateChangesNothing(t *testing.T) {
	t.Parallel()
	cfg := gatehouse.DefaultConfig()
	cfg.Dev = true
	cfg.PublicURL = "https://auth.example.com/"
	cfg.SMSAllowedCountries = []string{"us", " gb"}
	cfg.CORSOrigins = []string{"https://app.example.com"}
	before := cfg
	before.SMSAllowedCountries = slices.Clone(cfg.SMSAllowedCountries)
	before.CORSOrigins = slices.Clone(cfg.CORSOrigins)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, before) {
		t.Errorf("Validate changed the Config:\n%+v\nwas\n%+v", cfg, before)
	}

	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	cfg.Logger = discardLogger()
	before.DatabaseURL, before.Logger = cfg.DatabaseURL, cfg.Logger
	g, err := gatehouse.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !reflect.DeepEqual(cfg, before) {
		t.Errorf("New changed the caller's Config:\n%+v\nwas\n%+v", cfg, before)
	}
	got := g.Config()
	if got.PublicURL != "https://auth.example.com" || got.MailURL != "console:" || got.SMSURL != "console:" ||
		got.SessionCookieName != "__Host-gatehouse_session" || fmt.Sprint(got.SMSAllowedCountries) != "[US GB]" {
		t.Errorf("New did not derive the settings: %+v", got)
	}
}

// TestDefaultsHaveOneHome: no struct tag holds a default (so there is no
// second copy to drift), DefaultConfig takes each from the package that
// owns it, and an empty environment means DefaultConfig.
func TestDefaultsHaveOneHome(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[gatehouse.Config]()
	for i := range typ.NumField() {
		if d, ok := typ.Field(i).Tag.Lookup("envDefault"); ok {
			t.Errorf("Config.%s has a default in its tag (%q): defaults live in DefaultConfig and the packages it reads", typ.Field(i).Name, d)
		}
	}

	d, a := gatehouse.DefaultConfig(), auth.DefaultConfig()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"AccessTokenTTL", d.AccessTokenTTL, a.AccessTokenTTL},
		{"RefreshTokenTTL", d.RefreshTokenTTL, a.RefreshTokenTTL},
		{"RefreshGrace", d.RefreshGrace, a.RefreshGrace},
		{"SessionTTL", d.SessionTTL, a.SessionTTL},
		{"OTPLength", d.OTPLength, a.OTPLength},
		{"OTPTTL", d.OTPTTL, a.OTPTTL},
		{"OTPMaxAttempts", d.OTPMaxAttempts, a.OTPMaxAttempts},
		{"MFAFailureLimit", d.MFAFailureLimit, a.MFAFailureLimit},
		{"ClientCodeFailureLimit", d.ClientCodeFailureLimit, a.ClientCodeFailureLimit},
		{"ClientSendLimit", d.ClientSendLimit, a.ClientSendLimit},
		{"GlobalSendLimit", d.GlobalSendLimit, a.GlobalSendLimit},
		{"ClientCeremonyLimit", d.ClientCeremonyLimit, a.ClientCeremonyLimit},
		{"MagicLinkTTL", d.MagicLinkTTL, a.MagicLinkTTL},
		{"PasswordlessSignup", d.PasswordlessSignup, *a.PasswordlessSignup},
		{"AppName", d.AppName, a.AppName},
		{"SessionCookieName", d.SessionCookieName, httpauth.DefaultCookieName},
		{"PostmarkAPIURL", d.PostmarkAPIURL, mail.DefaultPostmarkAPIURL},
		{"TwilioAPIURL", d.TwilioAPIURL, sms.DefaultTwilioAPIURL},
	} {
		if c.got != c.want {
			t.Errorf("DefaultConfig().%s = %v, its owner's default is %v", c.name, c.got, c.want)
		}
	}

	loaded, err := gatehouse.LoadConfig(map[string]string{"GATEHOUSE_SECRET": testSecret})
	if err != nil {
		t.Fatal(err)
	}
	d.Secret = testSecret
	// Derived from the public URL by LoadConfig, empty in DefaultConfig.
	loaded.AllowedRedirects, loaded.MailFrom, loaded.WebAuthnRPID = nil, "", ""
	if !reflect.DeepEqual(loaded, d) {
		t.Errorf("an empty environment loads\n%+v\nDefaultConfig is\n%+v", loaded, d)
	}
}

// TestValidateThroughNew: New refuses a bad Config built in code, not only
// one from the environment, before touching any file.
func TestValidateThroughNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	cfg.Secret = testSecret
	cfg.SessionCookieName = "bad name"
	if _, err := gatehouse.New(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_SESSION_COOKIE_NAME: ") {
		t.Errorf("New with a bad cookie name: %v", err)
	}
	cfg = gatehouse.DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	if _, err := gatehouse.New(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_SECRET: ") {
		t.Errorf("New without a secret outside dev mode: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused New left files: %v", entries)
	}
}

// TestDevSecret: dev mode without a secret keeps a generated one beside the
// SQLite file, readable by its owner only, and the next start reuses it.
func TestDevSecret(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"sqlite:", "sqlite://", "file:"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			cfg := gatehouse.DefaultConfig()
			cfg.Dev = true
			cfg.DatabaseURL = scheme + filepath.Join(dir, "gatehouse.db")
			cfg.Logger = discardLogger()

			start := func() (secret string, jwks []byte) {
				t.Helper()
				g, err := gatehouse.New(context.Background(), cfg)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer g.Close()
				return g.Config().Secret, g.Keys().JWKS(time.Now())
			}
			secret, jwks := start()

			path := filepath.Join(dir, "gatehouse.secret")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatalf("no secret file beside the database: %v", err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.TrimSpace(string(b)); len(s) < 32 || s != secret {
				t.Errorf("secret file holds %d characters, the server uses another one or a short one", len(s))
			}
			if cfg.Secret != "" {
				t.Fatal("New changed the caller's Config")
			}

			// The next start reuses it: the file is unchanged and the
			// signing key sealed under it opens (the same key is published).
			secret2, jwks2 := start()
			b2, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if secret2 != secret || string(b2) != string(b) {
				t.Error("the second start made a new secret")
			}
			if string(jwks2) != string(jwks) {
				t.Errorf("the second start publishes other keys:\n%s\n%s", jwks, jwks2)
			}
		})
	}

	t.Run("short file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "gatehouse.secret"), []byte("too short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := gatehouse.DefaultConfig()
		cfg.Dev = true
		cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
		if _, err := gatehouse.New(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_SECRET: ") {
			t.Errorf("a short dev secret file: %v", err)
		}
	})

	t.Run("given secret wins", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cfg := gatehouse.DefaultConfig()
		cfg.Dev = true
		cfg.Secret = testSecret
		cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
		cfg.Logger = discardLogger()
		g, err := gatehouse.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		g.Close()
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.secret")); !os.IsNotExist(err) {
			t.Errorf("a secret file was written although a secret was given: %v", err)
		}
	})
}

// Defaults derived from the public URL come from the one New is given, not
// from the default URL DefaultConfig started with.
func TestDerivedDefaultsFollowPublicURL(t *testing.T) {
	t.Parallel()
	got := gatehousetest.Start(t, gatehousetest.WithConfig(func(c *gatehouse.Config) {
		c.PublicURL = "https://auth.example.com"
	})).Config
	if fmt.Sprint(got.AllowedRedirects) != "[https://auth.example.com]" || got.MailFrom != "no-reply@auth.example.com" {
		t.Fatalf("allowed redirects %v, mail from %q; want the public URL's", got.AllowedRedirects, got.MailFrom)
	}
}

// TestPublicURLPath: the public URL's path is the base path Gatehouse is
// mounted under, and the settings derived from the public URL that name
// an origin (the default allowed redirect, passkeys' origin, the mail
// sender) take its origin without the path.
func TestPublicURLPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ public, base, redirect string }{
		{"https://auth.example.com", "", "https://auth.example.com"},
		{"https://auth.example.com/", "", "https://auth.example.com"},
		{"https://app.example.com/auth", "/auth", "https://app.example.com"},
		{"https://app.example.com/auth/", "/auth", "https://app.example.com"},
		{"https://app.example.com/my-app/auth_v2.x~", "/my-app/auth_v2.x~", "https://app.example.com"},
	} {
		t.Run(tc.public, func(t *testing.T) {
			t.Parallel()
			c, err := gatehouse.LoadConfig(map[string]string{"GATEHOUSE_SECRET": testSecret, "GATEHOUSE_PUBLIC_URL": tc.public})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BasePath(); got != tc.base {
				t.Errorf("BasePath() = %q, want %q", got, tc.base)
			}
			if fmt.Sprint(c.AllowedRedirects) != "["+tc.redirect+"]" || c.MailFrom != "no-reply@"+strings.TrimPrefix(tc.redirect, "https://") {
				t.Errorf("allowed redirects %v, mail from %q; want the public URL's origin", c.AllowedRedirects, c.MailFrom)
			}
			if want := strings.TrimPrefix(tc.redirect, "https://"); c.WebAuthnRPID != want {
				t.Errorf("passkeys' RP ID %q, want %q", c.WebAuthnRPID, want)
			}
		})
	}
}

// TestOpenAPIFollowsConfig: /openapi.json quotes the settings this server
// runs with, not the defaults.
func TestOpenAPIFollowsConfig(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t, gatehousetest.WithConfig(func(cfg *gatehouse.Config) {
		cfg.OTPMaxAttempts = 3
		cfg.OTPLength = 8
		cfg.OTPTTL = 10 * time.Minute
		cfg.MagicLinkTTL = time.Hour
		cfg.RefreshGrace = 30 * time.Second
		cfg.AccessTokenTTL = 5 * time.Minute
		cfg.SessionTTL = 48 * time.Hour
		cfg.RefreshTokenTTL = 90 * time.Minute
	}))
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	res := s.Do(t, http.MethodGet, "/openapi.json", nil).Want(http.StatusOK)
	res.Decode(&doc)
	for _, tc := range []struct{ path, text string }{
		{"/v1/token", "after 3 wrong codes"},
		{"/v1/token", "replaying a rotated one more than 30 seconds after its rotation revokes the session"},
		{"/v1/token", "An access token lives 5 minutes"},
		{"/v1/token", "A session unused for 2 days ends, and none outlives 90 minutes after its sign-in"},
		{"/v1/recover/verify", "after 3 wrong codes"},
		{"/v1/user/phone/verify", "after 3 wrong codes"},
		{"/v1/user/email/verify", "after 3 wrong codes"},
		{"/v1/otp", "A code has 8 digits and is valid 10 minutes; a link is valid 1 hour."},
	} {
		if d := doc.Paths[tc.path]["post"].Description; !strings.Contains(d, tc.text) {
			t.Errorf("POST %s says %q; want it to contain %q", tc.path, d, tc.text)
		}
	}
	if body := string(res.Body); strings.Contains(body, "5 wrong codes") || strings.Contains(body, "10 seconds") {
		t.Error("the document still quotes a default")
	}
}

// TestTrustedProxiesEveryBadEntry: each bad entry of
// GATEHOUSE_TRUSTED_PROXIES is its own line, naming it.
func TestTrustedProxiesEveryBadEntry(t *testing.T) {
	t.Parallel()
	_, err := gatehouse.LoadConfig(map[string]string{
		"GATEHOUSE_SECRET":          testSecret,
		"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal,::1,300.1.1.1/8",
	})
	if err == nil {
		t.Fatal("bad entries accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("error %q: %d lines, want 2", err, len(lines))
	}
	for i, bad := range []string{"proxy.internal", "300.1.1.1/8"} {
		if !strings.HasPrefix(lines[i], "GATEHOUSE_TRUSTED_PROXIES: ") || !strings.Contains(lines[i], bad) {
			t.Errorf("line %d %q does not name GATEHOUSE_TRUSTED_PROXIES and %q", i, lines[i], bad)
		}
	}
}

// TestPlainHTTPPublicURL: outside dev mode a plain-http public URL other
// than localhost is refused (the Secure session cookie would never come
// back), with a line naming both settings, unless TLS ends at a proxy in
// front of Gatehouse.
func TestPlainHTTPPublicURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		vars map[string]string
		ok   bool
	}{
		{"http outside dev", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com"}, false},
		{"http on an address outside dev", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://192.0.2.4:3000"}, false},
		{"http with TLS at a proxy", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com", "GATEHOUSE_TLS_TERMINATED_BY_PROXY": "true"}, true},
		{"http in dev mode", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com", "GATEHOUSE_DEV": "true"}, true},
		{"http on localhost", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://localhost:3000"}, true},
		{"http on 127.0.0.1", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://127.0.0.1:3000"}, true},
		{"https", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"GATEHOUSE_SECRET": testSecret}
			for k, v := range tc.vars {
				vars[k] = v
			}
			_, err := gatehouse.LoadConfig(vars)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "GATEHOUSE_PUBLIC_URL: ") || !strings.Contains(msg, "GATEHOUSE_TLS_TERMINATED_BY_PROXY") {
				t.Errorf("error %q: want one line naming GATEHOUSE_PUBLIC_URL and GATEHOUSE_TLS_TERMINATED_BY_PROXY", msg)
			}
		})
	}
}

// TestPasskeySettings: the relying party ID defaults to the public URL's
// host and may widen to a parent domain; the origins are the public URL's
// plus GATEHOUSE_WEBAUTHN_ORIGINS; a public URL whose host cannot be an RP
// ID is a start-up error of one line naming the setting, unless it is
// plain http where no browser offers passkeys (then passkeys are off).
func TestPasskeySettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		vars map[string]string
		rpID string // "" for passkeys off
		bad  string // the variable the error starts with
	}{
		{"https", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com"}, "auth.example.com", ""},
		{"https on a port", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com:8443/"}, "auth.example.com", ""},
		{"https under a path", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://app.example.com/auth"}, "app.example.com", ""},
		{"a parent domain", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "example.com",
			"GATEHOUSE_WEBAUTHN_ORIGINS": "https://www.example.com,https://app.example.com/,android:apk-key-hash:abc"}, "example.com", ""},
		{"localhost", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://localhost:3000"}, "localhost", ""},
		{"TLS at a proxy", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com", "GATEHOUSE_TLS_TERMINATED_BY_PROXY": "true"}, "auth.example.com", ""},
		{"plain http in dev mode: off", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com", "GATEHOUSE_DEV": "true"}, "", ""},
		{"127.0.0.1: off", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://127.0.0.1:3000"}, "", ""},
		{"an https address", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://192.0.2.4"}, "", "GATEHOUSE_PUBLIC_URL"},
		{"an https IPv6 address", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://[2001:db8::1]", "GATEHOUSE_MAIL_FROM": "auth@example.com"}, "", "GATEHOUSE_PUBLIC_URL"},
		{"an address behind TLS at a proxy", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://192.0.2.4", "GATEHOUSE_TLS_TERMINATED_BY_PROXY": "true"}, "", "GATEHOUSE_PUBLIC_URL"},
		{"a one-label host", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://intranet"}, "", "GATEHOUSE_PUBLIC_URL"},
		{"an RP ID on 127.0.0.1", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://127.0.0.1:3000", "GATEHOUSE_WEBAUTHN_RP_ID": "localhost"}, "", "GATEHOUSE_WEBAUTHN_RP_ID"},
		{"origins in dev mode on plain http", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://auth.example.com", "GATEHOUSE_DEV": "true", "GATEHOUSE_WEBAUTHN_ORIGINS": "https://auth.example.com"}, "", "GATEHOUSE_WEBAUTHN_ORIGINS"},
		{"a sibling RP ID", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "app.example.com"}, "", "GATEHOUSE_WEBAUTHN_RP_ID"},
		{"a suffix that is not a parent", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.badexample.com", "GATEHOUSE_WEBAUTHN_RP_ID": "example.com"}, "", "GATEHOUSE_WEBAUTHN_RP_ID"},
		{"a public suffix", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "com"}, "", "GATEHOUSE_WEBAUTHN_RP_ID"},
		{"an origin outside the RP ID", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_ORIGINS": "https://www.example.com"}, "", "GATEHOUSE_WEBAUTHN_ORIGINS"},
		{"a plain http origin", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "example.com", "GATEHOUSE_WEBAUTHN_ORIGINS": "http://www.example.com"}, "", "GATEHOUSE_WEBAUTHN_ORIGINS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"GATEHOUSE_SECRET": testSecret}
			for k, v := range tc.vars {
				vars[k] = v
			}
			c, err := gatehouse.LoadConfig(vars)
			if tc.bad != "" {
				if err == nil {
					t.Fatal("accepted")
				}
				msg := err.Error()
				if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, tc.bad+": ") {
					t.Errorf("error %q: want one line starting with %s", msg, tc.bad)
				}
				t.Log(msg)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.WebAuthnRPID != tc.rpID {
				t.Errorf("GATEHOUSE_WEBAUTHN_RP_ID = %q, want %q", c.WebAuthnRPID, tc.rpID)
			}
		})
	}
}

// TestLoadConfigProviders: providers come from GATEHOUSE_OAUTH_* with the
// rest of the environment, and a half-set one stops start-up with the one
// line naming its variable, beside the other problems.
func TestLoadConfigProviders(t *testing.T) {
	t.Parallel()
	base := map[string]string{"GATEHOUSE_SECRET": testSecret, "GATEHOUSE_PUBLIC_URL": "https://auth.example.com/"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(base)
		maps.Copy(m, extra)
		return m
	}
	c, err := gatehouse.LoadConfig(with(map[string]string{
		"GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID": "gid", "GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "gsecret",
		"GATEHOUSE_OAUTH_GITHUB_CLIENT_ID": "hid", "GATEHOUSE_OAUTH_GITHUB_CLIENT_SECRET": "hsecret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OAuth) != 2 || c.OAuth[0].Name != "github" || c.OAuth[1].Name != "google" ||
		c.OAuth[1].RedirectURI != "https://auth.example.com/v1/oauth/google/callback" {
		t.Errorf("providers %+v", c.OAuth)
	}
	if c, err := gatehouse.LoadConfig(base); err != nil || len(c.OAuth) != 0 {
		t.Errorf("no provider set: %v %v", c.OAuth, err)
	}

	_, err = gatehouse.LoadConfig(with(map[string]string{"GATEHOUSE_OAUTH_GOOGLE_CLIENT_SECRET": "gsecret"}))
	if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("half-set provider: %v, want one line naming GATEHOUSE_OAUTH_GOOGLE_CLIENT_ID", err)
	}
	if err != nil && strings.Contains(err.Error(), "gsecret") {
		t.Errorf("error %q shows the secret", err)
	}
	// With another problem: a line each.
	_, err = gatehouse.LoadConfig(with(map[string]string{"GATEHOUSE_OAUTH_ACME_CLIENT_ID": "aid", "GATEHOUSE_SESSION_TTL": "-1h"}))
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_OAUTH_ACME_ISSUER") || !strings.Contains(err.Error(), "GATEHOUSE_SESSION_TTL") {
		t.Errorf("two problems: %v", err)
	}
}
