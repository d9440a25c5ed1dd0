package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// registerVerify documents the page an emailed link opens. The pages
// (package web) serve it: the API renders no HTML. It is listed here
// because its address is under /v1 and in every emailed link, so it is
// part of the contract /openapi.json states.
func (s *Server) registerVerify() {
	page := &huma.Schema{Type: "string"}
	s.document(&huma.Operation{
		OperationID: "verifyPage", Method: http.MethodGet, Path: "/v1/verify", Tags: []string{"Sign-in"},
		Summary:     "The page an emailed link opens",
		Description: "Shows one button (and, for a password reset, a password field; for a link that proves an email, opened without a session of its account, the account's password and a \"This was not me\" button). Opening it consumes nothing, so mail scanners cannot burn the link.",
		Parameters:  []*huma.Param{{Name: "token", In: "query", Required: true, Schema: &huma.Schema{Type: "string"}}},
	}, page, "text/html")
	o := &huma.Operation{
		OperationID: "verifyLink", Method: http.MethodPost, Path: "/v1/verify", Tags: []string{"Sign-in"},
		Summary:     "The button on that page: consume the link",
		Description: "Form fields token (and new_password for a reset; password or not_me for a link that proves an email, see docs/security.md \"Proving an address, and claiming an account\"). Sets the session cookie and answers 303 to the redirect_to given at request time if it is allowed, else to / (the account page for an email's proof). A bad, expired or used link: an HTML page that says so, and no cookie. An email's proof: 401 for a wrong password (the link stays usable), 429 after repeated wrong ones, 200 \"nothing was changed\" for \"This was not me\" on a change of address.",
		RequestBody: &huma.RequestBody{Content: map[string]*huma.MediaType{"application/x-www-form-urlencoded": {Schema: &huma.Schema{
			Type: "object", Required: []string{"token"},
			Properties: map[string]*huma.Schema{
				"token": {Type: "string"}, "new_password": {Type: "string"},
				"password": {Type: "string"}, "not_me": {Type: "string"},
			},
		}}}},
		Responses: map[string]*huma.Response{"303": {Description: "Signed in; Location is where to go."}},
	}
	s.document(o, page, "text/html")
	html := map[string]*huma.MediaType{"text/html": {Schema: page}}
	o.Responses["200"] = &huma.Response{Description: "\"This was not me\" on a link that proves a change of email: a page saying nothing was changed.", Content: html}
	o.Responses["400"] = &huma.Response{Description: "The link is bad, expired or used (an HTML page).", Content: html}
	o.Responses["401"] = &huma.Response{Description: "An email's proof with a wrong password (an HTML page); the link stays usable.", Content: html}
	o.Responses["429"] = &huma.Response{Description: "Too many wrong passwords for the account (an HTML page, with Retry-After).", Content: html}
}
