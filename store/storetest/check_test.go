package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// TestDifference: what a test puts (any zone, nanoseconds) equals what a
// store returns (UTC, microseconds), and any other change to any field,
// times and pointers included, is a difference.
func TestDifference(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 9, 30, 15, 123456789, time.FixedZone("UTC+1", 3600))
	kept := at.Truncate(time.Microsecond).UTC()
	put := auth.Challenge{ID: "c", Purpose: auth.PurposeSignIn, CodeHash: []byte{1}, LinkHash: []byte{},
		CreatedAt: at, ExpiresAt: at, ConsumedAt: &at}
	tests := []struct {
		name string
		edit func(c *auth.Challenge)
		same bool
	}{
		{"as kept", func(*auth.Challenge) {}, true},
		{"an empty hash returned as nil", func(c *auth.Challenge) { c.LinkHash = nil }, true},
		{"a field lost", func(c *auth.Challenge) { c.Purpose = "" }, false},
		{"a field added", func(c *auth.Challenge) { c.RedirectTo = "https://app.example.com" }, false},
		{"a time moved", func(c *auth.Challenge) { c.ExpiresAt = c.ExpiresAt.Add(time.Microsecond) }, false},
		{"a time not in UTC", func(c *auth.Challenge) { c.CreatedAt = c.CreatedAt.In(time.FixedZone("X", 60)) }, false},
		{"a pointer lost", func(c *auth.Challenge) { c.ConsumedAt = nil }, false},
		{"a pointed time moved", func(c *auth.Challenge) { m := kept.Add(time.Second); c.ConsumedAt = &m }, false},
		{"bytes changed", func(c *auth.Challenge) { c.CodeHash = []byte{2} }, false},
	}
	for _, tt := range tests {
		got := put
		got.CreatedAt, got.ExpiresAt, got.ConsumedAt = kept, kept, &kept
		tt.edit(&got)
		if d := difference(&got, &put); (d == "") != tt.same {
			t.Errorf("%s: difference = %q; want same=%v", tt.name, d, tt.same)
		}
	}
}
