// Package mail holds the email senders of the outbox: console (dev), SMTP
// (through github.com/wneessen/go-mail) and Postmark's HTTP API, chosen by
// the URL in GATEHOUSE_MAIL_URL.
package mail

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// DefaultPostmarkAPIURL is Postmark's API base, used when
// GATEHOUSE_POSTMARK_API_URL is not set.
const DefaultPostmarkAPIURL = "https://api.postmarkapp.com"

// DefaultTimeout bounds one delivery (connect, TLS, auth and send, or one
// HTTP request), well under the worker's lease.
const DefaultTimeout = 30 * time.Second

// Options carries what the URL cannot: test hooks and the places output
// goes. The zero value is right for production.
type Options struct {
	// Console receives console: messages (os.Stdout when nil).
	Console io.Writer
	// PostmarkAPIURL is GATEHOUSE_POSTMARK_API_URL (DefaultPostmarkAPIURL
	// when empty); tests point it at a local server.
	PostmarkAPIURL string
	// HTTPClient sends Postmark requests (a client with Timeout when nil).
	HTTPClient *http.Client
	// TLSConfig is the base of SMTP's TLS configuration, for tests that
	// trust their own certificate through RootCAs; the server name is
	// always set from the URL's host. nil means the system's roots.
	TLSConfig *tls.Config
	// Timeout bounds one delivery (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxIdleConns bounds the SMTP connections kept open between messages
	// (notify.DefaultConcurrency when zero): as many as the worker sends
	// at once, so a steady stream of batches dials nothing.
	MaxIdleConns int
}

// New returns the sender GATEHOUSE_MAIL_URL names:
//
//	console:                          print messages (dev mode)
//	smtp://user:pass@host:port        STARTTLS required (port 587 by default)
//	smtp://host:port?tls=none         no TLS at all, for a local relay
//	smtps://user:pass@host:port       implicit TLS (port 465 by default)
//	postmark://SERVER_TOKEN           Postmark's email API
//
// SMTP authenticates with PLAIN when the URL has a user (?auth=login for
// LOGIN) and never sends the password unencrypted except to localhost.
// from is GATEHOUSE_MAIL_FROM, the sender of every message; console: does
// not need it. Errors name the variable at fault and never repeat the
// password or token.
func New(mailURL, from string, opts Options) (notify.Sender, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	u, err := url.Parse(mailURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: cannot parse: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "console" {
		if err := checkFrom(from); err != nil {
			return nil, err
		}
	}
	switch scheme {
	case "console":
		w := opts.Console
		if w == nil {
			w = os.Stdout
		}
		return newConsole(w, from), nil
	case "smtp", "smtps":
		cfg, err := parseSMTP(u, scheme == "smtps")
		if err != nil {
			return nil, err
		}
		return newSMTP(cfg, from, opts)
	case "postmark":
		token := u.Host
		if token == "" {
			token = u.Opaque
		}
		if token == "" {
			return nil, errors.New("mail: GATEHOUSE_MAIL_URL: postmark:// needs the server token: postmark://SERVER_TOKEN")
		}
		if len(u.Query()) > 0 || u.User != nil || (u.Path != "" && u.Path != "/") {
			return nil, errors.New("mail: GATEHOUSE_MAIL_URL: postmark:// takes only the server token: postmark://SERVER_TOKEN")
		}
		return newPostmark(token, from, opts)
	case "":
		return nil, errors.New("mail: GATEHOUSE_MAIL_URL: missing scheme; want console:, smtp://, smtps:// or postmark://")
	default:
		return nil, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: unknown scheme %q; want console:, smtp://, smtps:// or postmark://", u.Scheme)
	}
}

func checkFrom(from string) error {
	if from == "" {
		return errors.New("mail: GATEHOUSE_MAIL_FROM: empty sender address")
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return fmt.Errorf("mail: GATEHOUSE_MAIL_FROM: %q: %w", from, err)
	}
	return nil
}

// smtpConfig is what an smtp:// or smtps:// URL says.
type smtpConfig struct {
	host      string
	port      int
	implicit  bool // smtps: TLS from the first byte
	noTLS     bool // ?tls=none
	user      string
	pass      string
	authLogin bool // ?auth=login
}

func parseSMTP(u *url.URL, implicit bool) (smtpConfig, error) {
	c := smtpConfig{host: u.Hostname(), implicit: implicit, port: 587}
	if implicit {
		c.port = 465
	}
	if c.host == "" {
		return c, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: %s:// needs a host: %s://user:pass@host:port", u.Scheme, u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: bad port %q", p)
		}
		c.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return c, errors.New("mail: GATEHOUSE_MAIL_URL: an SMTP URL takes no path")
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		if c.user == "" {
			return c, errors.New("mail: GATEHOUSE_MAIL_URL: empty SMTP user name")
		}
	}
	for key, vals := range u.Query() {
		val := strings.ToLower(vals[len(vals)-1])
		switch key {
		case "tls":
			switch val {
			case "none":
				if implicit {
					return c, errors.New("mail: GATEHOUSE_MAIL_URL: smtps:// always uses TLS; use smtp://…?tls=none for a relay without TLS")
				}
				c.noTLS = true
			case "starttls", "required":
			default:
				return c, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: tls=%q; want tls=none (or leave it out for STARTTLS)", val)
			}
		case "auth":
			switch val {
			case "plain":
			case "login":
				c.authLogin = true
			default:
				return c, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: auth=%q; want plain or login", val)
			}
			if c.user == "" {
				return c, errors.New("mail: GATEHOUSE_MAIL_URL: auth= needs a user: smtp://user:pass@host")
			}
		default:
			return c, fmt.Errorf("mail: GATEHOUSE_MAIL_URL: unknown parameter %q; want tls or auth", key)
		}
	}
	return c, nil
}
