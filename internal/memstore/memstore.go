// Package memstore keeps auth's short-lived ports in process memory: codes
// (auth.ChallengeStore, auth.MFATokenStore) and revocations
// (auth.Revocations). Counters, the other short-lived ports, already have
// in-process implementations in internal/throttle, which pass their groups
// (storetest.Throttles, storetest.SendLimiters) too.
//
// It exists to show that those ports can be implemented without SQL and
// without touching package auth: it passes their store/storetest groups,
// as a Redis adapter for several nodes must. Nothing wires it by default:
// a single node keeps its codes in the SQL store beside the outbox message
// that carries them (one transaction), and needs no revocations carried.
// It is internal because no embedder needs it and an exported package is
// a promise.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// keepDead is how long codes are kept after they die, as the SQL store's
// purge keeps its rows: long enough for any flow that read one to finish.
const keepDead = 24 * time.Hour

// sweepEvery is how many writes pass between sweeps of dead codes.
const sweepEvery = 256

// Codes keeps challenges and MFA tokens in memory. It is safe for
// concurrent use; its zero value is not: use NewCodes. Codes of a user are
// not checked against a user store (there is none here), so a challenge
// may name any user ID.
type Codes struct {
	mu sync.Mutex
	// challenges by ID; byAddress (purpose+"\x00"+address) and byLink
	// (the link hash) index them.
	challenges map[string]*auth.Challenge
	byAddress  map[string]string
	byLink     map[string]string
	// tokens by ID; byHash indexes them.
	tokens map[string]*auth.MFAToken
	byHash map[string]string
	// writes counts puts and creates, for sweeping.
	writes int
}

var (
	_ auth.ChallengeStore = (*Codes)(nil)
	_ auth.MFATokenStore  = (*Codes)(nil)
)

// NewCodes returns an empty Codes.
func NewCodes() *Codes {
	return &Codes{
		challenges: map[string]*auth.Challenge{}, byAddress: map[string]string{}, byLink: map[string]string{},
		tokens: map[string]*auth.MFAToken{}, byHash: map[string]string{},
	}
}

// errLinkTaken is returned for a challenge whose link hash another live
// challenge has: link hashes are unique, as in the SQL store.
var errLinkTaken = errors.New("memstore: link hash taken")

// begin checks ctx and locks c: a call whose context ended does nothing,
// as a remote store's would.
func (c *Codes) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w: %w", op, auth.ErrUnavailable, err)
	}
	c.mu.Lock()
	return nil
}

func notFound(what string) error { return fmt.Errorf("memstore: %s: %w", what, auth.ErrNotFound) }

