package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/provider"
)

// postmarkStream is Postmark's default transactional message stream.
const postmarkStream = "outbound"

// postmark sends through Postmark's single-email API
// (POST {base}/email), with plain net/http: the API is one request and an
// SDK would add a dependency for nothing.
type postmark struct {
	endpoint string
	token    string
	from     string
	client   *http.Client
}

func newPostmark(token, from string, opts Options) (*postmark, error) {
	base, err := provider.BaseURL("mail: GATEHOUSE_POSTMARK_API_URL", opts.PostmarkAPIURL, DefaultPostmarkAPIURL)
	if err != nil {
		return nil, err
	}
	return &postmark{
		endpoint: base + "/email",
		token:    token,
		from:     from,
		client:   provider.Client(opts.HTTPClient, opts.Timeout),
	}, nil
}

// postmarkEmail is the request body, field for field as Postmark documents
// it.
type postmarkEmail struct {
	From          string `json:"From"`
	To            string `json:"To"`
	Subject       string `json:"Subject"`
	TextBody      string `json:"TextBody"`
	HTMLBody      string `json:"HtmlBody"`
	MessageStream string `json:"MessageStream"`
}

// postmarkReply is the shape of Postmark's replies, success and error alike.
type postmarkReply struct {
	ErrorCode int    `json:"ErrorCode"`
	Message   string `json:"Message"`
}

// Send posts m. Postmark's 4xx responses are permanent (422: an invalid or
// inactive recipient and the like; 401: a bad token), except 429 (rate
// limit); 5xx responses and network errors are temporary. Postmark's own
// ErrorCode and Message are kept in the error.
func (p *postmark) Send(ctx context.Context, m notify.Email) error {
	from := m.From
	if from == "" {
		from = p.from
	}
	body, err := json.Marshal(postmarkEmail{
		From:          from,
		To:            m.To,
		Subject:       m.Subject,
		TextBody:      m.Text,
		HTMLBody:      m.HTML,
		MessageStream: postmarkStream,
	})
	if err != nil {
		return notify.Permanent(fmt.Errorf("mail: postmark: encode: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("mail: postmark: request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Postmark-Server-Token", p.token)
	resp, err := p.client.Do(req)
	if err != nil {
		// url.Error names the endpoint, never the token (it is a header).
		return fmt.Errorf("mail: postmark: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := provider.ReadReply(resp)
	if err != nil {
		return fmt.Errorf("mail: postmark: HTTP %d: read answer: %w", resp.StatusCode, err)
	}
	var reply postmarkReply
	decodeErr := json.Unmarshal(raw, &reply)

	if resp.StatusCode == http.StatusOK {
		if decodeErr != nil {
			// Postmark took the request; sending again could deliver twice.
			return notify.Permanent(fmt.Errorf("mail: postmark: HTTP 200 with an unreadable answer: %w", decodeErr))
		}
		if reply.ErrorCode != 0 {
			return notify.Permanent(fmt.Errorf("mail: postmark: HTTP 200, ErrorCode %d: %s", reply.ErrorCode, reply.Message))
		}
		return nil
	}

	var failure error
	if decodeErr == nil && (reply.ErrorCode != 0 || reply.Message != "") {
		failure = fmt.Errorf("mail: postmark: HTTP %d, ErrorCode %d: %s", resp.StatusCode, reply.ErrorCode, reply.Message)
	} else {
		failure = fmt.Errorf("mail: postmark: HTTP %d: %s", resp.StatusCode, provider.Snippet(raw))
	}
	return provider.ByStatus(resp.StatusCode, failure)
}
