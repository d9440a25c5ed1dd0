package provider

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/notify"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, want string }{
		{"", "https://api.example.com"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"https://proxy.example.com/api", "https://proxy.example.com/api"},
		{"ftp://example.com", ""},
		{"https://", ""},
		{"not a url", ""},
	} {
		got, err := BaseURL("GATEHOUSE_X_URL", tc.base, "https://api.example.com")
		if tc.want == "" {
			if err == nil {
				t.Errorf("BaseURL(%q) = %q; want an error", tc.base, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tc.base, got, err, tc.want)
		}
	}
}

func TestByStatus(t *testing.T) {
	t.Parallel()
	failure := errors.New("refused")
	for status, permanent := range map[int]bool{
		http.StatusBadRequest: true, http.StatusUnauthorized: true, http.StatusUnprocessableEntity: true,
		http.StatusTooManyRequests: false, http.StatusInternalServerError: false, http.StatusServiceUnavailable: false,
		http.StatusFound: false,
	} {
		err := ByStatus(status, failure)
		if !errors.Is(err, failure) || notify.IsPermanent(err) != permanent {
			t.Errorf("ByStatus(%d) = %v, permanent %v; want permanent %v", status, err, notify.IsPermanent(err), permanent)
		}
	}
}

func TestSnippetAndCut(t *testing.T) {
	t.Parallel()
	if got := Snippet([]byte("  <html>\n  Bad   gateway </html>")); got != "<html> Bad gateway </html>" {
		t.Errorf("Snippet = %q", got)
	}
	if got := Snippet(nil); got != "(empty answer)" {
		t.Errorf("Snippet(nil) = %q", got)
	}
	// 199 bytes and a two-byte rune across the limit: cut before it.
	long := string(make([]byte, 199)) + "é" + "tail"
	if got := Cut(long, 200); got != long[:199]+"…" {
		t.Errorf("Cut split a rune: %q", got[190:])
	}
	if got := Cut("short", 200); got != "short" {
		t.Errorf("Cut(short) = %q", got)
	}
}
