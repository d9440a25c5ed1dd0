package web

import "net/http"

// APIDocs is the JSON API's documentation as the /docs page shows it: an
// index of the operations its OpenAPI document lists, which the root
// builds from that document (the pages do not know the API's routes).
type APIDocs struct {
	Title, Version, Description string
	// Document is the address of the machine-readable OpenAPI document.
	Document string
	// Operations come grouped by tag, in the order they are shown.
	Operations []APIOperation
}

// APIOperation is one operation of the API.
type APIOperation struct {
	Tag, Method, Path, Summary, Description string
}

// docsGroup is one tag's operations on the page.
type docsGroup struct {
	Tag string
	Ops []APIOperation
}

// docsView is the /docs page.
type docsView struct {
	Title, Version, Description, Document string
	Groups                                []docsGroup
}

// registerDocs registers /docs, the API's documentation as a page that
// needs nothing from a CDN. Without Options.APIDocs the page is off.
func (s *Server) registerDocs() {
	if s.o.APIDocs == nil {
		return
	}
	d := s.o.APIDocs
	v := docsView{Title: d.Title, Version: d.Version, Description: d.Description, Document: d.Document}
	for _, o := range d.Operations {
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Tag != o.Tag {
			v.Groups = append(v.Groups, docsGroup{Tag: o.Tag})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Ops = append(g.Ops, o)
	}
	s.mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "docs", v)
	})
}
