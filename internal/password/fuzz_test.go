package password

import (
	"errors"
	"testing"
)

// FuzzVerifyEncoded feeds Verify stored strings it did not write. It must
// never panic, and the parser must accept only the canonical form: anything
// it accepts re-encodes to exactly the same string. The bounds on m, t and p
// keep every accepted input cheap enough to fuzz.
func FuzzVerifyEncoded(f *testing.F) {
	h := New(Params{Memory: 8, Iterations: 1}, 0)
	f.Fuzz(func(t *testing.T, encoded string) {
		ok, err := h.Verify(t.Context(), encoded, "password")
		if err != nil {
			if ok {
				t.Fatalf("Verify(%q) = true with error %v", encoded, err)
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) error %v does not wrap ErrMalformedHash", encoded, err)
			}
			return
		}
		p, salt, key, err := decode(encoded)
		if err != nil {
			t.Fatalf("Verify accepted %q but decode refuses it: %v", encoded, err)
		}
		if again := encode(p, salt, key); again != encoded {
			t.Fatalf("decode accepted a non-canonical string:\n in  %q\n out %q", encoded, again)
		}
	})
}
