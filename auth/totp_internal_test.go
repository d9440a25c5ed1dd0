package auth

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/clocktest"
)

// rfcSecret is the SHA-1 key of RFC 4226 appendix D and RFC 6238 appendix
// B ("12345678901234567890"), base32 as authenticator apps take it.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// The 6-digit codes are the last six digits of RFC 6238's 8-digit table.
func TestTOTPRFC6238Vectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		got, err := totp.GenerateCodeCustom(rfcSecret, time.Unix(tc.unix, 0), totpOpts)
		if err != nil || got != tc.want {
			t.Errorf("T=%d: %q, %v; want %q", tc.unix, got, err, tc.want)
		}
	}
}

func TestHOTPRFC4226Vectors(t *testing.T) {
	t.Parallel()
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		got, err := hotp.GenerateCodeCustom(rfcSecret, uint64(counter), hotp.ValidateOpts{Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
		if err != nil || got != w {
			t.Errorf("counter %d: %q, %v; want %q", counter, got, err, w)
		}
	}
}

type plainSealer struct{}

func (plainSealer) Seal(_ string, b []byte) ([]byte, error) { return b, nil }
func (plainSealer) Open(_ string, b []byte) ([]byte, error) { return b, nil }

// matchTOTP accepts the current step and one on either side, answers which
// step matched, and refuses anything further.
func TestMatchTOTPWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(1111111111, 0)
	s := &Service{clock: clocktest.New(now), sealer: plainSealer{}}
	f := &Factor{Secret: []byte(rfcSecret)}
	step := now.Unix() / totpPeriod
	for _, d := range []int64{-3, -2, -1, 0, 1, 2, 3} {
		code, err := totp.GenerateCodeCustom(rfcSecret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.matchTOTP(f, code)
		if err != nil {
			t.Fatal(err)
		}
		wantOK := d >= -1 && d <= 1
		if ok != wantOK || (ok && got != step+d) {
			t.Errorf("step %+d: matched=%v step=%d; want matched=%v step=%d", d, ok, got, wantOK, step+d)
		}
	}
	if _, ok, _ := s.matchTOTP(f, "000000"); ok {
		t.Error("a wrong code matched")
	}
}

func TestBackupCodes(t *testing.T) {
	t.Parallel()
	s := &Service{cfg: Config{CodeKey: make([]byte, 32)}}
	codes, hashes, err := s.newBackupCodes("user-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 12 || c[4] != '-' || c[9] != '-' {
			t.Fatalf("code %q is not xxxx-xxxx-xx", c)
		}
		for _, r := range c {
			if r != '-' && !strings.ContainsRune(backupAlphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", c, r)
			}
		}
		if seen[c] {
			t.Fatalf("duplicate code %q", c)
		}
		seen[c] = true
		// What people type still matches: upper case, no dashes, spaces.
		typed := " " + strings.ToUpper(c[:4]) + " " + c[5:9] + c[10:] + " "
		if string(s.backupHash("user-1", typed)) != string(hashes[i]) {
			t.Errorf("%q typed as %q does not match", c, typed)
		}
		if string(s.backupHash("user-2", c)) == string(hashes[i]) {
			t.Errorf("the hash of %q does not depend on the user", c)
		}
	}
	// Crockford's look-alikes read as the digits they resemble.
	if normalizeBackupCode("IO-L") != "101" {
		t.Errorf("normalizeBackupCode(IO-L) = %q", normalizeBackupCode("IO-L"))
	}
}
