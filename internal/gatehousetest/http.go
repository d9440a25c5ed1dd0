package gatehousetest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Response is an answer read whole.
type Response struct {
	T testing.TB
	// Req names the request in failures: method and path without query.
	Req    string
	Status int
	Header http.Header
	Body   []byte
}

// RequestOption changes a request before Do sends it.
type RequestOption func(*http.Request)

// Bearer sends tok as a Bearer token.
func Bearer(tok string) RequestOption {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// Admin sends the admin API key of every test server.
func Admin() RequestOption { return Bearer(AdminKey) }

// Header sets a request header.
func Header(k, v string) RequestOption { return func(r *http.Request) { r.Header.Set(k, v) } }

// WithCookie sends a cookie.
func WithCookie(name, v string) RequestOption {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: v}) }
}

// SameOrigin marks a request as a browser's from the server's own page.
func SameOrigin() RequestOption { return Header("Sec-Fetch-Site", "same-origin") }

// Cookie sends v as the server's session cookie.
func (s *Server) Cookie(v string) RequestOption { return WithCookie(s.Config.SessionCookieName, v) }

// Do sends one request to the server. A url.Values body is sent as a form,
// a string or []byte as it is (as JSON unless an option sets the type),
// any other non-nil body encoded as JSON. Redirects are not followed.
func (s *Server) Do(t testing.TB, method, path string, body any, opts ...RequestOption) *Response {
	t.Helper()
	return s.DoWith(t, s.Client, method, path, body, opts...)
}

// DoWith is Do through another client (a browser's, with a cookie jar).
func (s *Server) DoWith(t testing.TB, client *http.Client, method, path string, body any, opts ...RequestOption) *Response {
	t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &Response{T: t, Req: method + " " + strings.SplitN(path, "?", 2)[0], Status: res.StatusCode, Header: res.Header, Body: b}
}

// Want fails the test unless the status is status.
func (r *Response) Want(status int) *Response {
	r.T.Helper()
	if r.Status != status {
		r.T.Fatalf("%s: status %d, want %d; body: %s", r.Req, r.Status, status, r.Body)
	}
	return r
}

// Decode reads the JSON body into v.
func (r *Response) Decode(v any) {
	r.T.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.T.Fatalf("%s: body is not JSON (%v): %s", r.Req, err, r.Body)
	}
}

// Strict decodes the body into v and fails on fields v does not know, so
// an answer that grows a field (a token value, say) is noticed.
func (r *Response) Strict(v any) {
	r.T.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		r.T.Fatalf("%s: %v: %s", r.Req, err, r.Body)
	}
}

// Problem is an RFC 9457 problem document as docs/contract.md describes it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	// Error and ErrorDescription are RFC 6749's members, on the token
	// endpoint's problems.
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Fields returns the fields the problem's errors name.
func (p Problem) Fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// HasField reports whether the problem's errors name field.
func (p Problem) HasField(field string) bool { return slices.Contains(p.Fields(), field) }

// WantProblem fails the test unless the answer is a problem document with
// this status and code (and a type, and the status's title), and returns
// it.
func (r *Response) WantProblem(status int, code string) Problem {
	r.T.Helper()
	r.Want(status)
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/problem+json" {
		r.T.Fatalf("%s: Content-Type %q, want application/problem+json", r.Req, r.Header.Get("Content-Type"))
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		r.T.Fatalf("%s: not a problem document (%v): %s", r.Req, err, r.Body)
	}
	if p.Type == "" || p.Title != http.StatusText(status) || p.Status != status || p.Code != code {
		r.T.Fatalf("%s: problem %+v, want type set, title %q, status %d, code %q", r.Req, p, http.StatusText(status), status, code)
	}
	return p
}

// WantFieldError checks a 400 problem that names field among its errors.
func (r *Response) WantFieldError(code, field string) Problem {
	r.T.Helper()
	p := r.WantProblem(http.StatusBadRequest, code)
	if !p.HasField(field) {
		r.T.Fatalf("%s: errors name %q, want %q among them: %s", r.Req, p.Fields(), field, r.Body)
	}
	return p
}

// WantHTML fails the test unless the answer is an HTML page with this
// status, and returns the page.
func (r *Response) WantHTML(status int) string {
	r.T.Helper()
	r.Want(status)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "text/html" {
		r.T.Fatalf("%s: Content-Type %q, want text/html", r.Req, r.Header.Get("Content-Type"))
	}
	return string(r.Body)
}

// Accepted fails the test unless the answer is the enumeration-safe 202 {}.
func (r *Response) Accepted() *Response {
	r.T.Helper()
	r.Want(http.StatusAccepted)
	if got := strings.TrimSpace(string(r.Body)); got != "{}" {
		r.T.Fatalf("%s: body %q, want {}", r.Req, got)
	}
	return r
}

// SetCookie returns the cookie name the answer sets, or nil.
func (r *Response) SetCookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// WantNoCookie fails the test if the answer sets any cookie.
func (r *Response) WantNoCookie() {
	r.T.Helper()
	if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
		r.T.Fatalf("%s: sets cookies %q", r.Req, sc)
	}
}

// SameAnswer fails the test unless a and b differ at most in Date and
// X-Request-Id: an observer cannot tell them apart (which address had an
// account, say).
func SameAnswer(t testing.TB, what string, a, b *Response) {
	t.Helper()
	if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
		t.Errorf("%s: %d %s vs %d %s", what, a.Status, a.Body, b.Status, b.Body)
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		return h
	}
	if ha, hb := strip(a.Header), strip(b.Header); !maps.EqualFunc(ha, hb, slices.Equal) {
		t.Errorf("%s: headers differ:\n%v\n%v", what, ha, hb)
	}
}
