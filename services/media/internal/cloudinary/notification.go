package cloudinary

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrBadSignature: the notification is not signed with this account's
	// secret (or its signature or timestamp header is malformed).
	ErrBadSignature = errors.New("cloudinary notification: bad signature")
	// ErrStaleNotification: signed, but its timestamp is outside the window
	// (a replay, or a clock far off).
	ErrStaleNotification = errors.New("cloudinary notification: timestamp outside the window")
	// ErrNotEager: a valid notification of another type (upload, delete ...).
	ErrNotEager = errors.New("cloudinary notification: not an eager notification")
	// ErrNotOurs: an eager notification for a public id outside Tenflix's folder.
	ErrNotOurs = errors.New("cloudinary notification: not a Tenflix video")
)

// VerifyNotification checks X-Cld-Signature and X-Cld-Timestamp of a
// notification body as Cloudinary signs them: hex SHA-1, or SHA-256 (told
// apart by length), of body + timestamp + api_secret; a plain digest, not an
// HMAC. Unlike the SDK's VerifyNotificationSignature it compares in
// constant time and refuses timestamps too far ahead as well as too old.
func (c *Client) VerifyNotification(body []byte, timestamp, signature string, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 || strconv.FormatInt(ts, 10) != timestamp {
		return fmt.Errorf("%w: malformed X-Cld-Timestamp", ErrBadSignature)
	}
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(signature)))
	if err != nil {
		return fmt.Errorf("%w: X-Cld-Signature is not hex", ErrBadSignature)
	}
	var h hash.Hash
	switch len(got) {
	case sha1.Size:
		h = sha1.New()
	case sha256.Size:
		h = sha256.New()
	default:
		return fmt.Errorf("%w: X-Cld-Signature of %d bytes", ErrBadSignature, len(got))
	}
	h.Write(body)
	h.Write([]byte(timestamp))
	h.Write([]byte(c.sdk.Config.Cloud.APISecret))
	if subtle.ConstantTimeCompare(got, h.Sum(nil)) != 1 {
		return ErrBadSignature
	}
	if age := now.Sub(time.Unix(ts, 0)); age > c.window || -age > c.window {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrStaleNotification, time.Unix(ts, 0).UTC().Format(time.RFC3339), age.Round(time.Second))
	}
	return nil
}

// Eager is what an eager notification says about a video's renditions.
type Eager struct {
	PublicID string
	VideoID  string
	Version  int64
	BatchID  string
	// Ready: every eager transformation of the batch succeeded; the HLS
	// master is playable.
	Ready bool
	// Reason says why not, when not Ready.
	Reason string
	// URLs are the m3u8 URLs of the renditions made.
	URLs []string
}

type eagerPayload struct {
	NotificationType string `json:"notification_type"`
	PublicID         string `json:"public_id"`
	Version          int64  `json:"version"`
	BatchID          string `json:"batch_id"`
	Eager            []struct {
		Transformation string `json:"transformation"`
		Status         string `json:"status"`
		Reason         string `json:"reason"`
		URL            string `json:"url"`
		SecureURL      string `json:"secure_url"`
		Format         string `json:"format"`
	} `json:"eager"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// ParseEagerNotification reads an eager notification (verify it first).
// An entry counts as made when it has a URL and no failed or pending
// status; anything else makes the video not Ready, with the reason given.
func ParseEagerNotification(body []byte) (Eager, error) {
	var p eagerPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return Eager{}, fmt.Errorf("cloudinary notification: %w", err)
	}
	if p.NotificationType != "eager" {
		return Eager{}, fmt.Errorf("%w: %q", ErrNotEager, p.NotificationType)
	}
	e := Eager{PublicID: p.PublicID, VideoID: VideoID(p.PublicID), Version: p.Version, BatchID: p.BatchID}
	if e.VideoID == "" {
		return Eager{}, fmt.Errorf("%w: public id %q", ErrNotOurs, p.PublicID)
	}
	e.Ready = len(p.Eager) > 0 && p.Error == nil
	for _, r := range p.Eager {
		u := firstNonEmpty(r.SecureURL, r.URL)
		switch status := strings.ToLower(r.Status); {
		case status == "failed" || status == "error" || r.Reason != "":
			e.Ready = false
			if e.Reason == "" {
				e.Reason = firstNonEmpty(r.Reason, "eager transformation "+r.Transformation+" failed")
			}
		case status == "processing" || status == "pending" || status == "queued":
			e.Ready = false
			if e.Reason == "" {
				e.Reason = "eager transformation " + r.Transformation + " still " + status
			}
		case u == "":
			e.Ready = false
			if e.Reason == "" {
				e.Reason = "eager transformation " + r.Transformation + " has no URL"
			}
		default:
			if r.Format == "m3u8" || strings.Contains(u, ".m3u8") {
				e.URLs = append(e.URLs, u)
			}
		}
	}
	switch {
	case p.Error != nil && e.Reason == "":
		e.Reason = firstNonEmpty(p.Error.Message, "eager transformation failed")
	case len(p.Eager) == 0 && e.Reason == "":
		e.Reason = "the notification lists no eager transformation"
	case e.Ready && len(e.URLs) == 0:
		e.Ready, e.Reason = false, "no HLS rendition in the notification"
	}
	return e, nil
}
