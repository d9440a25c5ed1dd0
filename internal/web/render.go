package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/httpauth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// templates holds one template set per page: the layout and the shared
// fragments (templates/_*.html) with the page's own file parsed over them,
// so every page defines "title" and "content" without clashing.
//
// The shared templates are parsed by New; a page's own file is parsed over
// a clone of them the first time the page is rendered. Parsing all of them
// was a fifth of start-up's instructions and kept about 0.5 MB of parse
// trees for pages an API-only deployment never shows. The files are
// embedded, so a parse error is a build's defect, not a deployment's:
// TestEveryPageParses parses every page.
type templates struct {
	pages map[string]func() (*template.Template, error)
}

// page returns page name's template set, parsing it on first use; ok is
// false for a name with no file.
func (t *templates) page(name string) (tpl *template.Template, ok bool, err error) {
	parse, ok := t.pages[name]
	if !ok {
		return nil, false, nil
	}
	tpl, err = parse()
	return tpl, true, err
}

// assetVersion changes whenever an embedded static file does, so pages can
// let browsers cache /static/ files and still never see a stale one. It
// hashes the files (about 100 KB) on first use rather than in every
// process's init, `gatehouse version` and API-only servers included.
var assetVersion = sync.OnceValue(func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
})

// funcs are the templates' functions. Every URL of this site a template
// writes goes through path or asset, so the pages work under a base path
// (Options.BasePath); a test renders them under one and fails on any that
// does not.
func funcs(base string) template.FuncMap {
	return template.FuncMap{
		// path returns the URL of a page of this site: p under the base
		// path.
		"path": func(p string) string { return base + p },
		// asset returns the URL of a static file, versioned.
		"asset": func(name string) string { return base + "/static/" + name + "?v=" + assetVersion() },
		// field returns the message of a field error, or "".
		"field": func(fields map[string]string, name string) string { return fields[name] },
	}
}

// parseTemplates parses the layout and shared fragments, their links
// under prefix (the base path), and readies every page to be parsed over
// them on first use (see templates).
func parseTemplates(prefix string) (*templates, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var shared []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			shared = append(shared, n)
		}
	}
	base, err := template.New("").Funcs(funcs(prefix)).ParseFS(templateFS, shared...)
	if err != nil {
		return nil, fmt.Errorf("web: parse shared templates: %w", err)
	}
	t := &templates{pages: map[string]func() (*template.Template, error){}}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		// base is never executed, so it can always be cloned.
		t.pages[strings.TrimSuffix(path.Base(n), ".html")] = sync.OnceValues(func() (*template.Template, error) {
			page, err := template.Must(base.Clone()).ParseFS(templateFS, n)
			if err != nil {
				return nil, fmt.Errorf("web: parse %s: %w", n, err)
			}
			return page, nil
		})
	}
	return t, nil
}

// pageData is what every template gets: the page's own view and what the
// layout needs.
type pageData struct {
	AppName string
	// User is the signed-in user, for the header; nil on sign-in pages.
	User *userLink
	View any
}

// flash is what a form's page says back after a post: a page-level error
// or notice (the layout's "flash" template) and messages beside fields, by
// form field name (the "field" template function). Every form's view
// embeds it, so the templates read it the same way on every page.
type flash struct {
	Error, Notice string
	Fields        map[string]string
}

// userLink is the header's view of the signed-in user.
type userLink struct {
	Label string
	Admin bool
}

// render writes page name (templates/NAME.html) in the layout, or, for an
// htmx request, only its "content" block: htmx swaps it into <main>.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) {
	s.renderPart(w, r, status, name, "", view)
}

// renderPart writes the template part of page name (its whole layout when
// part is "" and the request is not htmx's).
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, status int, name, part string, view any) {
	t, ok, err := s.tpl.page(name)
	if !ok || err != nil {
		s.log.ErrorContext(r.Context(), "no such page template", "page", name, "err", err)
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	if part == "" {
		part = "layout"
		if isHTMX(r) {
			part = "content"
		}
	}
	data := pageData{AppName: s.o.AppName, View: view, User: s.header(r)}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, data); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "part", part, "err", err)
		http.Error(w, "page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// header returns who is signed in, for the layout's header, from the
// principal a handler stored in the request's context (none on pages for
// signed-out visitors).
func (s *Server) header(r *http.Request) *userLink {
	p := httpauth.PrincipalFrom(r.Context())
	if p == nil {
		return nil
	}
	label := p.User.Email
	if label == "" {
		label = p.User.Phone
	}
	return &userLink{Label: label, Admin: isAdmin(p)}
}

// staticHandler serves the embedded static files. Their URLs carry
// assetVersion, so they may be cached for long.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		// A name no file can have (invalid UTF-8, "..", empty elements)
		// is not found; the file server would call it a 500.
		if name := strings.TrimPrefix(r.URL.Path, "/static/"); !utf8.ValidString(name) || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if r.URL.Query().Get("v") == assetVersion() {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// An unversioned URL (the API's link page) must see an upgrade.
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
