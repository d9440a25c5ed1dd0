package notify_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
)

const (
	testCode  = "482913"
	testLink  = "https://auth.example.com/v1/verify?token=tok_9f8e7d6c"
	testTo    = "alice@example.com"
	testPhone = "+14155552671"
	testHost  = "auth.example.com"
)

// recipientFor returns the test recipient on kind's channel.
func recipientFor(kind string) string {
	if slices.Contains(notify.SMSKinds, kind) {
		return testPhone
	}
	return testTo
}

func TestTemplatesRenderEachKind(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
	tests := []struct {
		kind    string
		data    auth.MessageData
		subject string
		// want appear in both the text and the HTML body.
		want []string
		// notWant appear in neither.
		notWant []string
	}{
		{
			kind:    auth.KindSignInCode,
			data:    auth.MessageData{Code: testCode, ExpiresIn: 5 * time.Minute},
			subject: testCode + " is your Gatehouse sign-in code",
			want:    []string{testCode, "5 minutes", testTo, "Gatehouse"},
			notWant: []string{"https://"},
		},
		{
			kind:    auth.KindMagicLink,
			data:    auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute},
			subject: "Your Gatehouse sign-in link",
			want:    []string{testCode, testLink, "15 minutes", "5 minutes", "another device"},
		},
		{
			kind:    auth.KindRecovery,
			data:    auth.MessageData{Code: testCode, ExpiresIn: time.Minute},
			subject: testCode + " is your Gatehouse password reset code",
			want:    []string{testCode, "1 minute", "reset"},
			notWant: []string{"1 minutes", "https://"},
		},
		{
			kind:    auth.KindRecovery,
			data:    auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: time.Hour, LinkTTL: time.Hour},
			subject: testCode + " is your Gatehouse password reset code",
			want:    []string{testCode, testLink, "1 hour"},
		},
		{
			kind:    auth.KindMethodAdded,
			data:    auth.MessageData{Method: "google"},
			subject: "A sign-in method was added to your Gatehouse account",
			want:    []string{"Signing in with google", testTo, "If it was not you"},
			notWant: []string{"https://", testCode},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			c, err := tpl.Render(tt.kind, testTo, tt.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if c.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", c.Subject, tt.subject)
			}
			for _, body := range []struct{ name, s string }{{"text", c.Text}, {"html", c.HTML}} {
				for _, w := range tt.want {
					if !strings.Contains(body.s, w) {
						t.Errorf("%s body lacks %q:\n%s", body.name, w, body.s)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(body.s, w) {
						t.Errorf("%s body has %q:\n%s", body.name, w, body.s)
					}
				}
			}
			if !strings.HasPrefix(c.HTML, "<!DOCTYPE html>") || !strings.Contains(c.HTML, "</html>") {
				t.Errorf("HTML is not a whole document:\n%s", c.HTML)
			}
			if strings.Contains(c.Text, "<") {
				t.Errorf("text body has markup:\n%s", c.Text)
			}
		})
	}
}

func TestTemplatesAppName(t *testing.T) {
	t.Parallel()
	tpl, err := notify.NewTemplates("", "Acme ID")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tpl.Render(auth.KindSignInCode, testTo, auth.MessageData{Code: testCode, ExpiresIn: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := testCode + " is your Acme ID sign-in code"; c.Subject != want {
		t.Errorf("subject = %q, want %q", c.Subject, want)
	}
	if strings.Contains(c.Text+c.HTML, "Gatehouse") {
		t.Error("body still names Gatehouse")
	}
	if tpl.AppName() != "Acme ID" || testTemplates(t).AppName() != auth.DefaultConfig().AppName {
		t.Error("AppName does not follow the setting")
	}
}

func TestTemplatesEscapeHostileRecipient(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
	hostile := `"<script>alert('x')</script>"@evil.example`
	for _, kind := range notify.EmailKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c, err := tpl.Render(kind, hostile, auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.HTML, "<script>") {
				t.Errorf("HTML has the recipient's markup unescaped:\n%s", c.HTML)
			}
			if !strings.Contains(c.HTML, "&lt;script&gt;") {
				t.Errorf("HTML lacks the escaped recipient:\n%s", c.HTML)
			}
		})
	}
}

