package sms_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
	"github.com/gatehouse/gatehouse/internal/notify/sms/twiliotest"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "5ecre7d0c0ffee5ecre7d0c0ffee5ec1"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	twilioURL = "twilio://" + testSID + ":" + testToken + "@"
)

var testSMS = notify.SMS{
	To:   "+447911123456",
	Text: "Your Gatehouse code is 482913.\nIt expires in 5 minutes. für dich & = + %",
}

func TestNewParsesSMSURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		url         string
		wantFrom    string // for a good twilio:// URL: the From Twilio gets
		wantService string // ... or the MessagingServiceSid
		wantErr     string // "" for success; else a substring of the error
	}{
		{name: "console", url: "console:"},
		{name: "console upper-case", url: "CONSOLE:"},
		{name: "from E.164 keeps the plus", url: twilioURL + "?from=+15550100", wantFrom: "+15550100"},
		{name: "from escaped plus", url: twilioURL + "?from=%2B447911123456", wantFrom: "+447911123456"},
		{name: "from 15 digits", url: twilioURL + "?from=+123456789012345", wantFrom: "+123456789012345"},
		{name: "from alphanumeric", url: twilioURL + "?from=Gatehouse", wantFrom: "Gatehouse"},
		{name: "from alphanumeric with space", url: twilioURL + "?from=Gate%20House", wantFrom: "Gate House"},
		{name: "messaging service", url: twilioURL + "?messaging_service_sid=" + testMG, wantService: testMG},
		{name: "upper-case scheme", url: "TWILIO://" + testSID + ":" + testToken + "@?from=+15550100", wantFrom: "+15550100"},

		{name: "empty", url: "", wantErr: "missing scheme"},
		{name: "unknown scheme", url: "sns://topic", wantErr: `unknown scheme "sns"; want console: or twilio://`},
		{name: "no scheme", url: "+15550100", wantErr: "missing scheme"},
		{name: "console with extras", url: "console:stderr", wantErr: "takes nothing"},
		{name: "console with host", url: "console://host", wantErr: "takes nothing"},
		{name: "twilio bare", url: "twilio:", wantErr: "needs the account SID and auth token"},
		{name: "twilio opaque", url: "twilio:" + testSID + ":" + testToken, wantErr: "needs the account SID and auth token"},
		{name: "twilio no userinfo", url: "twilio://?from=+15550100", wantErr: "needs the account SID and auth token"},
		{name: "no token", url: "twilio://" + testSID + "@?from=+15550100", wantErr: "needs an auth token"},
		{name: "empty token", url: "twilio://" + testSID + ":@?from=+15550100", wantErr: "needs an auth token"},
		{name: "account SID not AC", url: "twilio://SK0123:" + testToken + "@?from=+15550100", wantErr: "must start with AC"},
		{name: "SID and token swapped", url: "twilio://" + testToken + ":" + testSID + "@?from=+15550100", wantErr: "must start with AC"},
		{name: "account SID with odd characters", url: "twilio://AC%2F..:" + testToken + "@?from=+15550100", wantErr: "only letters and digits"},
		{name: "no @", url: "twilio://" + testSID + ":" + testToken + "?from=+15550100", wantErr: "cannot parse"},
		{name: "bad escape in token", url: "twilio://" + testSID + ":" + testToken + "%zz@?from=+15550100", wantErr: "invalid URL escape"},
		{name: "space in token", url: "twilio://" + testSID + ":" + testToken + " x@?from=+15550100", wantErr: "GATEHOUSE_SMS_URL"},
		{name: "host", url: twilioURL + "api.twilio.com?from=+15550100", wantErr: "no host"},
		{name: "path", url: twilioURL + "/?from=+15550100", wantErr: "no path"},
		{name: "fragment", url: twilioURL + "?from=+15550100#x", wantErr: "no #fragment"},
		{name: "neither from nor service", url: twilioURL, wantErr: "exactly one of from and messaging_service_sid"},
		{name: "both from and service", url: twilioURL + "?from=+15550100&messaging_service_sid=" + testMG, wantErr: "exactly one of"},
		{name: "from without plus", url: twilioURL + "?from=15550100", wantErr: `from="15550100" is neither`},
		{name: "from too short", url: twilioURL + "?from=+1555010", wantErr: "is neither an E.164 number"},
		{name: "from too long", url: twilioURL + "?from=+1234567890123456", wantErr: "is neither an E.164 number"},
		{name: "from leading zero", url: twilioURL + "?from=+0441234567", wantErr: "is neither an E.164 number"},
		{name: "from empty", url: twilioURL + "?from=", wantErr: "is neither an E.164 number"},
		{name: "sender ID too long", url: twilioURL + "?from=GatehouseAuth", wantErr: "alphanumeric sender ID"},
		{name: "sender ID with plus", url: twilioURL + "?from=Gate+House", wantErr: "alphanumeric sender ID"},
		{name: "sender ID punctuation", url: twilioURL + "?from=Gate-House", wantErr: "alphanumeric sender ID"},
		{name: "service not MG", url: twilioURL + "?messaging_service_sid=PN0123", wantErr: "must start with MG"},
		{name: "service empty", url: twilioURL + "?messaging_service_sid=", wantErr: "must start with MG"},
		{name: "from twice", url: twilioURL + "?from=+15550100&from=+15550101", wantErr: `"from" given 2 times`},
		{name: "unknown parameter", url: twilioURL + "?from=+15550100&status_callback=https://x", wantErr: `unknown parameter "status_callback"; want from or messaging_service_sid`},
		{name: "parameter names are case-sensitive", url: twilioURL + "?From=+15550100", wantErr: `unknown parameter "From"`},
		{name: "semicolon in query", url: twilioURL + "?from=+15550100;x", wantErr: "bad query"},
		{name: "bad escape in query", url: twilioURL + "?from=%zz", wantErr: "GATEHOUSE_SMS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.Start(t, testSID, testToken)
			var out bytes.Buffer
			s, err := sms.New(tt.url, sms.Options{Console: &out, TwilioAPIURL: srv.URL()})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("New(%q) succeeded, want an error", tt.url)
				}
				checkURLError(t, err, tt.wantErr)
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New(%q) = %v, %v; want a sender", tt.url, s, err)
			}
			if err := s.SendSMS(context.Background(), testSMS); err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			if tt.wantFrom == "" && tt.wantService == "" { // console:
				if !strings.Contains(out.String(), testSMS.Text) {
					t.Errorf("console printed %q, want the text", out.String())
				}
				return
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("Twilio got %d messages, want 1", len(msgs))
			}
			if msgs[0].From != tt.wantFrom || msgs[0].MessagingServiceSID != tt.wantService {
				t.Errorf("Twilio got From %q, MessagingServiceSid %q; want %q, %q",
					msgs[0].From, msgs[0].MessagingServiceSID, tt.wantFrom, tt.wantService)
			}
		})
	}
}

