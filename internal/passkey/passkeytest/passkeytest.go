// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers a relying party's options JSON with the browser's response JSON
// (RegistrationResponseJSON, AuthenticationResponseJSON), as a browser and
// a platform authenticator would, and has knobs to misbehave the ways an
// attacker would.
//
// Each credential is an ES256 key (crypto/ecdsa); attestation is "none";
// the CBOR is fxamacker/cbor in CTAP2's canonical form and the COSE key is
// go-webauthn's own structure, so what is checked is the real library's
// parsing, not a copy of it.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Authenticator holds discoverable credentials, as a platform
// authenticator or a password manager does. The zero value is not usable;
// use New.
type Authenticator struct {
	// Origin is the origin the "browser" puts in clientDataJSON.
	Origin string
	// AAGUID names the authenticator's model (16 bytes; zeros by default).
	AAGUID []byte
	// Credentials are those created, oldest first.
	Credentials []*Credential
}

// New returns an authenticator whose browser is at origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, AAGUID: make([]byte, 16)}
}

// Credential is one key pair of the authenticator. Its fields are the
// state the next ceremony uses; tests change them between ceremonies.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	// Counter is the signature counter: 0 means the authenticator keeps
	// none (most synced passkeys); otherwise each assertion adds one
	// first.
	Counter uint32
	// UV, BE and BS are the flags the authenticator sets.
	UV, BE, BS bool
}

// Options change one ceremony: the attacks and odd authenticators the
// relying party must handle.
type Options struct {
	// Origin replaces the authenticator's origin in clientDataJSON.
	Origin string
	// RPID replaces the options' RP ID in the rpIdHash (the RP ID the
	// authenticator thinks it signs for).
	RPID string
	// Challenge replaces the options' challenge.
	Challenge []byte
	// TamperSignature flips a bit of the signature.
	TamperSignature bool
	// NoUV clears the UV flag (the user was not verified).
	NoUV bool
	// Credential signs with this credential instead of one the options
	// allow (another credential, another user's, an unknown one); in
	// Register, it is attested again instead of a new one created.
	Credential *Credential
	// UserHandle replaces the user handle in an assertion.
	UserHandle []byte
	// Counter, when not nil, is the counter asserted instead of the
	// credential's next (a counter going backwards).
	Counter *uint32
	// BE and BS set those flags on a new credential.
	BE, BS bool
	// Transports are the transports reported for a new credential
	// (internal and hybrid when nil).
	Transports []string
}

var enc = func() cbor.EncMode {
	m, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var b64 = base64.RawURLEncoding

// creationOptions is what the authenticator reads of
// PublicKeyCredentialCreationOptionsJSON.
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
}

// requestOptions is what the authenticator reads of
// PublicKeyCredentialRequestOptionsJSON.
type requestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

