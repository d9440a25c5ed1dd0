// Package gatehousetest boots a real Gatehouse for tests: gatehouse.New
// served by httptest on a fresh database (SQLite by default, PostgreSQL on
// request), with a fake clock, cheap password hashing, optionally an
// in-process SMTP server and a fake Twilio, and a log that must never hold
// a secret. Every package's server tests start their servers here, so they
// all test the server gatehouse.New wires, not a copy of its wiring.
package gatehousetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/notify/sms/twiliotest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/oauthtest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// Settings of every test server unless an option changes them. Secret,
// AdminKey and Password are remembered as secrets of every server's log.
const (
	Secret    = "gatehousetest-secret-0123456789-abcdefghij" // 32+ characters
	AdminKey  = "gatehousetest-admin-key-0123456789"
	PublicURL = "https://auth.example.test"
	Password  = "correct horse battery staple"

	// The fake Twilio account of WithTwilio.
	TwilioSID   = "AC0123456789abcdef0123456789abcdef"
	TwilioToken = "twilio-auth-token-0123456789abcdef"
	TwilioFrom  = "+15005550006"

	// Wait bounds the wait for a message: the delivery worker is woken at
	// once, and otherwise polls every second.
	Wait = 15 * time.Second
)

// DB is a kind of database a test server can run on.
type DB = sqltest.DB

// The kinds of database: SQLite (a file in the test's temporary folder)
// and PostgreSQL (a database of its own on GATEHOUSE_TEST_POSTGRES_URL).
var (
	SQLite   = sqltest.SQLiteDB
	Postgres = sqltest.PostgresDB
)

// EachDB runs fn as parallel subtests "sqlite" and "postgres", the second
// skipped unless GATEHOUSE_TEST_POSTGRES_URL is set.
func EachDB(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	sqltest.EachDB(t, fn)
}

// NewClock returns a fake clock at the real time (whole seconds), so
// nothing the databases stamp on their own is far from it.
func NewClock() *clocktest.Clock { return clocktest.New(time.Now().UTC().Truncate(time.Second)) }

// Server is one Gatehouse served over HTTP.
type Server struct {
	G *gatehouse.Gatehouse
	// URL is the test server's base URL (http://127.0.0.1:PORT, or
	// http://localhost:PORT with OwnPublicURL); Config.PublicURL is
	// PublicURL unless OwnPublicURL or WithConfig chose another.
	URL string
	// Config is the effective configuration (g.Config()).
	Config gatehouse.Config
	Clock  *clocktest.Clock
	// Client does not follow redirects, so each answer can be checked.
	Client *http.Client
	// SMTP is nil unless WithMail or WithSMTP; Twilio nil unless
	// WithTwilio.
	SMTP   *smtptest.Server
	Twilio *twiliotest.Server
	// Logs holds what the server logged, checked for secrets when the test
	// ends.
	Logs *Logs

	t    testing.TB
	http *httptest.Server
	once sync.Once
	mu   sync.Mutex
	db   *sqlstore.Store // the test's own connection (Session)
}

type setup struct {
	db        DB
	dbURL     string
	edits     []func(*gatehouse.Config)
	clock     *clocktest.Clock
	mail      bool
	smtp      *smtptest.Server
	twilio    bool
	logs      *Logs
	quiet     bool
	ownURL    bool
	wrap      func(http.Handler) http.Handler
	expensive bool
	providers []testProvider
	// fakes start a provider's fake once the public URL is known.
	fakes []func(t testing.TB, publicURL string) testProvider
	// settings are more settings of providers by name, on top of theirs.
	settings map[string]map[string]string
}

// testProvider is a provider WithProvider set up.
type testProvider struct {
	name string
	vars map[string]string
	opts []oauth.Option
}

// Option changes how Start boots a server.
type Option func(*setup)

// WithDB runs the server on a fresh database of kind db (SQLite by
// default).
func WithDB(db DB) Option { return func(s *setup) { s.db = db } }

// WithDatabaseURL runs the server on the database at url, which another
// server of the test may share.
func WithDatabaseURL(url string) Option { return func(s *setup) { s.dbURL = url } }

// WithConfig changes the configuration after every other option.
func WithConfig(f func(*gatehouse.Config)) Option {
	return func(s *setup) { s.edits = append(s.edits, f) }
}

// WithRedis shares limits and revocations through the Redis at url, under
// prefix (another server of the test given the same prefix shares them
// too; redistest.Prefix makes one no other test uses).
func WithRedis(url, prefix string) Option {
	return WithConfig(func(c *gatehouse.Config) { c.RedisURL, c.RedisPrefix = url, prefix })
}

// WithClock runs the server on c (shared with another server of the test).
func WithClock(c *clocktest.Clock) Option { return func(s *setup) { s.clock = c } }

// WithMail delivers email to a new in-process SMTP server, unless the
// configuration names another sender.
func WithMail() Option { return func(s *setup) { s.mail = true } }

