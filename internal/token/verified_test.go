package token

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
)

// TestSignVerifiedClaims: email_verified and phone_verified are signed as
// the caller says and read back, for each combination.
func TestSignVerifiedClaims(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, &memStore{}, clocktest.New(t0), testConfig())
	for _, tc := range []struct{ email, phone bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		c := testClaims(t0)
		c.EmailVerified, c.PhoneVerified = tc.email, tc.phone
		tok := mustSign(t, k, c)
		got, err := k.Verify(context.Background(), tok, t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("%+v: Verify: %v", tc, err)
		}
		if !reflect.DeepEqual(*got, c) {
			t.Errorf("claims = %+v, want %+v", *got, c)
		}
		p := segment(t, tok, 1)
		if p["email_verified"] != tc.email || p["phone_verified"] != tc.phone {
			t.Errorf("%+v: payload email_verified %v phone_verified %v", tc, p["email_verified"], p["phone_verified"])
		}
	}
}
