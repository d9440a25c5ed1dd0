package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// Problem is an RFC 9457 problem document with Gatehouse's stable `code`
// and per-field `errors` (docs/contract.md, "Conventions").
type Problem struct {
	Type   string       `json:"type" doc:"Always about:blank; code carries the meaning."`
	Title  string       `json:"title" doc:"The HTTP status phrase."`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty" doc:"A sentence for a person."`
	Code   string       `json:"code" doc:"Stable machine-readable error code." enum:"invalid_request,email_taken,phone_taken,invalid_credentials,invalid_credential,invalid_code,code_expired,too_many_attempts,rate_limited,unauthorized,forbidden,not_found,conflict,method_not_allowed,mfa_required,weak_password,token_expired,token_revoked,email_unverified,reauthentication_required,aal2_required,unavailable,internal"`
	Errors []FieldError `json:"errors,omitempty" doc:"One entry per invalid field."`
	// OAuthError and OAuthErrorDescription are RFC 6749 §5.2's members,
	// which OAuth 2.0 client libraries read: the token endpoint's problems
	// carry them.
	OAuthError            string `json:"error,omitempty" doc:"POST /v1/token only: the RFC 6749 error code." enum:"invalid_request,invalid_client,invalid_grant,unsupported_grant_type,slow_down,temporarily_unavailable,server_error"`
	OAuthErrorDescription string `json:"error_description,omitempty" doc:"POST /v1/token only: the detail and field errors in RFC 6749's characters."`

	headers http.Header
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error implements error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: a problem is
// application/problem+json where huma would write application/json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders implements huma.HeadersError (Retry-After, WWW-Authenticate).
func (p *Problem) GetHeaders() http.Header { return p.headers }

// newProblem returns a problem of status with Gatehouse's code and the
// status's text as its title.
func newProblem(status int, code, detail string, fields ...FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: detail, Errors: fields}
}

// causeDetails word the situations the flows name by a cause in the API's
// terms: what to call next.
var causeDetails = map[error]string{
	auth.ErrNoEnrolment: "Start the authenticator set-up first (POST /v1/mfa/totp).",
}

// problemOf turns any error from a flow into a problem a client may see.
// Unknown errors are failures of a backend (the flows return *auth.Error for
// everything a client caused), so they become 503 and are logged, with
// nothing internal in the response.
func problemOf(ctx context.Context, log *slog.Logger, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Message != "" {
		status := httpauth.Status(ae.Kind)
		if status == http.StatusServiceUnavailable {
			logUnavailable(ctx, log, "backend unavailable", err)
		}
		p := newProblem(status, string(ae.Kind), ae.Message)
		for cause, detail := range causeDetails {
			if errors.Is(err, cause) {
				p.Detail = detail
			}
		}
		for _, f := range ae.Fields {
			p.Errors = append(p.Errors, FieldError{f.Field, f.Message})
		}
		if ae.RetryAfter > 0 {
			p.headers = http.Header{"Retry-After": {httpauth.RetryAfter(ae.RetryAfter)}}
		}
		if status == http.StatusUnauthorized {
			p.headers = http.Header{"Www-Authenticate": {`Bearer realm="gatehouse"`}}
		}
		return p
	}
	logUnavailable(ctx, log, "request failed", err)
	return newProblem(http.StatusServiceUnavailable, string(auth.KindUnavailable), "A backend is unavailable; try again shortly.")
}

// logUnavailable logs a request answered 503: an error of ours or a
// backend's, except where the client went away first (its request's
// context canceled, which also cancels what the request was waiting
// for): that is news, not a fault to page anyone about.
func logUnavailable(ctx context.Context, log *slog.Logger, msg string, err error) {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		log.InfoContext(ctx, "client went away before the answer", "err", err)
		return
	}
	log.ErrorContext(ctx, msg, "err", err)
}

// writeProblem writes p from a plain net/http handler; huma writes the
// problems its operations return.
func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, vs := range p.headers {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// humaError replaces huma's error constructor so that errors huma raises
// itself (malformed JSON, unknown fields, wrong types, oversized bodies)
// are the same problems, with status 400 as docs/contract.md requires.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	switch status {
	case http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge, http.StatusBadRequest:
		p := newProblem(http.StatusBadRequest, string(auth.KindInvalidRequest), sentence(msg))
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				p.Errors = append(p.Errors, detailField(d))
			} else if e != nil {
				p.Errors = append(p.Errors, FieldError{Field: "body", Message: e.Error()})
			}
		}
		if status == http.StatusRequestEntityTooLarge {
			p.Detail = "The request body is larger than 64 KiB."
			p.Errors = []FieldError{{Field: "body", Message: "must be at most 65536 bytes"}}
		}
		return p
	case http.StatusUnsupportedMediaType:
		return newProblem(status, string(auth.KindInvalidRequest), "Send the body as application/json (or a form, application/x-www-form-urlencoded).")
	case http.StatusNotFound:
		return newProblem(status, string(auth.KindNotFound), sentence(msg))
	case http.StatusMethodNotAllowed:
		return newProblem(status, "method_not_allowed", sentence(msg))
	case http.StatusUnauthorized:
		return newProblem(status, string(auth.KindUnauthorized), sentence(msg))
	}
	if status >= 500 {
		return newProblem(http.StatusInternalServerError, "internal", "The server failed to answer; this is a bug.")
	}
	return newProblem(status, string(auth.KindInvalidRequest), sentence(msg))
}

// detailField names the field of one huma validation error. A missing
// property is reported by huma on its parent object; the field is the
// property itself.
func detailField(d *huma.ErrorDetail) FieldError {
	field := fieldName(d.Location)
	if name, ok := strings.CutPrefix(d.Message, "expected required property "); ok {
		if name, ok = strings.CutSuffix(name, " to be present"); ok {
			if field == "body" || field == "" {
				field = name
			} else {
				field += "." + name
			}
			return FieldError{Field: field, Message: "is required"}
		}
	}
	return FieldError{Field: field, Message: d.Message}
}

// fieldName turns huma's "body.email" or "query.cursor" into "email" and
// "cursor".
func fieldName(loc string) string {
	for _, prefix := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(loc, prefix) {
			return loc[len(prefix):]
		}
	}
	return loc
}

// sentence makes huma's message a sentence, like the flows' messages.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// fail turns a flow's error into the problem huma writes.
func (s *Server) fail(ctx context.Context, err error) error {
	return problemOf(ctx, s.log, err)
}
