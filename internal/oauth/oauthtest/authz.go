// Package oauthtest has fake providers over real HTTP for every package's
// tests: an OpenID Connect provider (OIDC) and GitHub (GitHub). Each
// checks the requests it gets as the real provider documents them (exact
// redirect URI, PKCE S256, single-use codes, the client authentication it
// is set up for) and refuses what the real one would, so a test that
// passes against them proves the requests are right; the OpenID Connect
// fake also mints bad ID tokens on demand.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// grant is an issued authorization code.
type grant struct {
	clientID, redirectURI, challenge, nonce, scope string
	used                                           bool
	// what the code signs in as: an OIDC User or a GitHub user
	user any
}

// codes is the authorization server half both fakes share.
type codes struct {
	mu     sync.Mutex
	grants map[string]*grant
}

// verifierRE is RFC 7636's code_verifier: 43 to 128 unreserved characters.
var verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// checkAuthorize checks an authorization request as RFC 6749 4.1.1 and
// RFC 7636 4.3 say, for a client that must use PKCE S256.
func checkAuthorize(q url.Values, clientID, redirectURI string) error {
	switch {
	case q.Get("client_id") != clientID:
		return fmt.Errorf("client_id %q is not the registered client", q.Get("client_id"))
	case q.Get("redirect_uri") != redirectURI:
		return fmt.Errorf("redirect_uri %q is not the registered one %q (exact match)", q.Get("redirect_uri"), redirectURI)
	case q.Get("response_type") != "code":
		return fmt.Errorf("response_type %q, want code", q.Get("response_type"))
	case q.Get("state") == "":
		return errors.New("no state")
	case q.Get("code_challenge_method") != "S256":
		return fmt.Errorf("code_challenge_method %q, want S256", q.Get("code_challenge_method"))
	case len(q.Get("code_challenge")) != 43:
		return errors.New("code_challenge is not a base64url SHA-256")
	}
	return nil
}

// issue stores a code for g.
func (c *codes) issue(g *grant) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.grants == nil {
		c.grants = map[string]*grant{}
	}
	code := rand.Text()
	c.grants[code] = g
	return code
}

// tokenError is an RFC 6749 5.2 error answer.
type tokenError struct {
	status      int
	code, descr string
}

func (e *tokenError) Error() string { return e.code + ": " + e.descr }

func (e *tokenError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.descr})
}

// redeem checks a token request (RFC 6749 4.1.3, RFC 7636 4.6) and uses
// up its code. A code is used up by its first redemption even when that
// fails, as a replayed code may be a stolen one.
func (c *codes) redeem(r *http.Request, clientID string) (*grant, *tokenError) {
	if r.Method != http.MethodPost {
		return nil, &tokenError{http.StatusMethodNotAllowed, "invalid_request", "token requests are POST"}
	}
	if r.Form.Get("grant_type") != "authorization_code" {
		return nil, &tokenError{http.StatusBadRequest, "unsupported_grant_type", "grant_type " + r.Form.Get("grant_type")}
	}
	c.mu.Lock()
	g := c.grants[r.Form.Get("code")]
	used := g != nil && g.used
	if g != nil {
		g.used = true
	}
	c.mu.Unlock()
	switch {
	case g == nil:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "unknown code"}
	case used:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "the code was already used"}
	case g.clientID != clientID:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "the code was issued to another client"}
	case r.Form.Get("redirect_uri") != g.redirectURI:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "redirect_uri is not the authorization request's"}
	}
	v := r.Form.Get("code_verifier")
	sum := sha256.Sum256([]byte(v))
	if !verifierRE.MatchString(v) || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge"}
	}
	return g, nil
}

// checkClient authenticates the client as method says (RFC 6749 2.3.1):
// client_secret_basic in the Authorization header (each part
// form-urlencoded first), client_secret_post in the body; the other
// place must be empty, as a server must not accept two methods at once.
func checkClient(r *http.Request, method, clientID string, secretOK func(string) bool) *tokenError {
	user, pass, basic := r.BasicAuth()
	inBody := r.PostForm.Has("client_secret")
	switch method {
	case "client_secret_basic":
		if inBody || !basic {
			return &tokenError{http.StatusUnauthorized, "invalid_client", "client_secret_basic: the secret goes in the Authorization header, not the body"}
		}
		u, err1 := url.QueryUnescape(user)
		s, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || u != clientID || !secretOK(s) {
			return &tokenError{http.StatusUnauthorized, "invalid_client", "wrong client credentials"}
		}
	case "client_secret_post":
		if basic || !inBody {
			return &tokenError{http.StatusUnauthorized, "invalid_client", "client_secret_post: the secret goes in the body"}
		}
		if r.PostForm.Get("client_id") != clientID || !secretOK(r.PostForm.Get("client_secret")) {
			return &tokenError{http.StatusUnauthorized, "invalid_client", "wrong client credentials"}
		}
	default:
		return &tokenError{http.StatusInternalServerError, "server_error", "fake set up with unknown auth method " + method}
	}
	return nil
}

// equalSecret accepts secret.
func equalSecret(secret string) func(string) bool {
	return func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(secret)) == 1 }
}

// answer sends the browser back to the client: a 302 with the answer in
// the query, or, for response_mode=form_post, a page that posts it.
func answer(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values, formPost bool) {
	if formPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		fmt.Fprintf(&b, `<!doctype html><body onload="document.forms[0].submit()"><form method="post" action="%s">`, html.EscapeString(redirectURI))
		for k, vs := range params {
			for _, v := range vs {
				fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
			}
		}
		b.WriteString(`<noscript><button>Continue</button></noscript></form>`)
		_, _ = w.Write([]byte(b.String()))
		return
	}
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var formRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// Follow sends the authorization request at authURL as a browser would
// (without following the redirect back) and returns what the provider sent
// to the callback: the redirect's query, or a form post's fields. An
// authorization request the fake refused is an error with its reason.
func Follow(client *http.Client, authURL string) (url.Values, error) {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	switch resp.StatusCode {
	case http.StatusFound:
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, err
		}
		return u.Query(), nil
	case http.StatusOK:
		v := url.Values{}
		for _, m := range formRE.FindAllStringSubmatch(body.String(), -1) {
			v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		return v, nil
	}
	return nil, fmt.Errorf("authorization refused: %s: %s", resp.Status, strings.TrimSpace(body.String()))
}

// outages is which endpoints of a fake answer 503, as a provider having an
// outage there: every one (all) or those by path. Both fakes use it.
type outages struct {
	mu  sync.Mutex
	all bool
	at  map[string]bool
}

// set takes the endpoint at path down (or brings it back); path "" is
// every endpoint.
func (o *outages) set(path string, down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if path == "" {
		o.all = down
		return
	}
	if o.at == nil {
		o.at = map[string]bool{}
	}
	o.at[path] = down
}

// serve answers 503 (saying it is name) where an outage is set, else
// hands the request to h.
func (o *outages) serve(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		down := o.all || o.at[r.URL.Path]
		o.mu.Unlock()
		if down {
			http.Error(w, name+": down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}
