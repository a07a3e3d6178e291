package catalog

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Progress is how far a user has watched a video.
type Progress struct {
	UserID          string
	VideoID         string
	MovieID         string
	PositionSeconds float64
	LengthSeconds   int32 // the video's length when the position was saved; 0 = unknown
	UpdatedAt       time.Time
}

// Bounds of a saved position.
const (
	// MaxPositionSeconds bounds a position when the video's length is not
	// known: movie-command refuses lengths over a day.
	MaxPositionSeconds = 86_400
	// LengthSlackSeconds is how far past the stated length a position may
	// be: lengths are whole seconds, a player's clock is not (a 60.4 s file
	// is stated as 60).
	LengthSlackSeconds = 1
	// FinishedFraction: a video watched past this part of its length is
	// finished; it leaves continue-watching and starts over next time.
	FinishedFraction = 0.9
)

// ErrNotReady: the video cannot be played (yet): it is uploading,
// transcoding or failed.
var ErrNotReady = errors.New("video not ready")

// ValidatePosition checks a position reported for a video of length
// seconds (0 = unknown). Its errors are fit for clients.
func ValidatePosition(pos float64, length int32) error {
	switch {
	case math.IsNaN(pos) || math.IsInf(pos, 0):
		return errors.New("positionSeconds must be a finite number")
	case pos < 0:
		return errors.New("positionSeconds must not be negative")
	case length > 0 && pos > float64(length)+LengthSlackSeconds:
		return fmt.Errorf("positionSeconds must be at most the video's length (%d s)", length)
	case pos > MaxPositionSeconds:
		return fmt.Errorf("positionSeconds must be at most %d", MaxPositionSeconds)
	}
	return nil
}

// Finished reports whether a position is past FinishedFraction of a video
// of known length.
func Finished(pos float64, length int32) bool {
	return length > 0 && pos > FinishedFraction*float64(length)
}

// ResumeAt is where playback resumes: the saved position, or the start
// when nothing is saved or the video was finished.
func (p Progress) ResumeAt() float64 {
	if Finished(p.PositionSeconds, p.LengthSeconds) {
		return 0
	}
	return p.PositionSeconds
}

// InProgress is one entry of a user's continue-watching list.
type InProgress struct {
	Progress
	MovieName  string
	VideoTitle string
	PosterURL  string // the video's
}

// InProgressPage is one page of continue-watching; Total counts every entry.
type InProgressPage struct {
	Items []InProgress
	Total int64
}

// PageQuery is a 1-based page of a list other than the movie list.
type PageQuery struct {
	Page, Size int
}

// Validate checks bounds. Its errors are fit for clients.
func (q PageQuery) Validate() error {
	switch {
	case q.Page < 1 || q.Page > MaxPage:
		return fmt.Errorf("page must be between 1 and %d", MaxPage)
	case q.Size < 1 || q.Size > MaxPageSize:
		return fmt.Errorf("size must be between 1 and %d", MaxPageSize)
	}
	return nil
}