func TestTemplatesHostileLink(t *testing.T) {
	t.Parallel()
	c, err := testTemplates(t).Render(auth.KindMagicLink, testTo, auth.MessageData{Code: testCode, Link: "javascript:alert(1)", LinkTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.HTML, `href="javascript:`) {
		t.Errorf("HTML links to javascript:\n%s", c.HTML)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTemplatesOverrideOneFallBackForOthers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "signin_code.subject.txt", "Code {{.Code}} for {{.AppName}}\n")
	writeFile(t, dir, "magic_link.html", `<p>Click <a href="{{.Link}}">here</a>, {{.Recipient}}</p>`)
	tpl, err := notify.NewTemplates(dir, "")
	if err != nil {
		t.Fatalf("NewTemplates: %v", err)
	}
	def := testTemplates(t)
	data := auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute}
	for _, kind := range notify.Kinds {
		got, err := tpl.Render(kind, testTo, data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := def.Render(kind, testTo, data)
		if err != nil {
			t.Fatal(err)
		}
		switch kind {
		case auth.KindSignInCode:
			want.Subject = "Code " + testCode + " for Gatehouse"
		case auth.KindMagicLink:
			want.HTML = `<p>Click <a href="` + testLink + `">here</a>, ` + testTo + `</p>`
		}
		if got != want {
			t.Errorf("%s: got %+v\nwant %+v", kind, got, want)
		}
	}
}

func TestTemplatesSubjectStaysOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "recovery.subject.txt", "Reset for {{.Recipient}}\n\nmore")
	tpl, err := notify.NewTemplates(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tpl.Render(auth.KindRecovery, "a@example.com\r\nBcc: victim@example.com", auth.MessageData{Code: testCode})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(c.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", c.Subject)
	}
	if want := "Reset for a@example.com Bcc: victim@example.com more"; c.Subject != want {
		t.Errorf("subject = %q, want %q", c.Subject, want)
	}
}

func TestTemplatesBrokenOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
	}{
		{"text parse error", "signin_code.txt", "Your code: {{.Code"},
		{"html parse error", "recovery.html", "<p>{{if .Code}}</p>"},
		{"subject unknown field", "magic_link.subject.txt", "{{.Nope}}"},
		{"html unknown field", "signin_code.html", "<p>{{.Secret}}</p>"},
		{"empty subject", "recovery.subject.txt", "  \n"},
		{"sms parse error", "sms_code.txt", "{{.Code}} is your code{{if .Host}}"},
		{"sms unknown field", "sms_code.txt", "{{.Code}} {{.Phone}}"},
		{"empty sms", "sms_code.txt", "{{if false}}{{.Code}}{{end}}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, tt.file, tt.content)
			_, err := notify.NewTemplates(dir, "")
			if err == nil {
				t.Fatal("NewTemplates accepted a broken template")
			}
			if path := filepath.Join(dir, tt.file); !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestTemplatesBadDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, filepath.Dir(file), "file", "x")
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), file} {
		_, err := notify.NewTemplates(dir, "")
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_TEMPLATES_DIR") {
			t.Errorf("NewTemplates(%q) = %v, want an error naming GATEHOUSE_TEMPLATES_DIR", dir, err)
		}
	}
}

func TestTemplatesUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := testTemplates(t).Render("welcome", testTo, auth.MessageData{}); err == nil {
		t.Error("Render of an unknown kind succeeded")
	}
}

func TestTemplatesKinds(t *testing.T) {
	t.Parallel()
	if want := slices.Concat(notify.EmailKinds, notify.SMSKinds); !slices.Equal(notify.Kinds, want) {
		t.Errorf("Kinds = %v, want EmailKinds then SMSKinds %v", notify.Kinds, want)
	}
	if !slices.Contains(notify.SMSKinds, auth.KindSMSCode) || slices.Contains(notify.EmailKinds, auth.KindSMSCode) {
		t.Errorf("%s must be an SMS kind and only that", auth.KindSMSCode)
	}
	for _, kind := range notify.EmailKinds {
		if slices.Contains(notify.SMSKinds, kind) {
			t.Errorf("%s is both an email and an SMS kind", kind)
		}
	}
}

func TestTemplatesSMSCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		appName string
		data    auth.MessageData
		want    string
	}{
		{
			name: "without host",
			data: auth.MessageData{Code: testCode, ExpiresIn: 5 * time.Minute},
			want: testCode + " is your Gatehouse code. It expires in 5 minutes.",
		},
		{
			name:    "with host",
			appName: "Acme",
			data:    auth.MessageData{Code: "123456", ExpiresIn: 5 * time.Minute, Host: "acme.example"},
			want:    "123456 is your Acme code. It expires in 5 minutes.\n\n@acme.example #123456",
		},
		{
			name: "one hour, link ignored",
			data: auth.MessageData{Code: testCode, ExpiresIn: time.Hour, Link: testLink, LinkTTL: time.Hour, Host: testHost},
			want: testCode + " is your Gatehouse code. It expires in 1 hour.\n\n@" + testHost + " #" + testCode,
		},
		{
			// text/template: an SMS is not HTML, so nothing is escaped.
			name:    "plain text app name",
			appName: `Smith & Sons "<ID>"`,
			data:    auth.MessageData{Code: testCode, ExpiresIn: time.Minute},
			want:    testCode + ` is your Smith & Sons "<ID>" code. It expires in 1 minute.`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := notify.NewTemplates("", tt.appName)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tpl.Render(auth.KindSMSCode, testPhone, tt.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if c != (notify.Content{Text: tt.want}) {
				t.Errorf("Render = %+v\nwant only Text %q", c, tt.want)
			}
		})
	}
}

// gsm7Len returns how many GSM 03.38 septets s takes (the characters of the
// extension table take two), and false when s has a character outside the
// GSM alphabet, which would make the whole message UCS-2 (70 a part).
func gsm7Len(s string) (int, bool) {
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const extension = "^{}\\[~]|€\f"
	n := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(basic, r):
			n++
		case strings.ContainsRune(extension, r):
			n += 2
		default:
			return 0, false
		}
	}
	return n, true
}

func TestTemplatesSMSCodeFitsOneSMS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		appName, host string
	}{
		{"Gatehouse", testHost},
		{"Acme ID", "auth.acme-example.com"},
		{"Northwind Traders Portal", "signin.accounts.northwind-traders.example"},
	}
	for _, tt := range tests {
		t.Run(tt.appName, func(t *testing.T) {
			t.Parallel()
			tpl, err := notify.NewTemplates("", tt.appName)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tpl.Render(auth.KindSMSCode, testPhone, auth.MessageData{Code: "12345678", ExpiresIn: 10 * time.Minute, Host: tt.host})
			if err != nil {
				t.Fatal(err)
			}
			n, ok := gsm7Len(c.Text)
			if !ok || n >= 160 {
				t.Errorf("text takes %d GSM-7 characters (GSM alphabet only: %v), want under 160 in GSM-7:\n%s", n, ok, c.Text)
			}
			// WebOTP reads the origin-bound line only as the last line.
			lines := strings.Split(c.Text, "\n")
			if last := lines[len(lines)-1]; last != "@"+tt.host+" #12345678" {
				t.Errorf("last line = %q, want the origin-bound code line", last)
			}
		})
	}
}

func TestTemplatesSMSOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "sms_code.txt", "{{.AppName}}: {{.Code}} ({{.ExpiresInMinutes}} min)\n{{if .Host}}\n@{{.Host}} #{{.Code}}{{end}}\n\n")
	// An SMS kind has no subject and no HTML: these are never read, so
	// even broken ones do not matter.
	writeFile(t, dir, "sms_code.subject.txt", "{{.Nope")
	writeFile(t, dir, "sms_code.html", "<p>{{.Nope}}</p>")
	tpl, err := notify.NewTemplates(dir, "Acme")
	if err != nil {
		t.Fatalf("NewTemplates: %v", err)
	}
	tests := []struct {
		host, want string
	}{
		{"", "Acme: " + testCode + " (5 min)"},
		{testHost, "Acme: " + testCode + " (5 min)\n\n@" + testHost + " #" + testCode},
	}
	for _, tt := range tests {
		c, err := tpl.Render(auth.KindSMSCode, testPhone, auth.MessageData{Code: testCode, ExpiresIn: 5 * time.Minute, Host: tt.host})
		if err != nil {
			t.Fatal(err)
		}
		if c != (notify.Content{Text: tt.want}) {
			t.Errorf("host %q: Render = %+v, want only Text %q", tt.host, c, tt.want)
		}
	}
	// The email kinds keep their embedded templates.
	def, err := notify.NewTemplates("", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	data := auth.MessageData{Code: testCode, ExpiresIn: 5 * time.Minute}
	for _, kind := range notify.EmailKinds {
		got, err := tpl.Render(kind, testTo, data)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := def.Render(kind, testTo, data); got != want {
			t.Errorf("%s changed by an SMS override: %+v", kind, got)
		}
	}
}
