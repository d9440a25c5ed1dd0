package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/notify"
)

// twilio sends through Twilio's Messages API
// (POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json) with plain
// net/http: the official SDK adds 27 MB and 59 packages for one POST.
type twilio struct {
	endpoint   string
	accountSID string
	authToken  string
	from       string
	serviceSID string
	client     *http.Client
}

func newTwilio(cfg twilioConfig, opts Options) (*twilio, error) {
	base := opts.TwilioAPIURL
	if base == "" {
		base = DefaultTwilioAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("sms: GATEHOUSE_TWILIO_API_URL: %q is not an http(s) URL", base)
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: opts.Timeout}
	}
	return &twilio{
		endpoint:   strings.TrimSuffix(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.accountSID) + "/Messages.json",
		accountSID: cfg.accountSID,
		authToken:  cfg.authToken,
		from:       cfg.from,
		serviceSID: cfg.serviceSID,
		client:     client,
	}, nil
}

// twilioError is the body of Twilio's error answers, as documented.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// maxReply bounds how much of an answer is read.
const maxReply = 64 << 10

// SendSMS posts m. Twilio's 4xx answers are permanent (400: an invalid or
// unreachable number and the like; 401: bad credentials), except 429 (rate
// limit); 5xx answers and network errors are temporary. Twilio's own code
// and message are kept in the error, which the worker shows to admins.
func (t *twilio) SendSMS(ctx context.Context, m notify.SMS) error {
	// Twilio would refuse these with a 400 too; refusing here saves the
	// request and says why more plainly.
	if !isE164(m.To) {
		return notify.Permanent(fmt.Errorf("sms: twilio: recipient %q is not an E.164 number", m.To))
	}
	if m.Text == "" {
		return notify.Permanent(fmt.Errorf("sms: twilio: empty message to %s", m.To))
	}
	form := url.Values{"To": {m.To}, "Body": {m.Text}}
	if t.serviceSID != "" {
		form.Set("MessagingServiceSid", t.serviceSID)
	} else {
		form.Set("From", t.from)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return notify.Permanent(fmt.Errorf("sms: twilio: request: %w", err))
	}
	req.SetBasicAuth(t.accountSID, t.authToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.client.Do(req)
	if err != nil {
		// url.Error names the endpoint, never the token (it is a header).
		return fmt.Errorf("sms: twilio: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Twilio took the message (201 Created); what it says about it is
		// of no use to the outbox, and sending again could deliver twice.
		return nil
	}
	if err != nil {
		return fmt.Errorf("sms: twilio: %d: read answer: %w", resp.StatusCode, err)
	}
	var reply twilioError
	var failure error
	if json.Unmarshal(raw, &reply) == nil && (reply.Code != 0 || reply.Message != "") {
		failure = fmt.Errorf("sms: twilio: %d: error %d: %s", resp.StatusCode, reply.Code, t.redact(cut(reply.Message, 500)))
	} else {
		failure = fmt.Errorf("sms: twilio: %d: %s", resp.StatusCode, t.redact(snippet(raw)))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return failure
	case resp.StatusCode >= 400:
		return notify.Permanent(failure)
	default:
		return failure
	}
}

// redact blanks the auth token out of text that came from the other end,
// should a proxy or a misbehaving API echo it: errors end up in logs and
// in the admin's view of a delivery.
func (t *twilio) redact(s string) string {
	return strings.ReplaceAll(s, t.authToken, "[auth token]")
}

// snippet answers the start of a non-JSON answer (a proxy's error page) on
// one line, for the error.
func snippet(b []byte) string {
	s := cut(strings.Join(strings.Fields(string(b)), " "), 200)
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
