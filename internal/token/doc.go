// Package token issues and checks Gatehouse's access tokens.
//
// Access tokens are EdDSA (Ed25519) JWTs (RFC 9068 "at+jwt") signed by Keys,
// which implements auth.TokenSigner. Signing keys live in the store with
// their private halves sealed (package seal), so every node of a cluster
// signs and verifies with the same key set, and rotation on one node reaches
// the others by a periodic reload and by a reload on an unknown "kid".
//
// Keys checks tokens with package verify, the code other services run on
// them, over its keys in memory; it adds a cache of verified tokens for the
// hot path (/v1/check) and the trust window of retired keys.
//
// Key IDs ("kid") are RFC 7638 JWK thumbprints (SHA-256, base64url): stable,
// derived from the public key alone, and recomputable by anyone who holds
// the JWKS.
package token
