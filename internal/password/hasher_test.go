package password

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fast are cheap parameters for tests that exercise logic, not cost; the
// race detector makes argon2 at DefaultParams slow.
var fast = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h := New(fast, 0)
	for _, tc := range []struct {
		name, pw, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapl"},
		{"empty", "", " "},
		{"unicode", "пароль-日本語-🔑", "пароль-日本語-🔐"},
		{"case", "Secret", "secret"},
		{"long", strings.Repeat("x", 4096), strings.Repeat("x", 4095)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			enc, err := h.Hash(t.Context(), tc.pw)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if ok, err := h.Verify(t.Context(), enc, tc.pw); err != nil || !ok {
				t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := h.Verify(t.Context(), enc, tc.wrong); err != nil || ok {
				t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := New(DefaultParams, 0)
	enc, err := h.Hash(t.Context(), "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	// 16-byte salt and 32-byte key in unpadded base64: 22 and 43 characters.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Errorf("Hash = %q, not the PHC form for DefaultParams", enc)
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash of a fresh hash = true")
	}
}

func TestHashSalted(t *testing.T) {
	t.Parallel()
	h := New(fast, 0)
	a, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal (%q): salt not random", a)
	}
	for _, enc := range []string{a, b} {
		if ok, err := h.Verify(t.Context(), enc, "same password"); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", enc, ok, err)
		}
	}
}

// TestVerifyReference checks interoperability with the argon2 reference
// implementation: vectors from P-H-C/phc-winner-argon2 src/test.c.
func TestVerifyReference(t *testing.T) {
	t.Parallel()
	h := New(DefaultParams, 0)
	for _, enc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		t.Run(enc[:strings.LastIndexByte(enc, '$')], func(t *testing.T) {
			t.Parallel()
			if ok, err := h.Verify(t.Context(), enc, "password"); !ok || err != nil {
				t.Errorf("Verify(password) = %v, %v; want true", ok, err)
			}
			if ok, err := h.Verify(t.Context(), enc, "passwore"); ok || err != nil {
				t.Errorf("Verify(passwore) = %v, %v; want false, nil", ok, err)
			}
			if !h.NeedsRehash(enc) {
				t.Error("NeedsRehash = false for parameters other than the hasher's")
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	const (
		salt = "MDEyMzQ1Njc4OWFiY2RlZg"                      // 16 bytes
		key  = "dxM42BlXPGcRaznheIro4EsOsM+d+7/i5tdGzz5GT8c" // 32 bytes
	)
	h := New(fast, 1)
	for _, tc := range []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=8,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=8,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=8,t=1,p=1$" + salt + "$" + key},
		{"missing hash", "$argon2id$v=19$m=8,t=1,p=1$" + salt},
		{"missing salt and hash", "$argon2id$v=19$m=8,t=1,p=1"},
		{"extra field", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + key + "$x"},
		{"missing params", "$argon2id$v=19$$" + salt + "$" + key},
		{"two params", "$argon2id$v=19$m=8,t=1$" + salt + "$" + key},
		{"reordered params", "$argon2id$v=19$t=1,m=8,p=1$" + salt + "$" + key},
		{"keyid param", "$argon2id$v=19$m=8,t=1,p=1,keyid=x$" + salt + "$" + key},
		{"empty number", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"signed number", "$argon2id$v=19$m=+8,t=1,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=08,t=1,p=1$" + salt + "$" + key},
		{"hex number", "$argon2id$v=19$m=0x8,t=1,p=1$" + salt + "$" + key},
		{"m=4294967295", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"m overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"m=2 GiB", "$argon2id$v=19$m=2097152,t=1,p=1$" + salt + "$" + key},
		{"m below 8p", "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key},
		{"t=0", "$argon2id$v=19$m=8,t=0,p=1$" + salt + "$" + key},
		{"t=4294967295", "$argon2id$v=19$m=8,t=4294967295,p=1$" + salt + "$" + key},
		{"p=0", "$argon2id$v=19$m=8,t=1,p=0$" + salt + "$" + key},
		{"p=257 wraps uint8 to 1", "$argon2id$v=19$m=8,t=1,p=257$" + salt + "$" + key},
		{"p=255", "$argon2id$v=19$m=8160,t=1,p=255$" + salt + "$" + key},
		{"bad base64 salt", "$argon2id$v=19$m=8,t=1,p=1$!!!!$" + key},
		{"bad base64 hash", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + key[:20] + "*" + key[21:]},
		{"padded base64", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "==$" + key + "="},
		{"non-zero trailing bits", "$argon2id$v=19$m=8,t=1,p=1$" + salt[:21] + "h$" + key},
		{"empty salt", "$argon2id$v=19$m=8,t=1,p=1$$" + key},
		{"short salt", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$" + key},
		{"short hash", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$AAAA"},
		{"huge hash", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + strings.Repeat("A", 4000)},
		{"huge salt", "$argon2id$v=19$m=8,t=1,p=1$" + strings.Repeat("A", 100) + "$" + key},
		{"trailing newline", "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + key + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(t.Context(), tc.enc, "password")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", tc.enc, ok, err)
			}
			if !h.NeedsRehash(tc.enc) {
				t.Errorf("NeedsRehash(%q) = false for a malformed hash", tc.enc)
			}
		})
	}
}

// TestParamsChange is why parameters live in the hash: raising the cost
// must not lock out everyone whose hash was written before.
func TestParamsChange(t *testing.T) {
	t.Parallel()
	stronger := fast
	stronger.Memory *= 2
	stronger.Iterations++
	old, cur := New(fast, 0), New(stronger, 0)
	enc, err := old.Hash(t.Context(), "p4ssphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cur.Verify(t.Context(), enc, "p4ssphrase"); !ok || err != nil {
		t.Fatalf("new hasher cannot verify an old hash: %v, %v", ok, err)
	}
	for _, tc := range []struct {
		name string
		h    *Hasher
		enc  string
		want bool
	}{
		{"same params", old, enc, false},
		{"stronger params", cur, enc, true},
		{"other salt length", New(Params{SaltLength: 32}, 0), enc, true},
		{"other key length", New(Params{KeyLength: 64}, 0), enc, true},
		{"malformed", cur, "$argon2id$", true},
	} {
		if got := tc.h.NeedsRehash(tc.enc); got != tc.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	h := New(Params{}, 0)
	if h.params != DefaultParams {
		t.Errorf("New(Params{}) params = %+v, want DefaultParams", h.params)
	}
	if cap(h.sem) < 1 {
		t.Errorf("New(_, 0) allows %d hashes at once", cap(h.sem))
	}
	if got := cap(New(fast, 3).sem); got != 3 {
		t.Errorf("New(_, 3) allows %d hashes at once", got)
	}
	for _, p := range []Params{
		{Memory: maxMemory + 1},
		{Iterations: maxIterations + 1},
		{Parallelism: maxParallelism + 1},
		{Memory: 8, Parallelism: 2},
		{SaltLength: 4},
		{KeyLength: 8},
		{KeyLength: maxKeyLength + 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", p)
				}
			}()
			New(p, 1)
		}()
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{
		DefaultParams,
		{Memory: maxMemory, Iterations: maxIterations, Parallelism: maxParallelism, SaltLength: maxSaltLength, KeyLength: maxKeyLength},
		{Memory: 8, Iterations: 1, Parallelism: 1, SaltLength: minSaltLength, KeyLength: minKeyLength},
	} {
		salt := []byte(strings.Repeat("s", int(p.SaltLength)))
		key := []byte(strings.Repeat("k", int(p.KeyLength)))
		enc := encode(p, salt, key)
		if len(enc) > maxEncodedLength {
			t.Errorf("encode(%+v) is %d bytes, over maxEncodedLength", p, len(enc))
		}
		gp, gs, gk, err := decode(enc)
		if err != nil || gp != p || string(gs) != string(salt) || string(gk) != string(key) {
			t.Errorf("decode(encode(%+v)) = %+v, %q, %q, %v", p, gp, gs, gk, err)
		}
	}
}

// blockingDerive replaces argon2 with a function that counts how many
// derivations run at once and holds each until release receives.
type blockingDerive struct {
	release      chan struct{}
	running, max atomic.Int32
}

func (b *blockingDerive) derive(pw, salt []byte, p Params) []byte {
	n := b.running.Add(1)
	for {
		m := b.max.Load()
		if n <= m || b.max.CompareAndSwap(m, n) {
			break
		}
	}
	<-b.release
	b.running.Add(-1)
	return deriveArgon2id(pw, salt, p)
}

// TestConcurrencyBound proves with synctest, not timing, that at most
// maxConcurrent hashes run at once: synctest.Wait returns only once every
// goroutine is blocked, so "running" is read when nothing can still enter.
func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	const limit, callers = 3, 10
	synctest.Test(t, func(t *testing.T) {
		b := &blockingDerive{release: make(chan struct{})}
		h := New(fast, limit)
		h.derive = b.derive
		enc, err := New(fast, 1).Hash(t.Context(), "pw")
		if err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = h.Hash(context.Background(), "pw")
				} else {
					_, err = h.Verify(context.Background(), enc, "pw")
				}
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
			})
		}
		for done := 0; done < callers; done++ {
			synctest.Wait()
			want := int32(min(limit, callers-done))
			if got := b.running.Load(); got != want {
				t.Fatalf("after %d finished: %d hashes running, want %d", done, got, want)
			}
			b.release <- struct{}{}
		}
		wg.Wait()
		if got := b.max.Load(); got != limit {
			t.Errorf("at most %d hashes ran at once, want exactly %d", got, limit)
		}
	})
}