// WithSMTP delivers email to smtp (shared with another server of the
// test).
func WithSMTP(smtp *smtptest.Server) Option {
	return func(s *setup) { s.mail, s.smtp = true, smtp }
}

// WithTwilio sends SMS through a new fake Twilio (whose auth token is then
// a secret of the log too).
func WithTwilio() Option { return func(s *setup) { s.twilio = true } }

// WithLogs logs to l (shared with another server of the test).
func WithLogs(l *Logs) Option { return func(s *setup) { s.logs = l } }

// QuietLog drops log lines (benchmarks: the buffer would grow with every
// request). Nothing is then checked for secrets.
func QuietLog() Option { return func(s *setup) { s.quiet = true } }

// OwnPublicURL makes the test server's own URL the public URL (and an
// allowed redirect), for a browser or a verifier that follows the issuer's
// links. That URL is then http://localhost:PORT (the listener stays on
// 127.0.0.1, which localhost resolves to): an IP address cannot be a
// WebAuthn relying party ID, and http://localhost is the one plain-http
// origin browsers allow passkeys on, so the server's passkeys are on.
func OwnPublicURL() Option { return func(s *setup) { s.ownURL = true } }

// WithMiddleware serves the server through wrap (to watch or break the
// requests it gets).
func WithMiddleware(wrap func(http.Handler) http.Handler) Option {
	return func(s *setup) { s.wrap = wrap }
}

// RealHashing hashes passwords at the production cost instead of the
// cheapest (Config.CheapPasswordHashing).
func RealHashing() Option { return func(s *setup) { s.expensive = true } }

// WithProvider turns on the provider name with its settings (the
// GATEHOUSE_OAUTH_<NAME>_ variables' suffixes: "CLIENT_ID", "ISSUER", ...)
// read as the environment's are, and builds it with opts.
func WithProvider(name string, settings map[string]string, opts ...oauth.Option) Option {
	return func(s *setup) { s.providers = append(s.providers, testProvider{name, settings, opts}) }
}

// WithProviderSetting adds the setting (a GATEHOUSE_OAUTH_<NAME>_
// variable's suffix, "CLIENT_IDS" say) to the provider name another
// option turns on.
func WithProviderSetting(name, setting, value string) Option {
	return func(s *setup) {
		if s.settings == nil {
			s.settings = map[string]map[string]string{}
		}
		if s.settings[name] == nil {
			s.settings[name] = map[string]string{}
		}
		s.settings[name][setting] = value
	}
}

// WithOIDCFake starts a fake OpenID Connect provider (oauthtest.NewOIDC,
// signing in u) registered with the server's callback for name, and turns
// it on as a generic provider called name; *fake is set to it before the
// server starts. An empty client ID or secret is a fixed test one.
func WithOIDCFake(name string, o oauthtest.OIDCOptions, u oauthtest.User, fake **oauthtest.OIDC) Option {
	return func(s *setup) {
		s.fakes = append(s.fakes, func(t testing.TB, publicURL string) testProvider {
			if o.ClientID == "" {
				o.ClientID = "gatehouse-" + name
			}
			if o.ClientSecret == "" {
				o.ClientSecret = "fake-" + name + "-client-secret-0123456789"
			}
			if o.Now == nil {
				o.Now = s.clock.Now
			}
			o.RedirectURI = strings.TrimSuffix(publicURL, "/") + "/v1/oauth/" + name + "/callback"
			f := oauthtest.NewOIDC(t, o, u)
			*fake = f
			return testProvider{name, map[string]string{
				"CLIENT_ID": o.ClientID, "CLIENT_SECRET": o.ClientSecret, "ISSUER": f.Issuer,
			}, nil}
		})
	}
}

// WithGitHubFake starts a fake GitHub (oauthtest.NewGitHub, signing in u)
// registered with the server's callback for "github", and turns the
// built-in GitHub provider on against it; *fake is set to it before the
// server starts.
func WithGitHubFake(u oauthtest.GitHubUser, fake **oauthtest.GitHub) Option {
	return func(s *setup) {
		s.fakes = append(s.fakes, func(t testing.TB, publicURL string) testProvider {
			const id, secret = "gatehouse-github", "fake-github-client-secret-0123456789"
			f := oauthtest.NewGitHub(t, id, secret, strings.TrimSuffix(publicURL, "/")+"/v1/oauth/github/callback", u)
			*fake = f
			return testProvider{"github", map[string]string{"CLIENT_ID": id, "CLIENT_SECRET": secret},
				[]oauth.Option{oauth.WithGitHubURLs(f.URL, f.URL)}}
		})
	}
}

