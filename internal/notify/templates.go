package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

//go:embed templates/*
var embedded embed.FS

// The kinds that have templates, in a fixed order. Which list a kind is in
// decides its channel (auth.Message.Channel) and so its files:
//
//   - EmailKinds have three: KIND.subject.txt and KIND.txt (text/template)
//     and KIND.html (html/template).
//   - SMSKinds have one: KIND.txt (text/template). A text message has no
//     subject and no markup, so KIND.subject.txt and KIND.html are never
//     read, not even from GATEHOUSE_TEMPLATES_DIR: writing them there
//     changes nothing.
//
// Kinds is both, email first.
var (
	EmailKinds = []string{auth.KindSignInCode, auth.KindMagicLink, auth.KindRecovery, auth.KindMFACode, auth.KindMFALocked, auth.KindVerifyEmail, auth.KindMethodAdded}
	SMSKinds   = []string{auth.KindSMSCode}
	Kinds      = slices.Concat(EmailKinds, SMSKinds)
)

// TemplateData is what a template may show. Its field names are the contract
// for anyone who overrides a template, so they do not change lightly.
type TemplateData struct {
	// AppName is the product name (GATEHOUSE_APP_NAME).
	AppName string
	// Code is the one-time code.
	Code string
	// Link is the magic link or recovery link; empty when none was sent.
	Link string
	// ExpiresIn says when the code expires in words ("5 minutes"), and
	// ExpiresInMinutes in whole minutes (rounded up).
	ExpiresIn        string
	ExpiresInMinutes int
	// LinkExpiresIn and LinkExpiresInMinutes are the same for the link;
	// empty and 0 without one.
	LinkExpiresIn        string
	LinkExpiresInMinutes int
	// Recipient is the address the message goes to, so a person who gets
	// someone else's mail can tell; for an SMS, the E.164 phone number.
	Recipient string
	// Host is the public host name (of GATEHOUSE_PUBLIC_URL), or empty when
	// unknown. An SMS template ends with "@{{.Host}} #{{.Code}}" on its own
	// last line when Host is set: that origin-bound line is what lets a
	// browser offer the code to that site alone (WebOTP), so an override
	// keeps it last and leaves it out when Host is empty.
	Host string
	// Method names the sign-in method a method_added message is about:
	// the provider's label ("Google"; its configured name without one).
	Method string
}

// Content is a rendered message. It is what the outbox seals into a
// message's payload, so its JSON form is part of the stored format. An SMS
// has only Text.
type Content struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// kindTemplates holds the parsed templates of one kind; an SMS kind has
// only text.
type kindTemplates struct {
	channel string
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Templates renders the email or SMS of each message kind. Templates are embedded
// so a bare binary works, and any file can be replaced from a directory so
// operators can change wording and branding without a rebuild. It is safe
// for concurrent use.
type Templates struct {
	appName string
	kinds   map[string]kindTemplates
}

// NewTemplates parses the embedded templates, replacing each file found in
// dir (GATEHOUSE_TEMPLATES_DIR; empty for none) by the override of the same
// name. appName is GATEHOUSE_APP_NAME (auth's default when empty).
//
// Every template is parsed and rendered once with sample data here, so a
// broken override stops the server at start-up, with an error naming the
// file, rather than failing each delivery later.
func NewTemplates(dir, appName string) (*Templates, error) {
	if appName == "" {
		appName = auth.DefaultConfig().AppName
	}
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("notify: GATEHOUSE_TEMPLATES_DIR: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("notify: GATEHOUSE_TEMPLATES_DIR: %s is not a directory", dir)
		}
	}
	t := &Templates{appName: appName, kinds: make(map[string]kindTemplates, len(Kinds))}
	for _, kind := range EmailKinds {
		kt := kindTemplates{channel: ChannelEmail}
		var err error
		if kt.subject, err = parseText(dir, kind+".subject.txt"); err != nil {
			return nil, err
		}
		if kt.text, err = parseText(dir, kind+".txt"); err != nil {
			return nil, err
		}
		if kt.html, err = parseHTML(dir, kind+".html"); err != nil {
			return nil, err
		}
		t.kinds[kind] = kt
	}
	for _, kind := range SMSKinds {
		kt := kindTemplates{channel: ChannelSMS}
		var err error
		if kt.text, err = parseText(dir, kind+".txt"); err != nil {
			return nil, err
		}
		t.kinds[kind] = kt
	}
	for _, kind := range Kinds {
		to := sampleEmail
		if t.kinds[kind].channel == ChannelSMS {
			to = samplePhone
		}
		if _, err := t.Render(kind, to, sampleData); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// sampleData exercises every field at start-up, links and host included.
var sampleData = auth.MessageData{
	Code:      "123456",
	Link:      "https://gatehouse.example/v1/verify?token=sample",
	ExpiresIn: 5 * time.Minute,
	LinkTTL:   15 * time.Minute,
	Host:      "gatehouse.example",
	Method:    "google",
}

// Sample recipients for the start-up rendering.
const (
	sampleEmail = "someone@example.com"
	samplePhone = "+15555550100"
)

// source returns the override in dir when there is one, else the embedded
// file, and a name for errors that says which.
func source(dir, name string) (src []byte, origin string, err error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			return b, p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, p, fmt.Errorf("notify: template %s: %w", p, err)
		}
	}
	b, err := embedded.ReadFile("templates/" + name)
	if err != nil {
		return nil, "embedded " + name, fmt.Errorf("notify: template embedded %s: %w", name, err)
	}
	return b, "embedded " + name, nil
}

