// Package token signs the two bearer-free credentials of the notification
// service: stream tickets (a browser's EventSource cannot send an
// Authorization header, so it presents a short-lived ticket in the URL
// instead of the long-lived access token) and unsubscribe tokens (the link
// in every email). Both are HMAC-SHA256 over "<purpose>|<userId>|<expiry>",
// so one can never be used as the other.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Purposes, part of what is signed.
const (
	purposeStream      = "stream"
	purposeUnsubscribe = "unsubscribe"
)

// Errors of Verify*.
var (
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// MinKeyBytes: a shorter key is refused at start.
const MinKeyBytes = 16

// maxTokenBytes bounds what is decoded (a user id is a UUID).
const maxTokenBytes = 512

var b64 = base64.RawURLEncoding

// Signer signs and verifies tokens with one key.
type Signer struct{ key []byte }

// NewSigner returns a signer; the key comes from the secret store.
func NewSigner(key string) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, errors.New("signing key shorter than 16 bytes")
	}
	return &Signer{key: []byte(key)}, nil
}

// StreamTicket lets userID open the event stream until expires.
func (s *Signer) StreamTicket(userID string, expires time.Time) string {
	return s.sign(purposeStream, userID, expires.Unix())
}

// VerifyStreamTicket returns the user of a valid, unexpired ticket.
func (s *Signer) VerifyStreamTicket(t string, now time.Time) (string, error) {
	user, exp, err := s.verify(purposeStream, t)
	if err != nil {
		return "", err
	}
	if now.Unix() >= exp {
		return "", ErrExpired
	}
	return user, nil
}

// UnsubscribeToken is the token of userID's unsubscribe link. It does not
// expire: an old email's link keeps working, and all it can do is turn
// email off.
func (s *Signer) UnsubscribeToken(userID string) string {
	return s.sign(purposeUnsubscribe, userID, 0)
}

// VerifyUnsubscribe returns the user of a valid unsubscribe token.
func (s *Signer) VerifyUnsubscribe(t string) (string, error) {
	user, _, err := s.verify(purposeUnsubscribe, t)
	return user, err
}

func (s *Signer) sign(purpose, userID string, exp int64) string {
	payload := purpose + "|" + userID + "|" + strconv.FormatInt(exp, 10)
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(s.mac(payload))
}

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

func (s *Signer) verify(purpose, t string) (string, int64, error) {
	if len(t) > maxTokenBytes {
		return "", 0, ErrInvalid
	}
	p64, sig64, ok := strings.Cut(t, ".")
	if !ok {
		return "", 0, ErrInvalid
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, s.mac(string(payload))) {
		return "", 0, ErrInvalid
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] != purpose || parts[1] == "" {
		return "", 0, ErrInvalid
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", 0, ErrInvalid
	}
	return parts[1], exp, nil
}
