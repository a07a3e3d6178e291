// Package playback signs and checks playback grants: short-lived permission
// for one user to fetch one video's HLS files.
//
// A grant is one path segment placed before the video's files
// (/api/v1/media/hls/<grant>/<videoId>/master.m3u8), so the variant
// playlists and segments that the master playlist names by relative URL
// inherit it, as nginx's secure_link does; playlists need no rewriting.
// movie-query signs (after checking the entitlement) and media verifies,
// both with the secret "playback-signing-key".
package playback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify; each means "no access" (the caller answers 403).
var (
	ErrMalformed = errors.New("malformed playback grant")
	ErrExpired   = errors.New("playback grant expired")
	ErrForged    = errors.New("playback grant does not match")
)

// MinKeyBytes is the shortest signing key accepted: an HMAC-SHA256 key of
// fewer bytes than its output weakens it.
const MinKeyBytes = 32

// Signer signs and verifies grants with one key.
type Signer struct{ key []byte }

// NewSigner refuses keys too short to be secret.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, errors.New("playback signing key: want at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Grant lets userID fetch videoID's files until expires. The user id is
// inside (logs and rate limits can name who watches) but only as a
// base64url string: grants are not secret from their holder.
func (s *Signer) Grant(userID, videoID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	user := base64.RawURLEncoding.EncodeToString([]byte(userID))
	return user + "." + exp + "." + s.mac(user, exp, videoID)
}

// Verify checks that grant was signed for videoID and is not expired at
// now; it returns the user it was signed for.
func (s *Signer) Verify(grant, videoID string, now time.Time) (userID string, err error) {
	user, rest, ok := strings.Cut(grant, ".")
	exp, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || user == "" || sig == "" {
		return "", ErrMalformed
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", ErrMalformed
	}
	// Constant time, and before the expiry, so that a forged grant is
	// never told apart from an expired one by timing.
	if !hmac.Equal([]byte(sig), []byte(s.mac(user, exp, videoID))) {
		return "", ErrForged
	}
	if !now.Before(time.Unix(unix, 0)) {
		return "", ErrExpired
	}
	id, err := base64.RawURLEncoding.DecodeString(user)
	if err != nil {
		return "", ErrMalformed
	}
	return string(id), nil
}

func (s *Signer) mac(user, exp, videoID string) string {
	m := hmac.New(sha256.New, s.key)
	// NUL separators: none of the three can contain one (ids are uuids,
	// the user part is base64url), so no two inputs sign the same bytes.
	m.Write([]byte(user + "\x00" + exp + "\x00" + videoID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
