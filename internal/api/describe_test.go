package api

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "1 second"},
		{10 * time.Second, "10 seconds"},
		{90 * time.Second, "90 seconds"},
		{time.Minute, "1 minute"},
		{15 * time.Minute, "15 minutes"},
		{90 * time.Minute, "90 minutes"},
		{time.Hour, "1 hour"},
		{36 * time.Hour, "36 hours"},
		{168 * time.Hour, "7 days"},
		{720 * time.Hour, "30 days"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		if got := span(tc.d); got != tc.want {
			t.Errorf("span(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
