package password

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

//go:generate go run ./internal/gencommon

// commonTxt is the generated list of the most common passwords, lower-cased,
// one per line; lines starting with '#' are comments.
//
//go:embed common.txt
var commonTxt string

// commonSet is built on first use so that processes that never check a new
// password (a verify-only node, the CLI) do not pay for the map.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.SplitSeq(commonTxt, "\n") {
		// Tolerate a checkout that turned line ends into CRLF.
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[line] = struct{}{} // shares commonTxt's bytes, no copy
	}
	return set
})

// isCommon reports whether pw, ignoring case, is on the common list.
func isCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}

// Policy decides whether a new password is acceptable, following NIST SP
// 800-63B: a minimum length and a blocklist of known passwords rather than
// composition rules, which push people to predictable patterns. Lengths
// count Unicode code points, not bytes, so a passphrase in any script is
// judged by what the person typed. A zero bound is not enforced.
type Policy struct {
	// MinLength is what makes guessing expensive (NIST asks for at least 8).
	MinLength int
	// MaxLength exists to bound the work a request can cause, not for
	// strength; keep it generous.
	MaxLength int
}

// DefaultPolicy is what docs/contract.md promises: at least 8 characters, and
// 256 at most.
var DefaultPolicy = Policy{MinLength: 8, MaxLength: 256}

var _ auth.PasswordPolicy = Policy{}

// Check returns why pw is not acceptable, phrased to follow "Password …" in a
// message to the person, or "" when it is. Length is checked before the
// blocklist, so a short common password gets the more useful message.
func (p Policy) Check(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case p.MinLength > 0 && n < p.MinLength:
		return "must be at least " + strconv.Itoa(p.MinLength) + " characters"
	case p.MaxLength > 0 && n > p.MaxLength:
		return "must be at most " + strconv.Itoa(p.MaxLength) + " characters"
	case isCommon(pw):
		return "is too common; choose a less guessable password"
	}
	return ""
}