// TestWaitHonoursContext: with the only slot taken, a caller whose context
// ends gets the context's error instead of queueing forever.
func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := &blockingDerive{release: make(chan struct{})}
		h := New(fast, 1)
		h.derive = b.derive
		holder := make(chan error)
		go func() {
			_, err := h.Hash(context.Background(), "holder")
			holder <- err
		}()
		synctest.Wait() // the holder is inside derive, the slot is taken

		// Already cancelled.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash with a cancelled context = %v, want context.Canceled", err)
		}
		if _, err := h.Verify(ctx, "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$dxM42BlXPGcRaznheIro4EsOsM+d+7/i5tdGzz5GT8c", "pw"); !errors.Is(err, context.Canceled) {
			t.Errorf("Verify with a cancelled context = %v, want context.Canceled", err)
		}

		// Cancelled while waiting for the slot.
		ctx, cancel = context.WithCancel(context.Background())
		waiter := make(chan error)
		go func() {
			_, err := h.Hash(ctx, "pw")
			waiter <- err
		}()
		synctest.Wait() // the waiter is blocked on the slot
		cancel()
		if err := <-waiter; !errors.Is(err, context.Canceled) {
			t.Errorf("Hash cancelled while waiting = %v, want context.Canceled", err)
		}

		b.release <- struct{}{}
		if err := <-holder; err != nil {
			t.Errorf("holder: %v", err)
		}
		if got := b.max.Load(); got != 1 {
			t.Errorf("%d hashes ran at once with a limit of 1", got)
		}
	})
}

