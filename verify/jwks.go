package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// fetchTimeout bounds every request to the issuer, whatever the
	// client's own timeout.
	fetchTimeout = 10 * time.Second
	// Response bodies are read up to these sizes and refused beyond: an
	// issuer (or whatever responds in its place) cannot make us buffer more.
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 1 << 20
	// maxKeys bounds the keys taken from one JWKS; Gatehouse publishes the
	// signing key and, for a few minutes after a rotation, the one before.
	maxKeys = 100
	// refreshEvery is how often the JWKS is fetched again anyway, so keys
	// the issuer stopped publishing (retired past their grace) stop
	// verifying here too.
	refreshEvery = 5 * time.Minute
	// refreshRetry is how soon a failed periodic fetch is tried again.
	refreshRetry = 30 * time.Second
)

// KIDRefetchInterval is the least time between two JWKS fetches caused by
// tokens naming an unknown kid, so tokens with made-up kids cannot turn into
// a flood of requests to the issuer.
const KIDRefetchInterval = 30 * time.Second

// get fetches url and returns its body, which must come with status 200
// and be at most limit bytes.
func get(ctx context.Context, client *http.Client, rawURL string, limit int64) ([]byte, error) {
	// One caller's cancellation must not fail a fetch others rely on, so
	// the request lives on its own timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: GET %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: GET %s: %w", rawURL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verify: GET %s: status %d", rawURL, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("verify: GET %s: %w", rawURL, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("verify: GET %s: body larger than %d bytes", rawURL, limit)
	}
	return body, nil
}

// discover returns the jwks_uri of issuer's metadata. The metadata must
// name issuer itself (OpenID Connect Discovery §4.3), and the JWKS must be
// on https unless the issuer is on plain http too (local development).
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	body, err := get(ctx, client, issuer+"/.well-known/openid-configuration", maxDiscoveryBytes)
	if err != nil {
		return "", fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return "", fmt.Errorf("verify: discovery document of %s: %w", issuer, err)
	}
	if meta.Issuer != issuer {
		return "", fmt.Errorf("verify: discovery document of %s names issuer %q", issuer, meta.Issuer)
	}
	u, err := url.Parse(meta.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || !isHTTP(issuer))) {
		return "", fmt.Errorf("verify: discovery document of %s: jwks_uri %q is not an https URL", issuer, meta.JWKSURI)
	}
	return meta.JWKSURI, nil
}

func isHTTP(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Scheme == "http"
}

// remoteKeys is a KeySet fetched from a JWKS URL and cached.
type remoteKeys struct {
	url    string
	client *http.Client

	// mu makes fetches one at a time: callers that find a fetch under way
	// wait for it rather than start their own.
	mu  sync.Mutex
	set atomic.Pointer[map[string]Key]
	// nextRefresh is when the JWKS is next fetched anyway (Unix ns).
	nextRefresh atomic.Int64
	// lastKidFetch is when an unknown kid last caused a fetch (Unix ns;
	// zero: never).
	lastKidFetch atomic.Int64
}

// errUnknownKey is what Key returns for a kid the JWKS does not name.
var errUnknownKey = fmt.Errorf("%w: unknown key id", ErrInvalid)

// Key implements KeySet. An unknown kid fetches the JWKS again, at most once
// per KIDRefetchInterval whatever the kids (a rotation on the issuer is
// seen at once; made-up kids cost one request per interval).
func (r *remoteKeys) Key(ctx context.Context, kid string, now time.Time) (Key, error) {
	if now.UnixNano() >= r.nextRefresh.Load() {
		r.refresh(ctx, now)
	}
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	if !r.kidFetchDue(now) {
		return Key{}, errUnknownKey
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Another caller may have fetched while we waited for the lock.
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	if !r.kidFetchDue(now) {
		return Key{}, errUnknownKey
	}
	r.lastKidFetch.Store(now.UnixNano())
	_ = r.fetchLocked(ctx, now) // a failure keeps the keys we had
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	return Key{}, errUnknownKey
}

func (r *remoteKeys) lookup(kid string) (Key, bool) {
	m := r.set.Load()
	if m == nil {
		return Key{}, false
	}
	k, ok := (*m)[kid]
	return k, ok
}

func (r *remoteKeys) kidFetchDue(now time.Time) bool {
	last := r.lastKidFetch.Load()
	since := now.UnixNano() - last
	return last == 0 || since < 0 || since >= int64(KIDRefetchInterval)
}

// refresh fetches the JWKS when it is due. Exactly one caller fetches; the
// others go on with the keys they have.
func (r *remoteKeys) refresh(ctx context.Context, now time.Time) {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now.UnixNano() < r.nextRefresh.Load() {
		return // fetched while we got the lock
	}
	_ = r.fetchLocked(ctx, now)
}

// fetch fetches the JWKS now.
func (r *remoteKeys) fetch(ctx context.Context, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetchLocked(ctx, now)
}

// fetchLocked fetches and installs the JWKS; on failure the keys already
// installed stay and the periodic fetch is retried after refreshRetry. The
// caller holds mu.
func (r *remoteKeys) fetchLocked(ctx context.Context, now time.Time) error {
	keys, err := r.download(ctx)
	if err != nil {
		r.nextRefresh.Store(now.Add(refreshRetry).UnixNano())
		return err
	}
	r.set.Store(&keys)
	r.nextRefresh.Store(now.Add(refreshEvery).UnixNano())
	return nil
}

func (r *remoteKeys) download(ctx context.Context) (map[string]Key, error) {
	body, err := get(ctx, r.client, r.url, maxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("verify: JWKS %s: %w", r.url, err)
	}
	return keys, nil
}

// parseJWKS returns the signature keys of a JWKS (RFC 7517) that this
// package can use: public, with a kid, for "sig" (or no stated use), and
// declaring an asymmetric alg that fits the key. Other keys are skipped,
// not fatal, so an issuer may publish keys of kinds we do not know; a set
// with no usable key is an error, so a broken answer never replaces good
// keys.
func parseJWKS(body []byte) (map[string]Key, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(raw.Keys) > maxKeys {
		return nil, fmt.Errorf("%d keys, more than %d", len(raw.Keys), maxKeys)
	}
	keys := make(map[string]Key, len(raw.Keys))
	for _, b := range raw.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(b); err != nil {
			continue
		}
		switch {
		case jwk.KeyID == "", jwk.Use != "" && jwk.Use != "sig", !jwk.IsPublic(), !jwk.Valid(),
			!slices.Contains(signatureAlgorithms, jose.SignatureAlgorithm(jwk.Algorithm)), !keyFits(jwk.Algorithm, jwk.Key):
			continue
		}
		if _, dup := keys[jwk.KeyID]; dup {
			continue // the first one the issuer lists wins
		}
		keys[jwk.KeyID] = Key{ID: jwk.KeyID, Algorithm: jwk.Algorithm, Public: jwk.Key}
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signature key")
	}
	return keys, nil
}