// checkURLError checks err is about GATEHOUSE_SMS_URL, says want, and keeps
// the token to itself.
func checkURLError(t *testing.T, err error, want string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, want) {
		t.Errorf("error %q lacks %q", msg, want)
	}
	if !strings.Contains(msg, "GATEHOUSE_SMS_URL") {
		t.Errorf("error %q does not name GATEHOUSE_SMS_URL", msg)
	}
	if strings.Contains(msg, testToken) || strings.Contains(msg, testToken[:8]) {
		t.Errorf("error repeats the token: %q", msg)
	}
}

func TestNewBadTwilioAPIURL(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"ftp://example.com", "not a url", "https://", "://x"} {
		_, err := sms.New(twilioURL+"?from=+15550100", sms.Options{TwilioAPIURL: base})
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_TWILIO_API_URL") {
			t.Errorf("TwilioAPIURL %q: %v, want an error naming GATEHOUSE_TWILIO_API_URL", base, err)
		}
	}
}

// FuzzNew feeds New twilio:// URLs with arbitrary account SIDs, tokens and
// tails: it must never panic, never answer a nil sender without an error,
// and never repeat the token.
func FuzzNew(f *testing.F) {
	for _, seed := range [][3]string{
		{testSID, testToken, "?from=+15550100"},
		{testSID, testToken, "?from=Gate%20House"},
		{testSID, testToken, "?messaging_service_sid=" + testMG},
		{testSID, testToken, "?from=+15550100&from=+1"},
		{testSID, testToken, "api.twilio.com/x?y=z#f"},
		{testSID, testToken + "%zz", "?from=+15550100"},
		{testSID, testToken + "@host:port", "?from=+15550100"},
		{testToken, testSID, "?from=+15550100"},
		{"", "", ""},
		{"AC1", "a:b", "?from=%2"},
		{"AC1", "t?from=x", ""},
		{"[::1", "]:x", "?;"},
		{"AC1\x00", "tok\n", "?from=\xff"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, sid, token, rest string) {
		// Wrapped, the token cannot match the fixed text of an error by
		// chance.
		token = "tK" + token + "Qz"
		raw := "twilio://" + sid + ":" + token + "@" + rest
		s, err := sms.New(raw, sms.Options{TwilioAPIURL: "http://127.0.0.1:1"})
		if err == nil {
			if s == nil {
				t.Fatalf("New(%q) = nil, nil", raw)
			}
			return
		}
		if s != nil {
			t.Errorf("New(%q) answered a sender and %v", raw, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "GATEHOUSE_SMS_URL") {
			t.Errorf("New(%q) = %q, which does not name GATEHOUSE_SMS_URL", raw, msg)
		}
		// What the SID or the tail says may be quoted back (a from=
		// number, a parameter's name); only the token must not be.
		for _, other := range []string{sid, rest, unescape(url.QueryUnescape, rest), unescape(url.PathUnescape, rest), unescape(url.PathUnescape, sid)} {
			if strings.Contains(other, token) {
				return
			}
		}
		if strings.Contains(msg, token) {
			t.Errorf("New(%q) = %q, which repeats the token", raw, msg)
		}
	})
}

func unescape(f func(string) (string, error), s string) string {
	u, _ := f(s)
	return u
}

func TestDefaultsAreSane(t *testing.T) {
	t.Parallel()
	if sms.DefaultTimeout <= 0 || sms.DefaultTimeout > time.Minute {
		t.Errorf("DefaultTimeout = %v", sms.DefaultTimeout)
	}
	if u, err := url.Parse(sms.DefaultTwilioAPIURL); err != nil || u.Scheme != "https" || u.Host != "api.twilio.com" {
		t.Errorf("DefaultTwilioAPIURL = %q", sms.DefaultTwilioAPIURL)
	}
}
