package web_test

// The browser harness: Debian's Chromium, headless, driven by chromedp,
// against a real server. One browser serves the whole test binary; every
// test gets its own incognito-like context (own cookies) in a new tab.
// Without Chromium the browser tests skip and say so, except in CI, where
// .ci/run installs it and a missing browser is a failure.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// chromiumPath answers the Chromium to drive, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestMain stops the shared browser after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// newTab answers a chromedp context in a fresh browser context (its own
// cookie jar) of the shared browser, closed when the test ends, with each
// action bounded by a timeout.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium installed: .ci/run installs Debian's chromium package")
		}
		t.Skip("browser test skipped: no Chromium installed (apt-get install -y chromium)")
	}
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.DisableGPU,
			chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
			chromedp.WindowSize(1100, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCancel = func() { cancel(); cancelAlloc() }
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
			browserErr = fmt.Errorf("start %s: %w", path, err)
			return
		}
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// step runs actions with a timeout, failing the test with what the page
// showed when one fails.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, pageText(ctx))
	}
}

// value runs one action that answers a value, with a timeout.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, pageText(ctx))
	}
	return v
}

// pageText answers where the tab is and what it shows, for failures.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		return loc + " (no text: " + err.Error() + ")"
	}
	return loc + "\n" + strings.TrimSpace(text)
}

// location answers the tab's URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return value(t, ctx, "location", chromedp.Location())
}

// screenshot saves the whole page as a PNG artifact named name, for a
// person to look at: in $GATEHOUSE_SCREENSHOTS_DIR (.ci/run sets it to
// .artifacts/screenshots), else in the test's artifact directory
// (t.ArtifactDir: under -outputdir with go test -artifacts, else a
// temporary one).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFocus waits up to 5 s for the element with id to have the focus
// and returns the id of the one that has it.
func waitFocus(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		focused := value(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`))
		if focused == id || time.Now().After(deadline) {
			return focused
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLocation waits until the tab's URL satisfies ok.
func waitLocation(t *testing.T, ctx context.Context, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc := location(t, ctx)
		if ok(loc) {
			return loc
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still at %s\npage: %s", what, loc, pageText(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// passwordSignIn signs email in with the test password on the
// /login/password page under base (the server's URL, with its path prefix
// if any), and waits until until shows: the page or step the sign-in
// leads to.
func passwordSignIn(t *testing.T, ctx context.Context, base, email, until string) {
	t.Helper()
	step(t, ctx, "sign in with the password as "+email,
		chromedp.Navigate(base+"/login/password"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#address"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action$="/login/password"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(until)),
	)
}
