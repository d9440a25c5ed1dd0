package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rootLiterals are the string literals of the pages' Go code that start
// with "/" and do not go through the path helper, each with why it may
// stay as it is: routes (the handler sees paths below the base path),
// cookie paths at the root, and a flow's start handed to restartFlow,
// which prefixes it.
var rootLiterals = map[string]string{
	`"/"`:        "the mux's catch-all, cookie paths at the root, the root of a checked path",
	`"/static/"`: "the static files' route, below the base path",
	`"/login"`:   "restartFlow's start (it prefixes it) and the comparison that recognises it",
	`"/recover"`: "restartFlow's start (it prefixes it)",
	// verify_email.go's landing pages, used only through s.path.
	`"/?done=email#profile"`:   "emailConfirmedTarget, used through s.path",
	`"/?done=claimed#profile"`: "emailClaimedTarget, used through s.path",
}

// TestNoRootPathsInPages: no page URL is written without the base path.
// The Go code of the pages hands out no literal path but through s.path
// (see rootLiterals for those that are not URLs), and the templates write
// every URL attribute of this site through {{path}} or {{asset}}. It reads
// the source, so a new redirect or link that forgets the prefix fails here
// even where no test walks it under a base path.
func TestNoRootPathsInPages(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		wrapped := map[*ast.BasicLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "path" || sel.Sel.Name == "HandleFunc" || sel.Sel.Name == "Handle") {
				for _, a := range call.Args {
					ast.Inspect(a, func(n ast.Node) bool {
						if l, ok := n.(*ast.BasicLit); ok {
							wrapped[l] = true
						}
						return true
					})
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			l, ok := n.(*ast.BasicLit)
			if !ok || l.Kind != token.STRING || wrapped[l] {
				return true
			}
			v, err := strconv.Unquote(l.Value)
			if err != nil || !strings.HasPrefix(v, "/") {
				return true
			}
			if _, ok := rootLiterals[l.Value]; !ok {
				t.Errorf("%s: %s is a path of this site outside s.path (or, if it is not a URL, add it to rootLiterals with why)", fset.Position(l.Pos()), l.Value)
			}
			return true
		})
	}

	attr := regexp.MustCompile(`\b(href|src|action|formaction|hx-get|hx-post|hx-put|hx-patch|hx-delete|data-base|data-fallback|data-passkey-[a-z]+)="/`)
	tpls, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range tpls {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := attr.FindString(line); m != "" {
				t.Errorf("%s:%d: %s… writes a path of this site without {{path}}", name, i+1, m)
			}
		}
	}
}
