package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStreamTicket(t *testing.T) {
	s, err := NewSigner("0123456789abcdef-key")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tk := s.StreamTicket("user-1", now.Add(time.Minute))
	if u, err := s.VerifyStreamTicket(tk, now); err != nil || u != "user-1" {
		t.Fatalf("verify = %q, %v", u, err)
	}
	if _, err := s.VerifyStreamTicket(tk, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired ticket: %v", err)
	}
	other, _ := NewSigner("another-key-of-16-bytes")
	if _, err := other.VerifyStreamTicket(tk, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("other key: %v", err)
	}
	// An unsubscribe token is not a ticket, and the reverse.
	if _, err := s.VerifyStreamTicket(s.UnsubscribeToken("user-1"), now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unsubscribe token as ticket: %v", err)
	}
	if _, err := s.VerifyUnsubscribe(tk); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ticket as unsubscribe token: %v", err)
	}
	for _, bad := range []string{"", ".", "x.y", tk + "x", strings.Repeat("a", 600), "\x00.\xff"} {
		if _, err := s.VerifyStreamTicket(bad, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if u, err := s.VerifyUnsubscribe(s.UnsubscribeToken("user-2")); err != nil || u != "user-2" {
		t.Fatalf("unsubscribe = %q, %v", u, err)
	}
	if _, err := NewSigner("short"); err == nil {
		t.Fatal("short key accepted")
	}
}
