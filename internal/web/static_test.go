package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

// TestFocusRingContrast: the focus ring is a solid colour that is at least
// 3:1 against the page and card backgrounds in both colour schemes (WCAG
// 1.4.11); a translucent ring (the old one, 1.79:1 on white) is refused.
func TestFocusRingContrast(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	focus := regexp.MustCompile(`--focus:\s*([^;]+);`).FindSubmatch(css)
	if focus == nil || !bytes.Contains(focus[1], []byte("var(--accent)")) || bytes.Contains(focus[1], []byte("rgba")) {
		t.Fatalf("--focus is %q: want a solid ring of var(--accent)", focus)
	}
	vars := regexp.MustCompile(`--(accent|bg|card):\s*(#[0-9a-fA-F]{6})`).FindAllSubmatch(css, -1)
	// Light scheme first, then dark: each declares accent, bg and card.
	schemes := map[string][]string{}
	for _, m := range vars {
		schemes[string(m[1])] = append(schemes[string(m[1])], string(m[2]))
	}
	if len(schemes["accent"]) != 2 || len(schemes["bg"]) != 2 || len(schemes["card"]) != 2 {
		t.Fatalf("colours found: %v; want accent, bg and card in both schemes", schemes)
	}
	for i, scheme := range []string{"light", "dark"} {
		for _, bg := range []string{schemes["bg"][i], schemes["card"][i]} {
			if r := contrast(schemes["accent"][i], bg); r < 3 {
				t.Errorf("%s: the ring %s on %s is %.2f:1, want at least 3:1", scheme, schemes["accent"][i], bg, r)
			}
		}
	}
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(h string) float64 {
		var rgb [3]float64
		for i := range rgb {
			var v int
			fmt.Sscanf(h[1+2*i:3+2*i], "%02x", &v)
			c := float64(v) / 255
			if c <= 0.03928 {
				rgb[i] = c / 12.92
			} else {
				rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