// TestOnWaitMeasuresQueue: OnWait hears how long each hash waited for
// its slot: nothing for the first, the holder's whole run for the one
// queued behind it (synctest's clock, so the figure is exact).
func TestOnWaitMeasuresQueue(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := &blockingDerive{release: make(chan struct{})}
		var mu sync.Mutex
		var waits []time.Duration
		h := New(fast, 1).OnWait(func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
		})
		h.derive = b.derive
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = h.Hash(context.Background(), "holder") })
		synctest.Wait() // the holder has the slot
		wg.Go(func() { _, _ = h.Hash(context.Background(), "queued") })
		synctest.Wait() // the second waits for it
		time.Sleep(3 * time.Second)
		b.release <- struct{}{}
		synctest.Wait()
		b.release <- struct{}{}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if want := []time.Duration{0, 3 * time.Second}; !slices.Equal(waits, want) {
			t.Errorf("waits %v; want %v", waits, want)
		}
	})
}

// TestAfterBurst: the callback runs once per burst, quiet after the last
// hash of the burst ends, and not while a hash runs or waits.
func TestAfterBurst(t *testing.T) {
	t.Parallel()
	const quiet = 5 * time.Second
	synctest.Test(t, func(t *testing.T) {
		b := &blockingDerive{release: make(chan struct{})}
		var calls atomic.Int32
		h := New(fast, 1).AfterBurst(quiet, func() { calls.Add(1) })
		h.derive = b.derive

		// A burst: three hashes, one slot, so two wait.
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := h.Hash(context.Background(), "pw"); err != nil {
					t.Error(err)
				}
			})
		}
		for range 3 {
			synctest.Wait()
			time.Sleep(2 * quiet) // a long hash: no call while it runs
			if n := calls.Load(); n != 0 {
				t.Fatalf("called %d times during the burst", n)
			}
			b.release <- struct{}{}
		}
		wg.Wait()
		time.Sleep(quiet - time.Nanosecond)
		synctest.Wait()
		if n := calls.Load(); n != 0 {
			t.Fatalf("called %d times before quiet had passed", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("after the burst and quiet: %d calls, want 1", n)
		}

		// A hash starting within quiet of the last one postpones the call.
		wg.Go(func() { _, _ = h.Hash(context.Background(), "pw") })
		synctest.Wait()
		b.release <- struct{}{}
		wg.Wait()
		time.Sleep(quiet / 2)
		wg.Go(func() { _, _ = h.Hash(context.Background(), "pw") })
		synctest.Wait()
		b.release <- struct{}{}
		wg.Wait()
		time.Sleep(quiet / 2)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("a second burst called it before quiet had passed: %d calls, want 1", n)
		}
		time.Sleep(quiet)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("after the second burst: %d calls, want 2", n)
		}
		time.Sleep(10 * quiet)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("idle with no hashes: %d calls, want still 2", n)
		}
	})
}

