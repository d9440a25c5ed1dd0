package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/danielgtaylor/huma/v2"
)

// formFormat lets huma read application/x-www-form-urlencoded bodies, which
// browser forms and OAuth 2.0 clients (RFC 6749 token requests) send. Values
// become JSON strings, then take the same validation path as a JSON body;
// a field given twice is refused rather than silently picking one.
var formFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) },
	Unmarshal: func(data []byte, v any) error {
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return fmt.Errorf("malformed form body: %w", err)
		}
		m := make(map[string]any, len(vals))
		for k, vs := range vals {
			if len(vs) > 1 {
				return fmt.Errorf("field %q is given more than once", k)
			}
			m[k] = vs[0]
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	},
}
