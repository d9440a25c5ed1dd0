package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/provider"
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
	base, err := provider.BaseURL("sms: GATEHOUSE_TWILIO_API_URL", opts.TwilioAPIURL, DefaultTwilioAPIURL)
	if err != nil {
		return nil, err
	}
	return &twilio{
		endpoint:   base + "/2010-04-01/Accounts/" + url.PathEscape(cfg.accountSID) + "/Messages.json",
		accountSID: cfg.accountSID,
		authToken:  cfg.authToken,
		from:       cfg.from,
		serviceSID: cfg.serviceSID,
		client:     provider.Client(opts.HTTPClient, opts.Timeout),
	}, nil
}

// twilioError is the body of Twilio's error responses, as documented.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// SendSMS posts m. Twilio's 4xx responses are permanent (400: an invalid or
// unreachable number and the like; 401: bad credentials), except 429 (rate
// limit); 5xx responses and network errors are temporary. Twilio's own code
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
	raw, err := provider.ReadReply(resp)
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
		failure = fmt.Errorf("sms: twilio: %d: error %d: %s", resp.StatusCode, reply.Code, t.redact(provider.Cut(reply.Message, 500)))
	} else {
		failure = fmt.Errorf("sms: twilio: %d: %s", resp.StatusCode, t.redact(provider.Snippet(raw)))
	}
	return provider.ByStatus(resp.StatusCode, failure)
}

// redact blanks the auth token out of text that came from the other end,
// should a proxy or a misbehaving API echo it: errors end up in logs and
// in the admin's view of a delivery.
func (t *twilio) redact(s string) string {
	return strings.ReplaceAll(s, t.authToken, "[auth token]")
}
