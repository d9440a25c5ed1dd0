package mail_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/mail"
)

const testFrom = "Gatehouse <no-reply@auth.example.com>"

func TestNewParsesMailURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		from    string
		wantErr string // "" for success; else a substring of the error
	}{
		{name: "console", url: "console:"},
		{name: "console without from", url: "console:", from: "-"},
		{name: "smtp with port and user", url: "smtp://user:secret@mail.example.com:2525"},
		{name: "smtp default port", url: "smtp://mail.example.com"},
		{name: "smtp no tls relay", url: "smtp://localhost:25?tls=none"},
		{name: "smtp auth login", url: "smtp://u:p@mail.example.com?auth=login"},
		{name: "smtp auth plain explicit", url: "smtp://u:p@mail.example.com?auth=PLAIN"},
		{name: "smtp ipv6", url: "smtp://[::1]:25?tls=none"},
		{name: "smtps", url: "smtps://user:secret@mail.example.com"},
		{name: "smtps with port", url: "smtps://mail.example.com:4650"},
		{name: "postmark", url: "postmark://0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
		{name: "upper-case scheme", url: "SMTP://mail.example.com"},

		{name: "empty", url: "", wantErr: "missing scheme"},
		{name: "bad scheme", url: "sendgrid://key", wantErr: `unknown scheme "sendgrid"`},
		{name: "no scheme", url: "mail.example.com:25", wantErr: "GATEHOUSE_MAIL_URL"},
		{name: "smtp without host", url: "smtp://", wantErr: "needs a host"},
		{name: "smtp user without host", url: "smtp://user:pass@:25", wantErr: "needs a host"},
		{name: "smtps without host", url: "smtps:///", wantErr: "needs a host"},
		{name: "smtp bad port", url: "smtp://mail.example.com:99999", wantErr: "bad port"},
		{name: "smtp unknown tls", url: "smtp://mail.example.com?tls=maybe", wantErr: "tls="},
		{name: "smtps with tls none", url: "smtps://mail.example.com?tls=none", wantErr: "smtps://"},
		{name: "smtp unknown parameter", url: "smtp://mail.example.com?insecure_skip_verify=true", wantErr: "unknown parameter"},
		{name: "smtp unknown auth", url: "smtp://u:p@mail.example.com?auth=cram", wantErr: "auth="},
		{name: "smtp auth without user", url: "smtp://mail.example.com?auth=login", wantErr: "needs a user"},
		{name: "smtp with path", url: "smtp://mail.example.com/x", wantErr: "no path"},
		{name: "postmark without token", url: "postmark://", wantErr: "server token"},
		{name: "postmark opaque empty", url: "postmark:", wantErr: "server token"},
		{name: "postmark with extras", url: "postmark://tok?stream=x", wantErr: "only the server token"},
		{name: "smtp without from", url: "smtp://mail.example.com", from: "-", wantErr: "GATEHOUSE_MAIL_FROM"},
		{name: "smtp bad from", url: "smtp://mail.example.com", from: "not an address", wantErr: "GATEHOUSE_MAIL_FROM"},
		{name: "postmark without from", url: "postmark://tok", from: "-", wantErr: "GATEHOUSE_MAIL_FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := testFrom
			if tt.from == "-" {
				from = ""
			} else if tt.from != "" {
				from = tt.from
			}
			s, err := mail.New(tt.url, from, mail.Options{Console: &bytes.Buffer{}})
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New(%q) = %v, %v; want a sender", tt.url, s, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%q) succeeded, want an error", tt.url)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%q) = %q, want it to contain %q", tt.url, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "GATEHOUSE_MAIL_URL") && !strings.Contains(err.Error(), "GATEHOUSE_MAIL_FROM") {
				t.Errorf("error %q names neither GATEHOUSE_MAIL_URL nor GATEHOUSE_MAIL_FROM", err)
			}
		})
	}
}

func TestNewNeverRepeatsThePassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"smtp://user:hunter2@mail.example.com:bad",
		"smtp://user:hunter2@mail.example.com?tls=maybe",
		"smtp://user:hunter2@ho st",
		"smtp://user:hunter2%zz@mail.example.com",
	} {
		_, err := mail.New(u, testFrom, mail.Options{})
		if err == nil {
			t.Errorf("New(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) error repeats the password: %q", u, err)
		}
	}
}

func TestConsolePrintsMessage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s, err := mail.New("console:", testFrom, mail.Options{Console: &out})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), notify.Email{
		To:      "alice@example.com",
		Subject: "482913 is your Gatehouse sign-in code",
		Text:    "Your code is 482913",
		HTML:    "<p>html-only</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"To: alice@example.com", "Subject: 482913 is your Gatehouse sign-in code", "Your code is 482913", "From: " + testFrom} {
		if !strings.Contains(got, want) {
			t.Errorf("console output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "html-only") {
		t.Errorf("console printed the HTML body:\n%s", got)
	}
}