// PutChallenge stores ch in place of any challenge of its purpose and
// address.
func (c *Codes) PutChallenge(ctx context.Context, ch *auth.Challenge) error {
	if err := c.begin(ctx, "put challenge"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	stored := kept(ch)
	key := ch.Purpose + "\x00" + ch.Address
	if len(stored.LinkHash) > 0 {
		if id, ok := c.byLink[string(stored.LinkHash)]; ok && id != c.byAddress[key] {
			return errLinkTaken
		}
	}
	if old, ok := c.byAddress[key]; ok {
		c.dropChallenge(old)
	}
	c.challenges[stored.ID] = stored
	c.byAddress[key] = stored.ID
	if len(stored.LinkHash) > 0 {
		c.byLink[string(stored.LinkHash)] = stored.ID
	}
	c.written(stored.CreatedAt)
	return nil
}

func (c *Codes) dropChallenge(id string) {
	ch := c.challenges[id]
	if ch == nil {
		return
	}
	delete(c.challenges, id)
	if key := ch.Purpose + "\x00" + ch.Address; c.byAddress[key] == id {
		delete(c.byAddress, key)
	}
	if c.byLink[string(ch.LinkHash)] == id {
		delete(c.byLink, string(ch.LinkHash))
	}
}

// ChallengeByAddress returns the challenge of purpose for address.
func (c *Codes) ChallengeByAddress(ctx context.Context, purpose, address string) (*auth.Challenge, error) {
	if err := c.begin(ctx, "challenge by address"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	ch := c.challenges[c.byAddress[purpose+"\x00"+address]]
	if ch == nil {
		return nil, notFound("challenge by address")
	}
	return copyChallenge(ch), nil
}

// ChallengeByLinkHash returns the challenge whose link hashes to hash.
func (c *Codes) ChallengeByLinkHash(ctx context.Context, hash []byte) (*auth.Challenge, error) {
	if err := c.begin(ctx, "challenge by link"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if len(hash) == 0 {
		return nil, notFound("challenge by link")
	}
	ch := c.challenges[c.byLink[string(hash)]]
	if ch == nil {
		return nil, notFound("challenge by link")
	}
	return copyChallenge(ch), nil
}

// FailChallenge counts one wrong code and returns the new count.
func (c *Codes) FailChallenge(ctx context.Context, id string) (int, error) {
	if err := c.begin(ctx, "fail challenge"); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	ch := c.challenges[id]
	if ch == nil {
		return 0, notFound("challenge " + id)
	}
	ch.Attempts++
	return ch.Attempts, nil
}

// ConsumeChallenge marks the challenge used at now; false when it was used
// already.
func (c *Codes) ConsumeChallenge(ctx context.Context, id string, now time.Time) (bool, error) {
	if err := c.begin(ctx, "consume challenge"); err != nil {
		return false, err
	}
	defer c.mu.Unlock()
	ch := c.challenges[id]
	if ch == nil {
		return false, notFound("challenge " + id)
	}
	if ch.ConsumedAt != nil {
		return false, nil
	}
	at := keptTime(now)
	ch.ConsumedAt = &at
	return true, nil
}

// CreateMFAToken stores t; a hash another token has is refused.
func (c *Codes) CreateMFAToken(ctx context.Context, t *auth.MFAToken) error {
	if err := c.begin(ctx, "create mfa token"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if _, ok := c.byHash[string(t.Hash)]; ok {
		return errors.New("memstore: create mfa token: hash taken")
	}
	if _, ok := c.tokens[t.ID]; ok {
		return errors.New("memstore: create mfa token: ID taken")
	}
	stored := keptToken(t)
	c.tokens[stored.ID] = stored
	c.byHash[string(stored.Hash)] = stored.ID
	c.written(stored.CreatedAt)
	return nil
}

// MFATokenByHash returns the token whose hash is hash.
func (c *Codes) MFATokenByHash(ctx context.Context, hash []byte) (*auth.MFAToken, error) {
	if err := c.begin(ctx, "mfa token by hash"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if len(hash) == 0 {
		return nil, notFound("mfa token by hash")
	}
	t := c.tokens[c.byHash[string(hash)]]
	if t == nil {
		return nil, notFound("mfa token by hash")
	}
	return copyToken(t), nil
}

// FailMFAToken counts one second-factor try and returns the count.
func (c *Codes) FailMFAToken(ctx context.Context, id string) (int, error) {
	if err := c.begin(ctx, "fail mfa token"); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	t := c.tokens[id]
	if t == nil {
		return 0, notFound("mfa token " + id)
	}
	t.Attempts++
	return t.Attempts, nil
}

// SetMFAEmailCode records hash as the token's emailed code, valid until
// expires; a nil hash clears it.
func (c *Codes) SetMFAEmailCode(ctx context.Context, id string, hash []byte, expires time.Time) error {
	if err := c.begin(ctx, "set mfa email code"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	t := c.tokens[id]
	if t == nil {
		return notFound("mfa token " + id)
	}
	if len(hash) == 0 {
		t.EmailCodeHash, t.EmailCodeExpiresAt = nil, nil
		return nil
	}
	exp := keptTime(expires)
	t.EmailCodeHash, t.EmailCodeExpiresAt = bytes.Clone(hash), &exp
	return nil
}

// ConsumeMFAToken marks the token used at now; false when it was used
// already.
func (c *Codes) ConsumeMFAToken(ctx context.Context, id string, now time.Time) (bool, error) {
	if err := c.begin(ctx, "consume mfa token"); err != nil {
		return false, err
	}
	defer c.mu.Unlock()
	t := c.tokens[id]
	if t == nil {
		return false, notFound("mfa token " + id)
	}
	if t.ConsumedAt != nil {
		return false, nil
	}
	at := keptTime(now)
	t.ConsumedAt = &at
	return true, nil
}

// DeleteUserMFATokens removes every MFA token of the user.
func (c *Codes) DeleteUserMFATokens(ctx context.Context, userID string) error {
	if err := c.begin(ctx, "delete user mfa tokens"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for id, t := range c.tokens {
		if t.UserID == userID {
			c.dropToken(id)
		}
	}
	return nil
}

func (c *Codes) dropToken(id string) {
	if t := c.tokens[id]; t != nil {
		delete(c.tokens, id)
		delete(c.byHash, string(t.Hash))
	}
}

// written counts a write made at now and, every sweepEvery writes, drops
// the codes dead for longer than keepDead before now, so memory holds what
// is live (the SQL store's purge does the same for its rows).
func (c *Codes) written(now time.Time) {
	c.writes++
	if c.writes%sweepEvery != 0 {
		return
	}
	cutoff := now.Add(-keepDead)
	for id, ch := range c.challenges {
		if ch.ExpiresAt.Before(cutoff) && ch.LinkExpiresAt.Before(cutoff) {
			c.dropChallenge(id)
		}
	}
	for id, t := range c.tokens {
		if t.ExpiresAt.Before(cutoff) {
			c.dropToken(id)
		}
	}
}

// keptTime is t as stores keep it: UTC, microseconds.
func keptTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

func keptTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	k := keptTime(*t)
	return &k
}

// kept returns a copy of ch as stored: times kept, slices not shared with
// the caller, so neither can change the other's.
func kept(ch *auth.Challenge) *auth.Challenge {
	c := copyChallenge(ch)
	c.CreatedAt, c.ExpiresAt, c.LinkExpiresAt = keptTime(c.CreatedAt), keptTime(c.ExpiresAt), keptTime(c.LinkExpiresAt)
	c.ConsumedAt = keptTimePtr(c.ConsumedAt)
	if len(c.LinkHash) == 0 {
		c.LinkHash = nil
	}
	return c
}

func copyChallenge(ch *auth.Challenge) *auth.Challenge {
	c := *ch
	c.CodeHash, c.LinkHash = bytes.Clone(ch.CodeHash), bytes.Clone(ch.LinkHash)
	if ch.ConsumedAt != nil {
		at := *ch.ConsumedAt
		c.ConsumedAt = &at
	}
	return &c
}

func keptToken(t *auth.MFAToken) *auth.MFAToken {
	k := copyToken(t)
	k.CreatedAt, k.ExpiresAt = keptTime(k.CreatedAt), keptTime(k.ExpiresAt)
	k.EmailCodeExpiresAt, k.ConsumedAt = keptTimePtr(k.EmailCodeExpiresAt), keptTimePtr(k.ConsumedAt)
	if len(k.EmailCodeHash) == 0 {
		k.EmailCodeHash = nil
	}
	return k
}

func copyToken(t *auth.MFAToken) *auth.MFAToken {
	k := *t
	k.Hash, k.EmailCodeHash, k.AMR = bytes.Clone(t.Hash), bytes.Clone(t.EmailCodeHash), slices.Clone(t.AMR)
	if t.EmailCodeExpiresAt != nil {
		at := *t.EmailCodeExpiresAt
		k.EmailCodeExpiresAt = &at
	}
	if t.ConsumedAt != nil {
		at := *t.ConsumedAt
		k.ConsumedAt = &at
	}
	return &k
}
