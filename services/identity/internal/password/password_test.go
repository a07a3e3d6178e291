package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; the format and logic are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, Limits{})
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding: %s", enc)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		ok, err := h.Verify(ctx, enc, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	again, _ := h.Hash(ctx, "correct horse battery")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyUsesTheStoredParameters(t *testing.T) {
	ctx := context.Background()
	enc, err := NewHasher(Recommended, Limits{}).Hash(ctx, "some long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := NewHasher(cheap, Limits{}).Verify(ctx, enc, "some long passphrase"); !ok || err != nil {
		t.Fatalf("hash made with other parameters does not verify: %v %v", ok, err)
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	h := NewHasher(cheap, Limits{})
	good, _ := h.Hash(context.Background(), "x")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":      "",
		"bcrypt":     "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":    strings.Replace(good, "argon2id", "argon2i", 1),
		"version":    strings.Replace(good, "v=19", "v=16", 1),
		"huge mem":   strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":  strings.Replace(good, "t=1", "t=0", 1),
		"bad salt":   strings.Join(append(parts[:4:4], "!!", parts[5]), "$"),
		"short key":  strings.Join(append(parts[:5:5], "AAAA"), "$"),
		"extra part": good + "$x",
	} {
		if _, err := h.Verify(context.Background(), enc, "x"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: err = %v, want ErrMalformedHash", name, err)
		}
	}
}

func TestDefaultLimits(t *testing.T) {
	h := NewHasher(cheap, Limits{})
	if cap(h.slots) != DefaultConcurrency() || h.wait != DefaultWait {
		t.Fatalf("slots %d wait %s", cap(h.slots), h.wait)
	}
}

// With every slot taken, hashing and verifying wait, and give up with
// ErrBusy after the wait; a freed slot lets a waiting one through.
func TestAtMostConcurrentComputations(t *testing.T) {
	const n, wait = 3, 100 * time.Millisecond
	h := NewHasher(cheap, Limits{Concurrent: n, Wait: wait})
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for range n { // n computations under way
		h.slots <- struct{}{}
	}
	start := time.Now()
	if _, err := h.Hash(ctx, "one too many"); !errors.Is(err, ErrBusy) {
		t.Fatalf("hash number %d: %v, want ErrBusy", n+1, err)
	}
	if _, err := h.Verify(ctx, enc, "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Fatalf("verify number %d: %v, want ErrBusy", n+1, err)
	}
	if waited := time.Since(start); waited < 2*wait {
		t.Fatalf("gave up after %s, want a wait of %s each", waited, wait)
	}

	// The extra one waits, and goes through once a computation ends.
	h = NewHasher(cheap, Limits{Concurrent: n, Wait: time.Minute})
	for range n {
		h.slots <- struct{}{}
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Verify(ctx, enc, "correct horse battery")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("ran without a free slot: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	<-h.slots
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(h.slots) != n-1 {
		t.Fatalf("%d slots taken after it ended, want %d", len(h.slots), n-1)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	h := NewHasher(cheap, Limits{Concurrent: 1, Wait: time.Minute})
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.HashPatiently(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("patient hash: %v", err)
	}
}

// HashPatiently is never refused for lack of a slot: it waits past Wait.
func TestHashPatientlyOutwaitsTheBound(t *testing.T) {
	h := NewHasher(cheap, Limits{Concurrent: 1, Wait: time.Millisecond})
	h.slots <- struct{}{}
	go func() { time.Sleep(50 * time.Millisecond); <-h.slots }()
	if _, err := h.HashPatiently(context.Background(), "admin passphrase"); err != nil {
		t.Fatal(err)
	}
}