// WithAppleFake starts a fake Sign in with Apple (oauthtest.NewOIDC with
// Apple's signed client secret, client_secret_post, and its answer posted
// to the callback) and turns the built-in Apple provider on against it
// with a fresh key; *fake is set to it before the server starts.
func WithAppleFake(u oauthtest.User, fake **oauthtest.OIDC) Option {
	return func(s *setup) {
		s.fakes = append(s.fakes, func(t testing.TB, publicURL string) testProvider {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			const id, team, kid = "com.example.gatehouse", "TEAM123456", "KEY1234567"
			f := oauthtest.NewOIDC(t, oauthtest.OIDCOptions{
				ClientID: id, AuthMethod: "client_secret_post", Now: s.clock.Now,
				RedirectURI: strings.TrimSuffix(publicURL, "/") + "/v1/oauth/apple/callback",
				Apple:       &oauthtest.AppleSecret{TeamID: team, KeyID: kid, Key: &k.PublicKey},
			}, u)
			*fake = f
			key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			return testProvider{"apple", map[string]string{"CLIENT_ID": id, "TEAM_ID": team, "KEY_ID": kid, "PRIVATE_KEY": key},
				[]oauth.Option{oauth.WithIssuer(f.Issuer)}}
		})
	}
}

// Start boots a Gatehouse through gatehouse.New and serves it with
// httptest; both close when the test ends, and the log is then checked for
// every secret the test remembered.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &setup{db: SQLite}
	for _, o := range opts {
		o(s)
	}
	if s.logs == nil {
		s.logs = NewLogs(t) // before the server, so it is checked after the server closed
	}
	s.logs.Secret(Secret, AdminKey, Password)
	if s.clock == nil {
		s.clock = NewClock()
	}
	c := gatehouse.DefaultConfig()
	c.DatabaseURL = s.dbURL
	if c.DatabaseURL == "" {
		c.DatabaseURL = s.db.URL(t)
	}
	c.PublicURL = PublicURL
	c.Secret = Secret
	c.AdminAPIKey = AdminKey
	c.Clock = s.clock
	c.CheapPasswordHashing = !s.expensive
	c.Logger = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if s.quiet {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	srv := &Server{Clock: s.clock, Logs: s.logs, t: t}
	srv.http = httptest.NewUnstartedServer(nil)
	srv.URL = "http://" + srv.http.Listener.Addr().String()
	if s.ownURL {
		_, port, err := net.SplitHostPort(srv.http.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		srv.URL = "http://localhost:" + port
		c.PublicURL = srv.URL
		c.AllowedRedirects = []string{srv.URL}
	}
	if s.twilio {
		srv.Twilio = twiliotest.Start(t, TwilioSID, TwilioToken)
		s.logs.Secret(TwilioToken)
		c.SMSURL = "twilio://" + TwilioSID + ":" + TwilioToken + "@?from=" + TwilioFrom
		c.TwilioAPIURL = srv.Twilio.URL()
	}
	for _, f := range s.edits {
		f(&c)
	}
	for _, f := range s.fakes {
		s.providers = append(s.providers, f(t, c.PublicURL))
	}
	if len(s.providers) > 0 {
		vars := map[string]string{}
		c.OAuthOptions = map[string][]oauth.Option{}
		for _, p := range s.providers {
			for k, v := range p.vars {
				vars["GATEHOUSE_OAUTH_"+strings.ToUpper(p.name)+"_"+k] = v
				if k == "CLIENT_SECRET" {
					s.logs.Secret(v)
				}
			}
			for k, v := range s.settings[p.name] {
				vars["GATEHOUSE_OAUTH_"+strings.ToUpper(p.name)+"_"+k] = v
			}
			c.OAuthOptions[p.name] = p.opts
		}
		providers, err := oauth.LoadConfigs(vars, c.PublicURL)
		if err != nil {
			t.Fatalf("providers: %v", err)
		}
		c.OAuth = providers
	}
	if s.mail && c.MailURL == "" {
		if s.smtp == nil {
			s.smtp = smtptest.Start(t, smtptest.Config{})
		}
		srv.SMTP = s.smtp
		c.MailURL = SMTPURL(s.smtp.Addr)
	}
	if s.mail && !s.ownURL && c.MailFrom == "" {
		c.MailFrom = "no-reply@auth.example.test"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := gatehouse.New(ctx, c)
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	srv.G, srv.Config = g, g.Config()
	var h http.Handler = g
	if s.wrap != nil {
		h = s.wrap(g)
	}
	srv.http.Config.Handler = h
	srv.http.Start()
	srv.Client = srv.http.Client()
	srv.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	srv.Client.Timeout = 30 * time.Second
	t.Cleanup(func() { srv.Close(t) })
	return srv
}

// SMTPURL returns GATEHOUSE_MAIL_URL for a plain local relay at addr.
func SMTPURL(addr string) string { return "smtp://" + addr + "?tls=none" }

// Close stops the server (its delivery worker too); later calls do
// nothing.
func (s *Server) Close(t testing.TB) {
	s.once.Do(func() {
		s.http.Close()
		if err := s.G.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

// Reopen starts a second Gatehouse on the server's database and clock,
// without delivery, as another process (`gatehouse keys rotate`, another
// node) would; it closes when the test ends.
func (s *Server) Reopen(t testing.TB) *gatehouse.Gatehouse {
	t.Helper()
	cfg := s.Config
	cfg.NoDelivery = true
	g, err := gatehouse.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}
