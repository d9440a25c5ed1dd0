package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

// Audit runs the conformance tests of auth.AuditStore.
func Audit(t *testing.T, open func(t *testing.T) auth.AuditStore) {
	t.Helper()
	runGroup(t, "Audit", open, auditTests)
}

var auditTests = []storeTest[auth.AuditStore]{
	{"AddAndGet", testAddAuditEvent},
	{"ListNewestFirst", testListAuditEvents},
	{"ListLimit", testListAuditEventsLimit},
	{"AnyText", testAuditEventText},
	{"CancelledContext", testAuditCancelledContext},
}

func testAddAuditEvent(t *testing.T, s auth.AuditStore) {
	ctx := t.Context()
	u := owner(t, s)
	e := newAuditEvent(u.ID, base)
	mustAddAuditEvent(t, s, e)
	// An event of no user, and one of a user the store does not know (the
	// trail does not depend on the account).
	none := newAuditEvent("", base.Add(time.Second))
	none.IP, none.UserAgent, none.Detail = "", "", ""
	mustAddAuditEvent(t, s, none)
	stranger := newAuditEvent(newID(), base.Add(2*time.Second))
	mustAddAuditEvent(t, s, stranger)

	for _, tc := range []struct {
		userID string
		want   []*auth.AuditEvent
	}{
		{u.ID, []*auth.AuditEvent{e}},
		{stranger.UserID, []*auth.AuditEvent{stranger}},
		{"", []*auth.AuditEvent{stranger, none, e}},
		{newID(), nil},
	} {
		got, err := s.AuditEvents(ctx, tc.userID, "", 0)
		if err != nil {
			t.Fatalf("AuditEvents(%q): %v", tc.userID, err)
		}
		if got == nil || len(got) != len(tc.want) {
			t.Errorf("AuditEvents(%q) = %v; want %v", tc.userID, auditIDs(got), auditIDsOf(tc.want))
			continue
		}
		for i := range got {
			checkAuditEvent(t, &got[i], tc.want[i])
		}
	}
	dup := newAuditEvent(u.ID, base)
	dup.ID = e.ID
	if err := s.AddAuditEvent(ctx, dup); err == nil {
		t.Error("AddAuditEvent with a taken ID succeeded")
	} else if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrNotFound) {
		t.Errorf("AddAuditEvent with a taken ID = %v; want a plain error", err)
	}
}

