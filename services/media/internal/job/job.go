// Package job holds the rules of media's transcoding jobs: what an upload
// must carry, which renditions a source gets, and the job's lifecycle.
package job

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Statuses of a job; they are the video's statuses in the catalog.
const (
	Uploaded    = catalogv1.VideoUploaded
	Transcoding = catalogv1.VideoTranscoding
	Ready       = catalogv1.VideoReady
	Failed      = catalogv1.VideoFailed
)

// Sentinel errors; adapters translate driver errors into these and the HTTP
// layer maps them to the error envelope.
var (
	ErrNotFound  = errors.New("not found")
	ErrNotFailed = errors.New("only a FAILED video can be retried")
	// ErrLeaseLost: another worker holds the job now (this one's lease ran
	// out); whatever this worker did is not recorded.
	ErrLeaseLost = errors.New("job lease lost")
)

// ValidationError is a rule an upload broke; its message is shown to clients.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Limits of the upload's text fields, in characters (movie-command's).
const (
	MaxTitleLen    = 200
	MaxSynopsisLen = 5000
)

// Job is one video's transcoding job.
type Job struct {
	VideoID       string
	MovieID       string
	Title         string
	Synopsis      string
	Status        string
	Attempts      int
	LeaseOwner    string
	LeaseUntil    time.Time
	Reason        string
	Progress      int
	LengthSeconds int
	Reported      string // the last status movie-command acknowledged
	// Awaiting: uploaded to a remote backend (Cloudinary), TRANSCODING
	// without a lease until the notification for RemoteVersion comes, or
	// NotifyDeadline passes.
	Awaiting       bool
	RemoteVersion  int64
	NotifyDeadline time.Time
	// Playback, URL and PosterURL are a READY job's Result, as stored
	// (empty for jobs made READY before they were stored: the local layout).
	Playback, URL, PosterURL string
}

// Meta is what an admin sends with the file.
type Meta struct {
	Title    string
	Synopsis string
}

// ValidateMeta trims and checks title (1..200 characters) and synopsis
// (up to 5000), as movie-command does for videos added by URL.
func ValidateMeta(m Meta) (Meta, error) {
	m.Title = strings.TrimSpace(m.Title)
	m.Synopsis = strings.TrimSpace(m.Synopsis)
	switch {
	case m.Title == "":
		return m, invalid("title is required")
	case !utf8.ValidString(m.Title) || !utf8.ValidString(m.Synopsis):
		return m, invalid("title and synopsis must be valid UTF-8")
	case utf8.RuneCountInString(m.Title) > MaxTitleLen:
		return m, invalid("title must be at most %d characters", MaxTitleLen)
	case utf8.RuneCountInString(m.Synopsis) > MaxSynopsisLen:
		return m, invalid("synopsis must be at most %d characters", MaxSynopsisLen)
	case strings.ContainsFunc(m.Title, unicode.IsControl):
		return m, invalid("title must not contain control characters")
	case strings.ContainsRune(m.Synopsis, 0):
		return m, invalid("synopsis must not contain NUL characters")
	}
	return m, nil
}

// Result is where a transcoded video plays from: what a Transcoder
// (local ffmpeg, Cloudinary) reports.
type Result struct {
	Playback  string // catalogv1.PlaybackHLS or PlaybackCloudinary
	URL       string // hls: the master playlist relative to the HLS route (<videoId>/master.m3u8); cloudinary: its delivery URL
	PosterURL string // hls: <videoId>/poster.jpg; cloudinary: an absolute URL
	Length    int    // seconds
	// Pending: the backend transcodes elsewhere and will say when it is done
	// (Cloudinary's eager notification naming RemoteVersion, the version it
	// gave the upload); the job is not READY yet and Playback/URL are unset.
	Pending       bool
	RemoteVersion int64
}

// Rendition is one variant of the HLS ladder.
type Rendition struct {
	Name         string // directory and var_stream_map name, e.g. "720p"
	Height       int
	VideoBitrate int // bits per second
	AudioBitrate int // bits per second (when the source has audio)
}

// ladder is the full ladder, lowest first.
var ladder = []Rendition{
	{Name: "360p", Height: 360, VideoBitrate: 800_000, AudioBitrate: 96_000},
	{Name: "720p", Height: 720, VideoBitrate: 2_800_000, AudioBitrate: 128_000},
	{Name: "1080p", Height: 1080, VideoBitrate: 5_000_000, AudioBitrate: 128_000},
}

// Ladder chooses the renditions of a source sourceHeight pixels tall, never
// upscaling: every rung of the ladder the source reaches (360p, 720p, 1080p);
// a source between two rungs below 720p (480p, say) also gets its own
// height, so that its best quality is kept; a source shorter than 360p gets
// just its own height. Heights are even (H.264 4:2:0 needs it).
func Ladder(sourceHeight int) []Rendition {
	h := sourceHeight &^ 1
	var out []Rendition
	for _, r := range ladder {
		if r.Height <= h {
			out = append(out, r)
		}
	}
	if len(out) == 0 || (h < 720 && out[len(out)-1].Height < h) {
		// Bitrate scales with the pixel count, from the 360p rung.
		base := ladder[0]
		px := float64(h*h) / float64(base.Height*base.Height)
		out = append(out, Rendition{Name: fmt.Sprintf("%dp", h), Height: h,
			VideoBitrate: int(float64(base.VideoBitrate)*px) / 1000 * 1000, AudioBitrate: base.AudioBitrate})
	}
	return out
}

// Errors of an upload, by what was wrong with it.
var (
	ErrTooLarge = errors.New("the file is larger than the upload limit")
	// ErrNotMedia: not a media file at all (a text file renamed .mp4).
	ErrNotMedia = errors.New("not a media file")
	// ErrNoVideo: a media file without a video stream that decodes.
	ErrNoVideo = errors.New("no decodable video stream")
	// ErrMovieNotFound: the video's movie is missing or deleted.
	ErrMovieNotFound = errors.New("movie not found")
	// ErrRefused: movie-command refused the video's new status (an older
	// status arriving after a newer one, or a video added by URL).
	ErrRefused = errors.New("movie-command refused the status")
)
