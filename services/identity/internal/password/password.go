// Package password hashes passwords with argon2id and verifies them, storing
// the parameters with each hash (PHC string format) so that they can be
// raised later without invalidating existing hashes.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost settings.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// Recommended is OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about
// 20-40 ms per hash on a server core.
var Recommended = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits a stored hash must respect to be verified, so that a corrupt row
// cannot make one sign-in allocate gigabytes.
const (
	maxMemory  = 1 << 20 // KiB (1 GiB)
	maxTime    = 16
	maxKeyLen  = 128
	maxSaltLen = 64
)

// ErrMalformedHash: a stored hash is not an argon2id PHC string we accept.
var ErrMalformedHash = errors.New("malformed password hash")

// ErrBusy: every hashing slot stayed taken for the whole wait; the caller
// should answer "unavailable, retry soon" rather than queue further.
var ErrBusy = errors.New("password hashing at capacity")

// DefaultWait is how long a hash waits for a slot before ErrBusy: a few
// hashes' time, well under a client's patience.
const DefaultWait = 2 * time.Second

// DefaultConcurrency is twice the cores Go may use: argon2id with one lane is
// CPU-bound, so more at once only adds memory, while a few extra keep the
// cores busy when some hashes start late.
func DefaultConcurrency() int { return 2 * runtime.GOMAXPROCS(0) }

var b64 = base64.RawStdEncoding

// Limits bound the hashing work done at once.
//
// Why: each argon2id computation allocates its whole memory cost up front
// (19 MiB with Recommended) and holds it until it ends, so N concurrent
// sign-ins cost N x 19 MiB: 500 at once would ask for 9.5 GiB. With at most
// Concurrent computations, memory stays at Concurrent x the hashes' memory
// cost whatever the load (19 MiB for every hash this service writes; a stored
// hash is accepted up to maxMemory), and a hash that cannot start within Wait
// is refused (ErrBusy) instead of piling up.
type Limits struct {
	Concurrent int           // default DefaultConcurrency()
	Wait       time.Duration // default DefaultWait
}

// Hasher hashes and verifies with fixed parameters, at most
// Limits.Concurrent computations at once.
type Hasher struct {
	p     Params
	slots chan struct{}
	wait  time.Duration
}

// NewHasher returns a hasher using p within l.
func NewHasher(p Params, l Limits) *Hasher {
	if l.Concurrent <= 0 {
		l.Concurrent = DefaultConcurrency()
	}
	if l.Wait <= 0 {
		l.Wait = DefaultWait
	}
	return &Hasher{p: p, slots: make(chan struct{}, l.Concurrent), wait: l.Wait}
}

// acquire takes a slot, waiting at most h.wait (or, when patient, as long as
// ctx allows). The returned function gives the slot back.
func (h *Hasher) acquire(ctx context.Context, patient bool) (func(), error) {
	release := func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	var timeout <-chan time.Time
	if !patient {
		t := time.NewTimer(h.wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-timeout:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash returns the PHC string of pw with a fresh random salt; ErrBusy when
// no slot frees up within the wait.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	return h.hash(ctx, pw, false)
}

// HashPatiently is Hash for work that must not be refused (the admin
// account created at start): it waits for a slot as long as ctx allows.
// It still takes a slot, so it never adds to the memory bound.
func (h *Hasher) HashPatiently(ctx context.Context, pw string) (string, error) {
	return h.hash(ctx, pw, true)
}

func (h *Hasher) hash(ctx context.Context, pw string, patient bool) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	release, err := h.acquire(ctx, patient)
	if err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.Memory, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the PHC string encoded, in constant time
// with respect to the key comparison; ErrBusy when no slot frees up within
// the wait. The stored hash's own parameters are used (they may be older).
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	release, err := h.acquire(ctx, false)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, fmt.Errorf("%w: version %q", ErrMalformedHash, parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, parts[3])
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > maxSaltLen || len(key) < 16 || len(key) > maxKeyLen ||
		p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
