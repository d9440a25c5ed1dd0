package web

import (
	"io/fs"
	"path"
	"strings"
	"sync"
	"testing"
)

// TestEveryPageParses parses every page's template over the shared ones,
// as its first render does: New no longer parses them, so a broken page
// is caught here rather than at start-up. Two goroutines ask for each
// page at once, as two first requests would.
func TestEveryPageParses(t *testing.T) {
	tpl, err := parseTemplates("/base")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if name := path.Base(f); !strings.HasPrefix(name, "_") {
			want = append(want, strings.TrimSuffix(name, ".html"))
		}
	}
	if len(want) == 0 || len(tpl.pages) != len(want) {
		t.Fatalf("%d pages ready, want one per page file: %v", len(tpl.pages), want)
	}
	var wg sync.WaitGroup
	for _, name := range want {
		for range 2 {
			wg.Go(func() {
				page, ok, err := tpl.page(name)
				if !ok || err != nil || page.Lookup("content") == nil {
					t.Errorf("page %s: ok %v, err %v", name, ok, err)
				}
			})
		}
	}
	wg.Wait()
	if _, ok, _ := tpl.page("no-such-page"); ok {
		t.Error("a page with no file is ready")
	}
}