// TestAfterEach: the function runs after every hash, alone or with others
// waiting, holding the slot (the next hash starts only once it returns).
func TestAfterEach(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := &blockingDerive{release: make(chan struct{})}
		var calls atomic.Int32
		inAfter, carryOn := make(chan struct{}), make(chan struct{})
		h := New(fast, 1).AfterEach(func() {
			calls.Add(1)
			inAfter <- struct{}{}
			<-carryOn
		})
		h.derive = b.derive

		// Alone: a call after it too (its array is garbage whether or not
		// another hash follows).
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = h.Hash(context.Background(), "pw") })
		synctest.Wait()
		b.release <- struct{}{}
		<-inAfter
		carryOn <- struct{}{}
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("a hash alone: %d calls, want 1", n)
		}

		// Three at once through one slot: a call after each, before the
		// next hash starts.
		for range 3 {
			wg.Go(func() { _, _ = h.Hash(context.Background(), "pw") })
		}
		for i := range 3 {
			synctest.Wait()
			b.release <- struct{}{}
			<-inAfter
			synctest.Wait() // everyone else is blocked: did a hash start?
			if n := b.running.Load(); n != 0 {
				t.Errorf("after hash %d: %d hashes running during the call, want 0: the slot was passed on first", i+1, n)
			}
			carryOn <- struct{}{}
		}
		wg.Wait()
		if n := calls.Load(); n != 4 {
			t.Fatalf("four hashes: %d calls, want 4", n)
		}
	})
}
