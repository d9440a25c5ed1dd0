package password

import (
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	const (
		short    = "must be at least 8 characters"
		long     = "must be at most 256 characters"
		common   = "is too common; choose a less guessable password"
		accepted = ""
	)
	for _, tc := range []struct {
		name, pw, want string
	}{
		{"common password", "password", common},
		{"common digits", "12345678", common},
		{"common iloveyou", "iloveyou", common},
		{"common, other case", "Qwerty123", common},
		{"common, upper case", "PASSWORD", common},
		{"common and short: length first", "123456", short},
		{"empty", "", short},
		{"passphrase", "tangerine-obelisk-marmalade-7-quartz", accepted},
		{"7 characters", "xq7#vbk", short},
		{"8 characters", "xq7#vbkz", accepted},
		{"256 characters", strings.Repeat("ab", 128), accepted},
		{"257 characters", strings.Repeat("ab", 128) + "c", long},
		// Multi-byte characters count once each, not per byte.
		{"7 two-byte characters (14 bytes)", "ééééééé", short},
		{"8 two-byte characters", "éééééééé", accepted},
		{"7 CJK characters (21 bytes)", "日本語のパスワ", short},
		{"8 emoji (32 bytes)", "🔑🔒🔓🔐🔏🚪🏠🌙", accepted},
		// Code points, not what a reader sees: a key emoji with its
		// variation selector (U+1F5DD U+FE0F) counts twice.
		{"4 emoji + selector = 5 code points", "🗝️🔑🔒🔓", short},
		{"256 three-byte characters (768 bytes)", strings.Repeat("€", 256), accepted},
		{"257 three-byte characters", strings.Repeat("€", 257), long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := DefaultPolicy.Check(tc.pw); got != tc.want {
				t.Errorf("Check(%q) = %q, want %q", tc.pw, got, tc.want)
			}
		})
	}
}

func TestPolicyZeroBounds(t *testing.T) {
	t.Parallel()
	var p Policy
	if got := p.Check("x"); got != "" {
		t.Errorf("Policy{}.Check(short) = %q, want no length rule", got)
	}
	if got := p.Check("password"); got == "" {
		t.Error("Policy{}.Check(common) accepted a common password")
	}
	p = Policy{MinLength: 12, MaxLength: 64}
	if got, want := p.Check("abcdefghijk"), "must be at least 12 characters"; got != want {
		t.Errorf("Check = %q, want %q", got, want)
	}
	if got, want := p.Check(strings.Repeat("z", 65)), "must be at most 64 characters"; got != want {
		t.Errorf("Check = %q, want %q", got, want)
	}
}

func TestCommonList(t *testing.T) {
	t.Parallel()
	if n := len(commonSet()); n != 10000 {
		t.Errorf("the common list has %d distinct entries, want 10000", n)
	}
	lines := strings.Split(strings.TrimSuffix(commonTxt, "\n"), "\n")
	if len(lines) != 10001 {
		t.Errorf("common.txt has %d lines, want a header and 10000 entries", len(lines))
	}
	if want := "# top 10000 of @zxcvbn-ts/language-common@4.1.3 src/passwords.json"; !strings.HasPrefix(lines[0], want) {
		t.Errorf("common.txt header = %q, want it to start with %q", lines[0], want)
	}
	for _, pw := range lines[1:] {
		if pw != strings.ToLower(pw) || pw == "" || strings.HasPrefix(pw, "#") {
			t.Errorf("common.txt entry %q is not a lower-cased password", pw)
		}
	}
	// The list is ranked: the most common come first.
	if got := strings.Join(lines[1:4], " "); got != "123456 password 12345678" {
		t.Errorf("first entries = %q, want the most common ones", got)
	}
}
