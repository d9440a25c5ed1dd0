// Package password hashes passwords with argon2id and decides whether a new
// password is strong enough. It implements auth.PasswordHasher and
// auth.PasswordPolicy.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/auth"
)

// Params are argon2id cost parameters. They are written into every hash, so
// changing them only affects new hashes; NeedsRehash tells when an old one
// should be upgraded at the next successful sign-in.
type Params struct {
	// Memory is in KiB; it is what each hash in flight allocates.
	Memory uint32
	// Iterations is argon2's time cost (t).
	Iterations uint32
	// Parallelism is argon2's lanes (p).
	Parallelism uint8
	// SaltLength and KeyLength are in bytes.
	SaltLength uint32
	KeyLength  uint32
}

// DefaultParams are OWASP's recommended argon2id settings (Password Storage
// Cheat Sheet): 19 MiB, 2 iterations, 1 lane, with a 16-byte salt and a
// 32-byte key.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Bounds on what Verify accepts from a stored hash. A stored string is data,
// and a corrupted or planted one must not make a sign-in allocate gigabytes
// or spin for minutes; New refuses parameters outside them so that every hash
// we write can be verified again.
const (
	maxMemory      = 256 * 1024 // KiB; RFC 9106's second recommendation is 64 MiB
	maxIterations  = 16
	maxParallelism = 16
	minSaltLength  = 8 // RFC 9106, section 3.1
	maxSaltLength  = 64
	minKeyLength   = 16
	maxKeyLength   = 64
	// maxEncodedLength bounds the whole string before any parsing, well above
	// the longest string the bounds above allow.
	maxEncodedLength = 512
)

// ErrMalformedHash is wrapped by Verify's error when the stored string is not
// an argon2id hash this package can check (corrupted, truncated, another
// algorithm, or parameters beyond the bounds).
var ErrMalformedHash = errors.New("malformed argon2id hash")

// Hasher hashes and verifies passwords with argon2id, running at most a fixed
// number of hashes at once: each one allocates Params.Memory, so without a
// bound a burst of sign-ins could exhaust the machine's memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	// derive is argon2.IDKey; tests replace it to observe concurrency.
	derive func(password, salt []byte, p Params) []byte
	// waited hears how long each hash waited for its slot (nil: nobody
	// listens).
	waited func(time.Duration)

	// after, when set, runs after each hash, before its slot passes on
	// (see AfterEach).
	after func()
	// idle, when set, is called once hashing has been quiet for quiet
	// after a burst (see AfterBurst). busy counts hashes running or
	// waiting for a slot; timer is armed when it drops to zero.
	idle  func()
	quiet time.Duration
	mu    sync.Mutex
	busy  int
	timer *time.Timer
}

// OnWait makes h report how long each hash waited for a free slot (the
// queue behind the concurrency bound) to fn, which must not block, and
// returns h. Call it before h is in use.
func (h *Hasher) OnWait(fn func(wait time.Duration)) *Hasher {
	h.waited = fn
	return h
}

// AfterBurst makes h call fn once no hash has been running or waiting for
// quiet, after each burst of hashes, and returns h. Call it before h is in
// use. Each hash allocates Params.Memory, which stays with the process
// until a garbage collection and the runtime's scavenger return it; when
// sign-ins stop, nothing else allocates enough to start a collection, so
// a server can hold a storm's memory for minutes. The server passes
// debug.FreeOSMemory. quiet is real elapsed time, not a Clock's: it
// follows the process's memory, which a fake clock does not move.
func (h *Hasher) AfterBurst(quiet time.Duration, fn func()) *Hasher {
	h.idle, h.quiet = fn, quiet
	return h
}

// AfterEach makes h call fn after each hash, before its slot passes to a
// hash waiting for it, and returns h. Call it before h is in use. The
// server passes runtime.GC when the process has a memory limit. A hash's
// block array (Params.Memory) is garbage the moment the hash ends, but a
// collection that ran while it was in use (its allocation starts one) sets
// the next heap goal to twice a heap that held it: one sign-in on a quiet
// server left room for two more arrays' worth of garbage before the next
// collection (a lone password sign-in took the process from 60 to 98 MiB,
// check traffic after it to 115), and under a storm a new hash would
// allocate its array while the last one's awaited collection. Collecting
// between hashes keeps the heap at the arrays in use (the same sign-in and
// check traffic: 61 MiB). fn holds up the queue, so it should be short next
// to a hash: a collection of the server's heap takes about a millisecond
// of CPU, a hash thirty.
func (h *Hasher) AfterEach(fn func()) *Hasher {
	h.after = fn
	return h
}

// enter and leave count a hash waiting or running; the last to leave arms
// the idle timer, the first to enter disarms it.
func (h *Hasher) enter() {
	if h.idle == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy++
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
}

func (h *Hasher) leave() {
	if h.idle == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy--; h.busy == 0 {
		h.timer = time.AfterFunc(h.quiet, h.idle)
	}
}

