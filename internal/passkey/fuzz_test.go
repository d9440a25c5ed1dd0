package passkey_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/passkey"
)

// The fuzz targets feed the JSON a client sends to the two finish steps:
// whatever it is, the answer is an error (or, for a seed that happens to
// verify, a result), never a panic. Seeds: testdata/fuzz (responses of the
// software authenticator, and broken ones).

func FuzzFinishLogin(f *testing.F) {
	rp, acc := fuzzRP(f)
	_, data, err := rp.BeginLogin(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AQ","rawId":"AQ","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":"dXNlci1h"}}`))
	f.Fuzz(func(t *testing.T, resp []byte) {
		_, _, _, err := rp.FinishLogin(data, resp, acc.lookup)
		if err == nil {
			t.Fatal("a response to a challenge nobody saw verified")
		}
	})
}

func FuzzFinishRegistration(f *testing.F) {
	rp, acc := fuzzRP(f)
	u := acc.users["user-a"]
	_, data, err := rp.BeginRegistration(u, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AQ","rawId":"AQ","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Fuzz(func(t *testing.T, resp []byte) {
		if _, err := rp.FinishRegistration(u, data, resp); err == nil {
			t.Fatal("a response to a challenge nobody saw verified")
		}
	})
}

func fuzzRP(f *testing.F) (*passkey.RelyingParty, *accounts) {
	rp, err := passkey.New(rpID, "Gatehouse", []string{origin})
	if err != nil {
		f.Fatal(err)
	}
	acc := newAccounts()
	acc.add("user-a", "a@example.com")
	acc.passkeys["user-a"] = []auth.Passkey{{ID: []byte{1}, UserID: "user-a", PublicKey: []byte{0xa0}}}
	return rp, acc
}
