package password

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps the tests fast; the format and logic are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	h := NewHasher(cheap)
	enc, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding: %s", enc)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		ok, err := Verify(enc, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	again, _ := h.Hash("correct horse battery")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyUsesTheStoredParameters(t *testing.T) {
	enc, err := NewHasher(Recommended).Hash("some long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(enc, "some long passphrase"); !ok || err != nil {
		t.Fatalf("hash made with other parameters does not verify: %v %v", ok, err)
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good, _ := NewHasher(cheap).Hash("x")
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
		if _, err := Verify(enc, "x"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: err = %v, want ErrMalformedHash", name, err)
		}
	}
}