var _ auth.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher writing hashes with p and running at most
// maxConcurrent hashes at once (maxConcurrent <= 0 means GOMAXPROCS, one per
// core, since a hash keeps a core busy anyway). Zero fields of p take the
// value of DefaultParams. New panics if p is beyond the bounds Verify
// enforces (memory <= 256 MiB, iterations <= 16, parallelism <= 16, salt 8–64
// bytes, key 16–64 bytes), because such a hasher would write hashes it could
// not verify: that is a configuration bug to catch at start-up.
func New(p Params, maxConcurrent int) *Hasher {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Iterations == 0 {
		p.Iterations = DefaultParams.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = DefaultParams.Parallelism
	}
	if p.SaltLength == 0 {
		p.SaltLength = DefaultParams.SaltLength
	}
	if p.KeyLength == 0 {
		p.KeyLength = DefaultParams.KeyLength
	}
	if err := p.check(); err != nil {
		panic("password.New: " + err.Error())
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent), derive: deriveArgon2id}
}

func deriveArgon2id(password, salt []byte, p Params) []byte {
	return argon2.IDKey(password, salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

// check returns an error when p is outside the bounds Verify accepts.
func (p Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB not in [8×parallelism, %d]", p.Memory, maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations %d not in [1, %d]", p.Iterations, maxIterations)
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("parallelism %d not in [1, %d]", p.Parallelism, maxParallelism)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("salt length %d not in [%d, %d]", p.SaltLength, minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("key length %d not in [%d, %d]", p.KeyLength, minKeyLength, maxKeyLength)
	}
	return nil
}

// Hash returns password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash, unpadded standard base64) that
// other argon2 libraries read too. It waits for a free slot, giving up with
// ctx's error when ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	key, err := h.run(ctx, []byte(password), salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify returns whether password matches encoded, a hash written by Hash
// (with any parameters within the bounds New documents, so hashes written
// before a parameter change still verify). The comparison is constant-time
// and the work is the same whether or not the password matches. A malformed
// encoded returns an error wrapping ErrMalformedHash; running out of ctx
// while waiting for a slot returns ctx's error, wrapped.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, fmt.Errorf("password: verify: %w", err)
	}
	got, err := h.run(ctx, []byte(password), salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was written with parameters other than
// h's, so the caller can store a fresh hash after the password was verified.
// A string that does not parse needs one too.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

// run derives a key once a slot is free. A ctx that has already ended is
// refused even when a slot is free, so a caller that gave up never costs a
// hash.
func (h *Hasher) run(ctx context.Context, password, salt []byte, p Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", err)
	}
	// The wait is real elapsed time, not the server's clock: it measures
	// the queue, which a fake clock in tests would hide.
	start := time.Now()
	h.enter()
	defer h.leave()
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.sem }()
	if h.waited != nil {
		h.waited(time.Since(start))
	}
	key := h.derive(password, salt, p)
	if h.after != nil {
		h.after()
	}
	return key, nil
}

const prefix = "$argon2id$v=19$"

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + 32 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	b.WriteString(prefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Iterations), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Parallelism), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// decode parses what encode writes, and only that: the canonical form (no
// leading zeros, m,t,p in that order, unpadded base64 with zero trailing
// bits), so that every accepted string re-encodes to itself.
func decode(s string) (p Params, salt, key []byte, err error) {
	if len(s) > maxEncodedLength {
		return p, nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLength)
	}
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: does not start with %q", ErrMalformedHash, prefix)
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want parameters, salt and hash", ErrMalformedHash)
	}
	m, t, par, err := decodeParams(fields[0])
	if err != nil {
		return p, nil, nil, err
	}
	if salt, err = decodeB64(fields[1]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %v", ErrMalformedHash, err)
	}
	if key, err = decodeB64(fields[2]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %v", ErrMalformedHash, err)
	}
	if par < 1 || par > maxParallelism {
		// Checked before the conversion to uint8 would wrap p=257 to 1.
		return p, nil, nil, fmt.Errorf("%w: parallelism %d not in [1, %d]", ErrMalformedHash, par, maxParallelism)
	}
	p = Params{Memory: m, Iterations: t, Parallelism: uint8(par), SaltLength: uint32(len(salt)), KeyLength: uint32(len(key))}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// decodeB64 is b64.DecodeString without its tolerance of line breaks, which
// would let "hash\n" verify like "hash".
func decodeB64(s string) ([]byte, error) {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '/')
	}); i >= 0 {
		return nil, fmt.Errorf("byte %d is not in the base64 alphabet", i)
	}
	return b64.DecodeString(s)
}

func decodeParams(s string) (m, t, p uint32, err error) {
	names := [3]string{"m=", "t=", "p="}
	var vals [3]uint32
	parts := strings.Split(s, ",")
	if len(parts) != len(names) {
		return 0, 0, 0, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	for i, part := range parts {
		digits, ok := strings.CutPrefix(part, names[i])
		if !ok {
			return 0, 0, 0, fmt.Errorf("%w: parameter %d is not %s", ErrMalformedHash, i+1, names[i])
		}
		if digits == "" || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) || strings.Trim(digits, "0123456789") != "" {
			return 0, 0, 0, fmt.Errorf("%w: parameter %s%q is not a canonical number", ErrMalformedHash, names[i], digits)
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: parameter %s: %v", ErrMalformedHash, names[i], err)
		}
		vals[i] = uint32(v)
	}
	return vals[0], vals[1], vals[2], nil
}
