package web_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// TestDocsHeaders: /docs carries the security headers of every other page,
// the same values as the sign-in page's.
func TestDocsHeaders(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	login := s.Do(t, "GET", "/login", nil)
	login.WantHTML(http.StatusOK)
	docs := s.Do(t, "GET", "/docs", nil)
	docs.WantHTML(http.StatusOK)
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
		want := login.Header.Get(h)
		if h != "Referrer-Policy" && want == "" {
			t.Errorf("the sign-in page has no %s", h)
		}
		if got := docs.Header.Get(h); got != want {
			t.Errorf("/docs %s = %q, want the pages' %q", h, got, want)
		}
	}
	if got := docs.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("/docs X-Content-Type-Options = %q", got)
	}
}

// TestStaticInvalidPaths: a path no file can have is not found, not a
// failure of ours; a real file is still served.
func TestStaticInvalidPaths(t *testing.T) {
	t.Parallel()
	s := gatehousetest.Start(t)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/static/htmx.min.js", http.StatusOK},
		{"/static/%ff%fe", http.StatusNotFound},
		{"/static/a%ffb.js", http.StatusNotFound},
		{"/static/%c3%28", http.StatusNotFound},
		{"/static/nope.js", http.StatusNotFound},
		{"/static/", http.StatusNotFound},
	} {
		if r := s.Do(t, "GET", tc.path, nil); r.Status != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, r.Status, tc.want)
		}
	}
}
