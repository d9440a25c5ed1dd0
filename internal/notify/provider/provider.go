// Package provider holds what the senders that call a provider's HTTP API
// (Postmark for mail, Twilio for SMS) share: the base URL setting, the
// client, how much of an answer is read, how an unreadable answer is
// quoted, and which failures are worth another try.
package provider

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/notify"
)

// MaxReply bounds how much of an answer is read.
const MaxReply = 64 << 10

// BaseURL returns base, or def when base is empty, without a trailing
// slash, and an error naming setting when it is not an http(s) URL with a
// host.
func BaseURL(setting, base, def string) (string, error) {
	if base == "" {
		base = def
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s: %q is not an http(s) URL", setting, base)
	}
	return strings.TrimSuffix(base, "/"), nil
}

// Client returns c, or a client with timeout when c is nil.
func Client(c *http.Client, timeout time.Duration) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: timeout}
}

// ReadReply reads at most MaxReply bytes of an answer's body.
func ReadReply(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, MaxReply))
}

// ByStatus returns failure as the worker should take it given the answer's
// status: 429 (a rate limit) and 5xx are temporary, other 4xx permanent
// (the same request would fail again), anything else temporary.
func ByStatus(status int, failure error) error {
	switch {
	case status == http.StatusTooManyRequests, status >= 500:
		return failure
	case status >= 400:
		return notify.Permanent(failure)
	default:
		return failure
	}
}

// Snippet returns the start of an answer that is not the provider's JSON
// (a proxy's error page) on one line, for an error.
func Snippet(b []byte) string {
	s := Cut(strings.Join(strings.Fields(string(b)), " "), 200)
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// Cut shortens s to at most n bytes and an ellipsis, without splitting a
// UTF-8 sequence.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
