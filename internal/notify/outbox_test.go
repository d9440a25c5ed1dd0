package notify_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/notify"
)

func TestOutboxCompose(t *testing.T) {
	t.Parallel()
	box, tpl, clock := testBox(t), testTemplates(t), newFakeClock()
	ob := notify.NewOutbox(tpl, box, clock)
	data := auth.MessageData{Code: testCode, Link: testLink, ExpiresIn: 5 * time.Minute, LinkTTL: 15 * time.Minute, Host: testHost}
	for _, kind := range notify.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			to, channel := testTo, "email"
			if kind == auth.KindSMSCode {
				to, channel = testPhone, "sms"
			}
			m, err := ob.Compose(context.Background(), kind, to, data)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			now := clock.Now()
			if m.Kind != kind || m.Channel != channel || m.To != to || m.Status != auth.MessagePending ||
				m.Attempts != 0 || !m.NextAttemptAt.Equal(now) || !m.CreatedAt.Equal(now) || m.SentAt != nil || m.LastError != "" {
				t.Errorf("message fields: %+v, want channel %s to %s", m, channel, to)
			}
			id, err := uuid.Parse(m.ID)
			if err != nil || id.Version() != 7 {
				t.Errorf("ID %q is not a UUIDv7 (%v)", m.ID, err)
			}
			for _, secret := range []string{testCode, testLink, testHost, "sign", "Gatehouse"} {
				if bytes.Contains(m.Payload, []byte(secret)) {
					t.Errorf("payload holds %q in clear", secret)
				}
			}
			got, err := notify.OpenPayload(box, m.Payload)
			if err != nil {
				t.Fatalf("OpenPayload: %v", err)
			}
			want, err := tpl.Render(kind, to, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("payload opens to %+v, want %+v", got, want)
			}
			if sms := got.Subject == "" && got.HTML == ""; got.Text == "" || sms != (channel == "sms") {
				t.Errorf("%s content %+v: want only Text for an SMS, all three for an email", channel, got)
			}
			if _, err := box.Open("signing-key", m.Payload); err == nil {
				t.Error("payload opens under another purpose")
			}
		})
	}
}

func TestOutboxComposeErrors(t *testing.T) {
	t.Parallel()
	ob := notify.NewOutbox(testTemplates(t), testBox(t), newFakeClock())
	if _, err := ob.Compose(context.Background(), "welcome", testTo, auth.MessageData{Code: testCode}); err == nil {
		t.Error("Compose of an unknown kind succeeded")
	}
	if _, err := ob.Compose(context.Background(), auth.KindSignInCode, "", auth.MessageData{Code: testCode}); err == nil {
		t.Error("Compose without a recipient succeeded")
	}
}

func TestOpenPayloadRejectsTampering(t *testing.T) {
	t.Parallel()
	box := testBox(t)
	m, err := notify.NewOutbox(testTemplates(t), box, newFakeClock()).Compose(context.Background(), auth.KindSignInCode, testTo, auth.MessageData{Code: testCode})
	if err != nil {
		t.Fatal(err)
	}
	m.Payload[len(m.Payload)-1] ^= 1
	if _, err := notify.OpenPayload(box, m.Payload); err == nil {
		t.Error("a tampered payload opened")
	}
}

func TestOutboxWakeNeverBlocks(t *testing.T) {
	t.Parallel()
	ob := notify.NewOutbox(testTemplates(t), testBox(t), newFakeClock())
	done := make(chan struct{})
	go func() {
		for range 10 {
			ob.Wake()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wake blocked without a reader")
	}
	select {
	case <-ob.Wakeups():
	default:
		t.Fatal("no wake-up pending after Wake")
	}
	select {
	case <-ob.Wakeups():
		t.Fatal("more than one wake-up pending")
	default:
	}
}