func parseText(dir, name string) (*texttemplate.Template, error) {
	return parse(dir, name, func(origin, src string) (*texttemplate.Template, error) {
		return texttemplate.New(origin).Option("missingkey=error").Parse(src)
	})
}

func parseHTML(dir, name string) (*htmltemplate.Template, error) {
	return parse(dir, name, func(origin, src string) (*htmltemplate.Template, error) {
		return htmltemplate.New(origin).Option("missingkey=error").Parse(src)
	})
}

// parse reads the template name (see source) and parses it with p, which
// text/template and html/template each provide.
func parse[T any](dir, name string, p func(origin, src string) (T, error)) (T, error) {
	var zero T
	src, origin, err := source(dir, name)
	if err != nil {
		return zero, err
	}
	t, err := p(origin, string(src))
	if err != nil {
		return zero, fmt.Errorf("notify: template %s: %w", origin, err)
	}
	return t, nil
}

// executor is what text/template and html/template have in common.
type executor interface {
	Execute(w io.Writer, data any) error
	Name() string
}

// AppName returns the product name the templates show.
func (t *Templates) AppName() string { return t.appName }

// Render renders kind for the recipient to. An email has a subject, text
// and HTML; the subject is folded onto one line, so no template or data can
// add a mail header. An SMS has only text, trimmed of the blank space
// around it (editors end files with a newline, and a text message pays for
// every character).
func (t *Templates) Render(kind, to string, data auth.MessageData) (Content, error) {
	kt, ok := t.kinds[kind]
	if !ok {
		return Content{}, fmt.Errorf("notify: no templates for message kind %q", kind)
	}
	d := TemplateData{
		AppName:          t.appName,
		Code:             data.Code,
		Link:             data.Link,
		ExpiresIn:        humanMinutes(data.ExpiresIn),
		ExpiresInMinutes: minutes(data.ExpiresIn),
		Recipient:        to,
		Host:             data.Host,
		Method:           data.Method,
	}
	if data.LinkTTL > 0 {
		d.LinkExpiresIn = humanMinutes(data.LinkTTL)
		d.LinkExpiresInMinutes = minutes(data.LinkTTL)
	}
	var c Content
	var err error
	if c.Text, err = execute(kt.text, d); err != nil {
		return Content{}, err
	}
	if kt.channel == ChannelSMS {
		c.Text = strings.TrimSpace(c.Text)
		if c.Text == "" {
			return Content{}, fmt.Errorf("notify: template %s: empty text", kt.text.Name())
		}
		return c, nil
	}
	if c.Subject, err = execute(kt.subject, d); err != nil {
		return Content{}, err
	}
	c.Subject = strings.Join(strings.Fields(c.Subject), " ")
	if c.Subject == "" {
		return Content{}, fmt.Errorf("notify: template %s: empty subject", kt.subject.Name())
	}
	if c.HTML, err = execute(kt.html, d); err != nil {
		return Content{}, err
	}
	return c, nil
}

func execute(t executor, d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("notify: template %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// minutes rounds d up to whole minutes, so a TTL under a minute never
// reads "expires in 0 minutes" (TTLs are whole minutes in practice).
func minutes(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Minute - 1) / time.Minute)
}

// humanMinutes says d in words: "1 minute", "15 minutes", "1 hour",
// "2 hours" (whole hours only; otherwise minutes).
func humanMinutes(d time.Duration) string {
	m := minutes(d)
	switch {
	case m >= 60 && m%60 == 0:
		return plural(m/60, "hour")
	default:
		return plural(m, "minute")
	}
}

func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
