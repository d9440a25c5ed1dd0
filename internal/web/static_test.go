package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gatehousetest"
)

// TestVendoredScripts: each browser library copied from npm by go generate
// is served from /static as JavaScript, cached for a year under the pages'
// versioned URL and revalidated without it, and is the version that
// package.json pins exactly and package-lock.json locks (CI's `npm ci` and
// `git diff` then prove the bytes are that package's).
func TestVendoredScripts(t *testing.T) {
	t.Parallel()
	lock := readLock(t)
	s := gatehousetest.Start(t)
	version := assetVersion(t, s)
	for _, tc := range []struct {
		file, pkg string
		// banner is how the file names its own version; %s is the
		// locked version.
		banner string
	}{
		{"htmx.min.js", "htmx.org", `version:"%s"`},
		{"simplewebauthn-browser.umd.min.js", "@simplewebauthn/browser", `/* [@simplewebauthn/browser@%s] */`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, ok := lock.Packages["node_modules/"+tc.pkg]
			if !ok || want.Version == "" {
				t.Fatalf("package-lock.json locks no %s", tc.pkg)
			}
			if pin := lock.Packages[""].DevDependencies[tc.pkg]; pin != want.Version {
				t.Errorf("package.json pins %s at %q, the lock has %s: pin it exactly", tc.pkg, pin, want.Version)
			}

			r := s.Do(t, "GET", "/static/"+tc.file+"?v="+version, nil).Want(http.StatusOK)
			for h, v := range map[string]string{
				"Content-Type":           "text/javascript; charset=utf-8",
				"Cache-Control":          "public, max-age=31536000, immutable",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := r.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if banner := []byte(fmt.Sprintf(tc.banner, want.Version)); !bytes.Contains(r.Body, banner) {
				t.Errorf("%s does not say %s: not the locked %s@%s (run npm ci && go generate ./internal/web)", tc.file, banner, tc.pkg, want.Version)
			}

			// Without the version (an old page, a hand-typed URL) the
			// browser must ask again.
			if got := s.Do(t, "GET", "/static/"+tc.file, nil).Want(http.StatusOK).Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("unversioned Cache-Control = %q, want no-cache", got)
			}
		})
	}
}

// npmLock is the part of package-lock.json (lockfileVersion 3) the test
// reads: the root's exact pins and each installed package's version.
type npmLock struct {
	Packages map[string]struct {
		Version         string            `json:"version"`
		DevDependencies map[string]string `json:"devDependencies"`
	} `json:"packages"`
}

func readLock(t *testing.T) npmLock {
	t.Helper()
	b, err := os.ReadFile("../../package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var l npmLock
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	return l
}

// assetVersion is the ?v= the pages put on static URLs, read from the
// sign-in page's stylesheet link.
func assetVersion(t *testing.T, s *gatehousetest.Server) string {
	t.Helper()
	page := s.Do(t, "GET", "/login", nil).WantHTML(http.StatusOK)
	m := regexp.MustCompile(`/static/style\.css\?v=([0-9a-f]+)`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the sign-in page links no versioned stylesheet")
	}
	return m[1]
}
