package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

const (
	// maxChecks bounds the replies of the check endpoint remembered at
	// once (about 100 bytes each).
	maxChecks = 16384
	// maxCheckBytes bounds the check endpoint's answer we read.
	maxCheckBytes = 64 << 10
)

// revocations asks the issuer's GET /v1/check whether a token's session
// still stands, and remembers each answer for interval.
type revocations struct {
	url string
	// client does not follow redirects: the check sends one only to
	// browsers, so a Bearer request that gets one is talking to something
	// else, and the token must not be sent along.
	client   *http.Client
	interval time.Duration

	mu sync.Mutex
	// m holds one entry per token, by the SHA-256 of the token so that
	// memory does not grow with what a client sends.
	m map[[sha256.Size]byte]*checkEntry
}

// checkEntry is one question to the issuer; err and at are set before done
// is closed.
type checkEntry struct {
	done chan struct{}
	// at is when the question was asked: the answer holds until
	// at+interval.
	at  time.Time
	err error
}

// check returns nil when the issuer accepted tok within the last interval
// (asking it now otherwise), ErrRevoked or ErrExpired when it refused it,
// and ErrUnavailable when it could not be asked. Concurrent checks of one
// token share one question, so the issuer hears about a token at most once
// per interval. Failures to ask are not remembered.
func (r *revocations) check(ctx context.Context, tok string, now time.Time) error {
	key := sha256.Sum256([]byte(tok))
	r.mu.Lock()
	if e := r.m[key]; e != nil {
		select {
		case <-e.done:
			if !now.Before(e.at) && now.Sub(e.at) < r.interval {
				r.mu.Unlock()
				return e.err
			}
		default:
			// Asked by another request at this moment: share its answer.
			r.mu.Unlock()
			select {
			case <-e.done:
				return e.err
			case <-ctx.Done():
				return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
		}
	}
	e := &checkEntry{done: make(chan struct{}), at: now}
	r.putLocked(key, e, now)
	r.mu.Unlock()

	e.err = r.ask(ctx, tok)
	close(e.done)
	if errors.Is(e.err, ErrUnavailable) {
		r.mu.Lock()
		if r.m[key] == e {
			delete(r.m, key)
		}
		r.mu.Unlock()
	}
	return e.err
}

// putLocked stores e. When the map is full it drops replies past their
// interval, then arbitrary ones (map order) down to 7/8 of the bound, so
// the sweep runs at most once per maxChecks/8 new tokens. A dropped answer
// only means asking again. The caller holds mu.
func (r *revocations) putLocked(key [sha256.Size]byte, e *checkEntry, now time.Time) {
	if r.m == nil {
		r.m = make(map[[sha256.Size]byte]*checkEntry)
	}
	if _, ok := r.m[key]; !ok && len(r.m) >= maxChecks {
		for k, old := range r.m {
			select {
			case <-old.done:
				if now.Before(old.at) || now.Sub(old.at) >= r.interval {
					delete(r.m, k)
				}
			default:
			}
		}
		for k := range r.m {
			if len(r.m) < maxChecks*7/8 {
				break
			}
			delete(r.m, k)
		}
	}
	r.m[key] = e
}

// ask sends tok to the check endpoint: 200 means the session stands; a 401
// problem with code token_expired is ErrExpired and any other 401 is
// ErrRevoked (logged out, revoked, the user disabled or deleted); anything
// else is ErrUnavailable, because the token was not judged.
func (r *revocations) ask(ctx context.Context, tok string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return fmt.Errorf("%w: check: %w", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: check: %w", ErrUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCheckBytes))
	switch {
	case err != nil:
		return fmt.Errorf("%w: check: %w", ErrUnavailable, err)
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusUnauthorized:
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &p)
		if p.Code == codeTokenExpired {
			return fmt.Errorf("%w: the issuer says so", ErrExpired)
		}
		return fmt.Errorf("%w: the issuer answered %q", ErrRevoked, p.Code)
	default:
		return fmt.Errorf("%w: check: status %d", ErrUnavailable, res.StatusCode)
	}
}