func testListAuditEvents(t *testing.T, s auth.AuditStore) {
	ctx := t.Context()
	u, v := newID(), newID()
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	var all []*auth.AuditEvent
	for i := range 9 {
		user := u
		switch i % 3 {
		case 1:
			user = v
		case 2:
			user = ""
		}
		all = append(all, newAuditEvent(user, at(8-i))) // added newest first: order is not insertion
	}
	// Two at one instant: the ID orders them.
	all = append(all, newAuditEvent(u, at(3)), newAuditEvent(v, at(3)))
	for _, e := range all {
		mustAddAuditEvent(t, s, e)
	}
	slices.SortFunc(all, func(a, b *auth.AuditEvent) int { // newest first
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, user := range []string{"", u, v} {
		var want []string
		for _, e := range all {
			if user == "" || e.UserID == user {
				want = append(want, e.ID)
			}
		}
		got, err := s.AuditEvents(ctx, user, "", 0)
		if err != nil {
			t.Fatalf("AuditEvents(%q): %v", user, err)
		}
		if g := auditIDs(got); !slices.Equal(g, want) {
			t.Errorf("AuditEvents(%q) = %v, want %v (newest first)", user, g, want)
		}
		checkPages(t, fmt.Sprintf("AuditEvents(%q)", user), want, func(before string) ([]string, error) {
			got, err := s.AuditEvents(ctx, user, before, 2)
			return auditIDs(got), err
		})
	}
	if got, err := s.AuditEvents(ctx, "", newID(), 10); err != nil || len(got) != 0 {
		t.Errorf("AuditEvents(unknown cursor) = %v, %v; want none", auditIDs(got), err)
	}
}

func testListAuditEventsLimit(t *testing.T, s auth.AuditStore) {
	ctx := t.Context()
	u := newID()
	for i := range 201 {
		mustAddAuditEvent(t, s, newAuditEvent(u, base.Add(time.Duration(i)*time.Microsecond)))
	}
	for _, user := range []string{"", u} {
		for _, tc := range []struct{ limit, want int }{
			{0, 50}, {-1, 50}, {1, 1}, {200, 200}, {201, 200}, {1000, 200},
		} {
			got, err := s.AuditEvents(ctx, user, "", tc.limit)
			if err != nil {
				t.Fatalf("AuditEvents(%q, limit %d): %v", user, tc.limit, err)
			}
			if len(got) != tc.want {
				t.Errorf("AuditEvents(%q, limit %d) answered %d events, want %d", user, tc.limit, len(got), tc.want)
			}
		}
	}
}

func testAuditEventText(t *testing.T, s auth.AuditStore) {
	// The user agent comes from the client and the detail may quote
	// anything: any bytes, any length. The event is stored (as valid
	// UTF-8 without NUL, cut to a bound), never refused.
	ctx := t.Context()
	for i, text := range []string{
		"bad\x00byte",
		"\xff\xfe invalid UTF-8",
		strings.Repeat("é", 3000),
		"",
	} {
		e := newAuditEvent(newID(), base.Add(time.Duration(i)*time.Second))
		e.UserAgent, e.Detail, e.IP = text, text, text
		if err := s.AddAuditEvent(ctx, e); err != nil {
			t.Errorf("AddAuditEvent(%.20q…): %v", text, err)
			continue
		}
		got, err := s.AuditEvents(ctx, e.UserID, "", 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("AuditEvents = %d events, %v; want 1", len(got), err)
		}
		for field, v := range map[string]string{"IP": got[0].IP, "UserAgent": got[0].UserAgent, "Detail": got[0].Detail} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || len(v) > 1000 {
				t.Errorf("%s stored for %.20q… = %.40q… (%d bytes); want valid UTF-8, no NUL, at most 1000 bytes", field, text, v, len(v))
			}
			if text != "" && v == "" {
				t.Errorf("%s for %.20q… was dropped", field, text)
			}
		}
		if utf8.ValidString(text) && !strings.ContainsRune(text, 0) && len(text) <= 1000 &&
			(got[0].UserAgent != text || got[0].Detail != text) {
			t.Errorf("UserAgent, Detail = %q, %q; want %q unchanged", got[0].UserAgent, got[0].Detail, text)
		}
	}
}

func testAuditCancelledContext(t *testing.T, s auth.AuditStore) {
	e := newAuditEvent(newID(), base)
	mustAddAuditEvent(t, s, e)
	checkCancelledCalls(t, []call{
		{"AddAuditEvent", func(ctx context.Context) error { return s.AddAuditEvent(ctx, newAuditEvent(e.UserID, now)) }},
		{"AuditEvents", func(ctx context.Context) error { _, err := s.AuditEvents(ctx, "", "", 10); return err }},
		{"AuditEvents(user, before)", func(ctx context.Context) error {
			_, err := s.AuditEvents(ctx, e.UserID, e.ID, 10)
			return err
		}},
	})
	got, err := s.AuditEvents(t.Context(), "", "", 10)
	if err != nil || len(got) != 1 {
		t.Errorf("AuditEvents after the cancelled add = %v, %v; want only the first event", auditIDs(got), err)
	}
}

func newAuditEvent(userID string, created time.Time) *auth.AuditEvent {
	return &auth.AuditEvent{
		ID:        newID(),
		UserID:    userID,
		Kind:      "backup_code_used",
		IP:        "2001:db8::7",
		UserAgent: "storetest/1.0 (+https://example.com)",
		Detail:    "3 backup codes left",
		CreatedAt: created,
	}
}

func mustAddAuditEvent(t *testing.T, s auth.AuditStore, e *auth.AuditEvent) {
	t.Helper()
	if err := s.AddAuditEvent(t.Context(), e); err != nil {
		t.Fatalf("AddAuditEvent: %v", err)
	}
}

func checkAuditEvent(t *testing.T, got, want *auth.AuditEvent) {
	t.Helper()
	equal(t, "audit event", got, want)
}

func auditIDs(xs []auth.AuditEvent) []string {
	return idsOf(xs, func(e auth.AuditEvent) string { return e.ID })
}

func auditIDsOf(xs []*auth.AuditEvent) []string {
	return idsOf(xs, func(e *auth.AuditEvent) string { return e.ID })
}
