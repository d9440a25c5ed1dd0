package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// readBodies reads a request's body, up to the one byte past MaxBodyBytes
// that tells an oversized body, before any handler runs. A body that ends
// early (shorter than its Content-Length, the client half-closing) or a
// malformed chunk is the client's fault, but huma answers its read error
// with a 500 and the request log counts it as our bug; here it is a 400
// problem and the connection closes, since what follows on it cannot be
// trusted to start a request. Handlers then read the bytes from memory,
// followed by whatever is left, so an oversized body is refused where it
// was before.
func readBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		buf, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			var tooBig *http.MaxBytesError
			if !errors.As(err, &tooBig) {
				w.Header().Set("Connection", "close")
				p := newProblem(http.StatusBadRequest, string(auth.KindInvalidRequest), "The request body could not be read: it ended early or was malformed.")
				if r.Method == http.MethodPost && r.URL.Path == "/v1/token" {
					// huma's transformer adds these to every other
					// problem of the token endpoint; this one is
					// answered before huma runs.
					p.OAuthError, p.OAuthErrorDescription = "invalid_request", oauthDescription(p)
				}
				writeProblem(w, p)
				return
			}
			// A limit set further out is that limit's to answer.
			r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), errReader{err}), r.Body}
			next.ServeHTTP(w, r)
			return
		}
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		next.ServeHTTP(w, r)
	})
}

// readCloser reads from one reader and closes the original body.
type readCloser struct {
	io.Reader
	io.Closer
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
