package job

import (
	"errors"
	"strings"
	"unicode"
)

var (
	// ErrTransient: the transcoder could not reach its backend (a network
	// error, an answer that was not the backend's); the job is tried again
	// later, up to its attempts, rather than FAILED at once.
	ErrTransient = errors.New("transient backend failure")
	// ErrNotAwaiting: a notification for a job that is not waiting for one
	// yet (its upload is still being answered): the sender should try again.
	ErrNotAwaiting = errors.New("the video is not waiting for a notification yet")
)

// Outcome is what a remote backend's notification says of the version it
// names: READY with where it plays from, or FAILED with the reason.
type Outcome struct {
	Version int64
	Ready   bool
	Reason  string
	Result  Result // when Ready: Playback, URL (PosterURL optional)
}

// Applied is what storing an Outcome did.
type Applied int

const (
	// Changed: the waiting job is now READY or FAILED.
	Changed Applied = iota
	// Duplicate: the job already ended with this version (a resent
	// notification): nothing changes.
	Duplicate
	// Ignored: no such job, or a notification of an older upload (a retry
	// replaced it): nothing changes.
	Ignored
)

// MaxReasonLen bounds a failure reason, in characters (movie-command takes
// up to 1000).
const MaxReasonLen = 500

// CleanReason makes a failure reason from elsewhere (a backend's message)
// fit to store and show: valid UTF-8, no control characters, bounded.
func CleanReason(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > MaxReasonLen {
		s = string(r[:MaxReasonLen-1]) + "…"
	}
	return s
}
