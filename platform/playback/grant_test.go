package playback

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGrant(t *testing.T) {
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	g := s.Grant("user-1", "video-1", now.Add(time.Hour))

	if u, err := s.Verify(g, "video-1", now); err != nil || u != "user-1" {
		t.Fatalf("Verify = %q, %v", u, err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("o", 32)))
	tampered := []byte(g)
	tampered[len(tampered)-1] ^= 1
	for name, c := range map[string]struct {
		signer       *Signer
		grant, video string
		at           time.Time
		want         error
	}{
		"other video":  {s, g, "video-2", now, ErrForged},
		"other key":    {other, g, "video-1", now, ErrForged},
		"tampered":     {s, string(tampered), "video-1", now, ErrForged},
		"other user":   {s, "dXNlci0y" + g[strings.Index(g, "."):], "video-1", now, ErrForged},
		"expired":      {s, g, "video-1", now.Add(time.Hour), ErrExpired},
		"empty":        {s, "", "video-1", now, ErrMalformed},
		"no signature": {s, "dXNlci0x.1800003600.", "video-1", now, ErrMalformed},
		"bad expiry":   {s, "dXNlci0x.soon.abc", "video-1", now, ErrMalformed},
	} {
		if _, err := c.signer.Verify(c.grant, c.video, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