// Register answers creation options with a RegistrationResponseJSON and
// keeps the new credential (returned too). The credential counts from
// counter (0: none kept).
func (a *Authenticator) Register(optionsJSON []byte, counter uint32, o Options) ([]byte, *Credential, error) {
	var opts creationOptions
	if err := json.Unmarshal(optionsJSON, &opts); err != nil {
		return nil, nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	challenge, err := b64.DecodeString(opts.Challenge)
	if err != nil {
		return nil, nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	userHandle, err := b64.DecodeString(opts.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkeytest: user.id: %w", err)
	}
	for _, ex := range opts.ExcludeCredentials {
		for _, c := range a.Credentials {
			if ex.ID == b64.EncodeToString(c.ID) {
				return nil, nil, errors.New("passkeytest: InvalidStateError: a credential in excludeCredentials is on this authenticator")
			}
		}
	}
	c := o.Credential
	if c == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		c = &Credential{ID: id, RPID: opts.RP.ID, UserHandle: userHandle, Key: key, Counter: counter, UV: !o.NoUV, BE: o.BE, BS: o.BS}
		a.Credentials = append(a.Credentials, c)
	}
	key, id := c.Key, c.ID

	clientData, err := a.clientData("webauthn.create", challenge, o)
	if err != nil {
		return nil, nil, err
	}
	cose, err := coseKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	attested := slices.Concat(a.AAGUID, binary.BigEndian.AppendUint16(nil, uint16(len(id))), id, cose)
	authData := authenticatorData(pick(o.RPID, c.RPID), c.flags(o)|flagAT, c.Counter, attested)
	attObj, err := enc.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	transports := o.Transports
	if transports == nil {
		transports = []string{"hybrid", "internal"}
	}
	resp, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":     b64.EncodeToString(clientData),
			"attestationObject":  b64.EncodeToString(attObj),
			"authenticatorData":  b64.EncodeToString(authData),
			"publicKey":          b64.EncodeToString(spki),
			"publicKeyAlgorithm": int(webauthncose.AlgES256),
			"transports":         transports,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return resp, c, nil
}

// Login answers request options with an AuthenticationResponseJSON: from
// o.Credential, else the first allowed credential it has, else (empty
// allowCredentials) its newest credential for the RP ID.
func (a *Authenticator) Login(optionsJSON []byte, o Options) ([]byte, error) {
	var opts requestOptions
	if err := json.Unmarshal(optionsJSON, &opts); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	challenge, err := b64.DecodeString(opts.Challenge)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	c := o.Credential
	for i := len(a.Credentials) - 1; c == nil && i >= 0; i-- {
		cand := a.Credentials[i]
		if cand.RPID != opts.RPID {
			continue
		}
		if len(opts.AllowCredentials) == 0 {
			c = cand
		}
		for _, al := range opts.AllowCredentials {
			if al.ID == b64.EncodeToString(cand.ID) {
				c = cand
			}
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for these options")
	}
	counter := c.Counter
	if counter != 0 {
		counter++
		c.Counter = counter
	}
	if o.Counter != nil {
		counter = *o.Counter
	}
	clientData, err := a.clientData("webauthn.get", challenge, o)
	if err != nil {
		return nil, err
	}
	authData := authenticatorData(pick(o.RPID, opts.RPID), c.flags(o), counter, nil)
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(slices.Concat(authData, hash[:])) // ES256 signs the SHA-256 of the signed data
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	if o.TamperSignature {
		sig[len(sig)-1] ^= 1
	}
	handle := c.UserHandle
	if o.UserHandle != nil {
		handle = o.UserHandle
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(handle),
		},
	})
}

func (c *Credential) flags(o Options) byte {
	f := byte(flagUP)
	if c.UV && !o.NoUV {
		f |= flagUV
	}
	if c.BE || o.BE {
		f |= flagBE
	}
	if c.BS || o.BS {
		f |= flagBS
	}
	return f
}

func (a *Authenticator) clientData(typ string, challenge []byte, o Options) ([]byte, error) {
	if o.Challenge != nil {
		challenge = o.Challenge
	}
	return json.Marshal(map[string]any{
		"type": typ, "challenge": b64.EncodeToString(challenge),
		"origin": pick(o.Origin, a.Origin), "crossOrigin": false,
	})
}

// authenticatorData is rpIdHash, flags, counter and what follows (§6.1).
func authenticatorData(rpID string, flags byte, counter uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	return slices.Concat(h[:], []byte{flags}, binary.BigEndian.AppendUint32(nil, counter), attested)
}

// coseKey is the COSE_Key of an ES256 public key.
func coseKey(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	return enc.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{
			KeyType:   int64(webauthncose.EllipticKey),
			Algorithm: int64(webauthncose.AlgES256),
		},
		Curve:  int64(webauthncose.P256),
		XCoord: point[1:33],
		YCoord: point[33:],
	})
}

func pick(override, def string) string {
	if override != "" {
		return override
	}
	return def
}
