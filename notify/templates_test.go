package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/notify"
)

const (
	testCode = "482913"
	testLink = "https://auth.example.com/v1/verify?token=tok_9f8e7d6c"
	testTo   = "alice@example.com"
)

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
	if tpl.AppName() != "Acme ID" || testTemplates(t).AppName() != notify.DefaultAppName {
		t.Error("AppName does not follow the setting")
	}
}

func TestTemplatesEscapeHostileRecipient(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
	hostile := `"<script>alert('x')</script>"@evil.example`
	for _, kind := range notify.Kinds {
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
