package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var externalAsset = regexp.MustCompile(`(?i)<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//|@import\s+(url\()?["']?(https?:)?//`)

// TestDocsPage: /docs is the API's document as one of the pages, with
// nothing loaded from elsewhere (huma's own page loads from a CDN).
func TestDocsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := e.browser().get(t, "/docs").want(http.StatusOK)
	if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	p.contains("<!doctype html>", "Gatehouse API", "<h2>Sign-in</h2>", "<h2>Operations</h2>",
		`<span class="method POST">POST</span> <code class="path">/v1/token</code>`,
		"/v1/check", "/v1/admin/users", "/v1/verify", `href="/openapi.json"`).
		lacks("<style", " style=")
	if strings.Index(p.body, "<h2>Sign-in</h2>") > strings.Index(p.body, "<h2>Operations</h2>") {
		t.Error("the groups are out of order")
	}
	if m := externalAsset.FindString(p.body); m != "" {
		t.Errorf("/docs loads an external asset: %s", m)
	}
	// The check is able to fail.
	for _, bad := range []string{`<script src="https://cdn.example.com/x.js"></script>`, `<link rel="stylesheet" href="//cdn.example.com/x.css">`} {
		if !externalAsset.MatchString(bad) {
			t.Errorf("the external asset check misses %s", bad)
		}
	}
}
