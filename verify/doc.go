// Package verify checks Gatehouse access tokens in other Go services,
// without asking Gatehouse on every request.
//
// New discovers the issuer's keys (its JWKS, through
// /.well-known/openid-configuration) and caches them; Verify checks a
// token's signature with them and its claims; Middleware protects an
// http.Handler with Verify and hands the claims to it through ClaimsFrom.
//
//	v, err := verify.New(ctx, "https://auth.example.com")
//	if err != nil { ... }
//	http.Handle("/api/", v.Middleware(api))
//
//	func api(w http.ResponseWriter, r *http.Request) {
//		c, _ := verify.ClaimsFrom(r.Context())
//		fmt.Fprintf(w, "hello %s", c.Email)
//	}
//
// What is checked: the token is a compact JWS of type at+jwt (RFC 9068)
// whose kid names a key of the JWKS and whose alg is the one that key
// declares, so "none", HMAC and any algorithm the issuer did not publish
// are refused; iss is the issuer; aud holds the audience (the issuer by
// default, which is what Gatehouse signs); exp and nbf hold within a small
// leeway (DefaultLeeway); iat is at most a minute ahead, and exp − iat is
// no longer than the issuer's access-token lifetime (DefaultMaxTokenLifetime,
// one hour, or WithMaxTokenLifetime: set it to GATEHOUSE_ACCESS_TOKEN_TTL
// when that is longer), so a leaked signing key cannot mint long-lived
// tokens unnoticed. A kid the cached JWKS does not know fetches it
// again, at most once per KIDRefetchInterval, so a key rotated on the
// issuer is picked up without a restart; the JWKS is also fetched again
// every few minutes, and a failed fetch keeps the keys already known.
//
// A token stays good until it expires (Gatehouse's live for 15 minutes)
// even if its session ends on the issuer meanwhile. WithRevocationCheck
// closes that gap to an interval of your choice: the issuer's /v1/check is
// asked about each token at most once per interval.
//
// The package imports only the standard library and go-jose, so a service
// that uses it pulls in no database driver nor anything else of Gatehouse.
package verify
