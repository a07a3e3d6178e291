// Package catalog holds the rules of catalog writes: what a valid movie,
// video or named entry (actor, creator, category, tag) is.
package catalog

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors; adapters translate driver errors into these and the HTTP
// layer maps them to the error envelope.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("changed concurrently")
	ErrNameTaken = errors.New("name already taken")
	// ErrMovieNotLive: a video was written for a movie that is missing or
	// was deleted meanwhile (the database checks it at commit).
	ErrMovieNotLive = errors.New("the video's movie is missing or deleted")
)

// ValidationError is a rule a write broke; its message is shown to clients.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Kind is the kind of a named entry; it is also the state key prefix.
type Kind string

const (
	Actor    Kind = "actor"
	Creator  Kind = "creator"
	Category Kind = "category"
	Tag      Kind = "tag"
)

// NamedKinds maps the plural used in URLs to the kind.
var NamedKinds = map[string]Kind{
	"actors":     Actor,
	"creators":   Creator,
	"categories": Category,
	"tags":       Tag,
}

// Limits of free-text fields, in characters.
const (
	MaxNameLen     = 200
	MaxSynopsisLen = 5000
	MaxURLLen      = 2048
	MaxRefs        = 100
	MaxVideoLength = 24 * 60 * 60 // seconds
)

// MovieTypes and MPARatings are the accepted values of those fields.
var (
	MovieTypes = []string{"movie", "series", "documentary", "short"}
	MPARatings = []string{"G", "PG", "PG-13", "R", "NC-17", "NR"}
)

// Name validates and normalises the name of a named entry, movie or video:
// trimmed, 1..MaxNameLen characters, no control characters.
func Name(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("%s is required", field)
	}
	if !utf8.ValidString(s) {
		return "", invalid("%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		return "", invalid("%s must be at most %d characters (got %d)", field, MaxNameLen, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", invalid("%s must not contain control characters", field)
		}
	}
	return s, nil
}

func text(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid("%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid("%s must be at most %d characters (got %d)", field, max, n)
	}
	return s, nil
}

func httpURL(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", invalid("%s is required", field)
		}
		return "", nil
	}
	if len(s) > MaxURLLen {
		return "", invalid("%s must be at most %d characters", field, MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", invalid("%s must be an absolute http(s) URL", field)
	}
	return s, nil
}

func oneOf(field, s string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a, nil
		}
	}
	return "", invalid("%s must be one of %s", field, strings.Join(allowed, ", "))
}

// Ref points at a named entry by id or, when the id is empty, by name.
type Ref struct {
	ID   string
	Name string
}

// MovieInput is an admin's create or full update of a movie.
type MovieInput struct {
	Name        string
	Type        string
	Synopsis    string
	MPARating   string
	ReleaseDate string
	Rating      *float64
	Image       string
	Actors      []Ref
	Creators    []Ref
	Categories  []Ref
	Tags        []Ref
	Notify      bool
}

// Movie is a validated MovieInput; references are not resolved yet.
type Movie struct {
	Name        string
	Type        string
	Synopsis    string
	MPARating   string
	ReleaseDate string
	Rating      float64
	Image       string
	Refs        map[Kind][]Ref
	Notify      bool
}

// ValidateMovie applies every movie rule and reports the first broken one.
func ValidateMovie(in MovieInput) (Movie, error) {
	var m Movie
	var err error
	if m.Name, err = Name("name", in.Name); err != nil {
		return m, err
	}
	if strings.TrimSpace(in.Type) == "" {
		return m, invalid("type is required (one of %s)", strings.Join(MovieTypes, ", "))
	}
	if m.Type, err = oneOf("type", strings.TrimSpace(in.Type), MovieTypes); err != nil {
		return m, err
	}
	if m.Synopsis, err = text("synopsis", in.Synopsis, MaxSynopsisLen); err != nil {
		return m, err
	}
	m.MPARating = "NR"
	if s := strings.TrimSpace(in.MPARating); s != "" {
		if m.MPARating, err = oneOf("mpaRating", s, MPARatings); err != nil {
			return m, err
		}
	}
	d := strings.TrimSpace(in.ReleaseDate)
	if d == "" {
		return m, invalid("releaseDate is required (YYYY-MM-DD)")
	}
	t, perr := time.Parse(time.DateOnly, d)
	if perr != nil || t.Year() < 1870 || t.Year() > 2200 {
		return m, invalid("releaseDate must be a date YYYY-MM-DD between 1870 and 2200")
	}
	m.ReleaseDate = t.Format(time.DateOnly)
	if in.Rating != nil {
		r := *in.Rating
		if math.IsNaN(r) || r < 0 || r > 10 {
			return m, invalid("rating must be between 0 and 10")
		}
		m.Rating = math.Round(r*10) / 10
	}
	if m.Image, err = httpURL("image", in.Image, false); err != nil {
		return m, err
	}
	m.Refs = map[Kind][]Ref{}
	for kind, refs := range map[Kind][]Ref{Actor: in.Actors, Creator: in.Creators, Category: in.Categories, Tag: in.Tags} {
		if m.Refs[kind], err = validateRefs(kind, refs); err != nil {
			return m, err
		}
	}
	m.Notify = in.Notify
	return m, nil
}

func validateRefs(kind Kind, refs []Ref) ([]Ref, error) {
	field := Plural(kind)
	if len(refs) > MaxRefs {
		return nil, invalid("%s: at most %d entries", field, MaxRefs)
	}
	out := make([]Ref, 0, len(refs))
	for i, r := range refs {
		r.ID, r.Name = strings.TrimSpace(r.ID), strings.TrimSpace(r.Name)
		if r.ID == "" && r.Name == "" {
			return nil, invalid("%s[%d] needs an id or a name", field, i)
		}
		if r.ID != "" && len(r.ID) > 64 {
			return nil, invalid("%s[%d].id is not a valid id", field, i)
		}
		if r.ID == "" {
			name, err := Name(fmt.Sprintf("%s[%d].name", field, i), r.Name)
			if err != nil {
				return nil, err
			}
			r.Name = name
		}
		out = append(out, r)
	}
	return out, nil
}

// Plural is the URL and JSON name of a kind ("category" -> "categories").
func Plural(k Kind) string {
	if k == Category {
		return "categories"
	}
	return string(k) + "s"
}

// VideoInput is an admin's create or full update of a video added by URL.
type VideoInput struct {
	MovieID       string
	Title         string
	Synopsis      string
	LengthSeconds int64
	URL           string
}

// ValidateVideo applies the video rules.
func ValidateVideo(in VideoInput) (VideoInput, error) {
	var err error
	in.MovieID = strings.TrimSpace(in.MovieID)
	if in.MovieID == "" {
		return in, invalid("movieId is required")
	}
	if in.Title, err = Name("title", in.Title); err != nil {
		return in, err
	}
	if in.Synopsis, err = text("synopsis", in.Synopsis, MaxSynopsisLen); err != nil {
		return in, err
	}
	if in.LengthSeconds < 0 || in.LengthSeconds > MaxVideoLength {
		return in, invalid("lengthSeconds must be between 0 and %d", MaxVideoLength)
	}
	if in.URL, err = httpURL("url", in.URL, true); err != nil {
		return in, err
	}
	return in, nil
}

// ErrStatusOrder: a video status that would move the video back (an older
// report arriving after a newer one).
var ErrStatusOrder = errors.New("the video has a later status")

// MaxFailureReasonLen bounds a FAILED video's reason, in characters.
const MaxFailureReasonLen = 1000

// Video statuses, in the order a video goes through them (catalog/v1).
const (
	VideoUploaded    = "UPLOADED"
	VideoTranscoding = "TRANSCODING"
	VideoReady       = "READY"
	VideoFailed      = "FAILED"
)

// VideoStatusInput is media's report of an uploaded video.
type VideoStatusInput struct {
	MovieID, VideoID string
	Title, Synopsis  string
	Status           string
	Progress         int64
	FailureReason    string
	Playback         string // "hls" or "cloudinary"; required once READY
	URL, PosterURL   string
	LengthSeconds    int64
}

// ValidateVideoStatus applies the rules of a status report: a known status,
// a FAILED one with its reason, a READY one with where it plays from (a
// path relative to media's HLS route, or Cloudinary's absolute URL).
func ValidateVideoStatus(in VideoStatusInput) (VideoStatusInput, error) {
	var err error
	if in.Title, err = Name("title", in.Title); err != nil {
		return in, err
	}
	if in.Synopsis, err = text("synopsis", in.Synopsis, MaxSynopsisLen); err != nil {
		return in, err
	}
	if in.FailureReason, err = text("failureReason", in.FailureReason, MaxFailureReasonLen); err != nil {
		return in, err
	}
	if in.LengthSeconds < 0 || in.LengthSeconds > MaxVideoLength {
		return in, invalid("lengthSeconds must be between 0 and %d", MaxVideoLength)
	}
	if in.Progress < 0 || in.Progress > 100 {
		return in, invalid("progress must be between 0 and 100")
	}
	switch in.Status {
	case VideoUploaded, VideoTranscoding:
	case VideoFailed:
		if in.FailureReason == "" {
			return in, invalid("failureReason is required when FAILED")
		}
	case VideoReady:
		in.Progress = 100
		if in.Playback != "hls" && in.Playback != "cloudinary" {
			return in, invalid("playback must be hls or cloudinary when READY")
		}
	default:
		return in, invalid("status must be one of UPLOADED, TRANSCODING, READY, FAILED")
	}
	if in.Status != VideoFailed {
		in.FailureReason = ""
	}
	for _, u := range []struct {
		field    string
		value    *string
		required bool
	}{{"url", &in.URL, in.Status == VideoReady}, {"posterUrl", &in.PosterURL, false}} {
		if *u.value, err = mediaURL(u.field, *u.value, in.Playback, u.required); err != nil {
			return in, err
		}
	}
	return in, nil
}

// mediaURL is an HLS path relative to media's route (hls: no scheme, no
// dot segments) or an absolute http(s) URL (cloudinary).
func mediaURL(field, s, playback string, required bool) (string, error) {
	if playback == "cloudinary" {
		return httpURL(field, s, required)
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", invalid("%s is required", field)
	case len(s) > MaxURLLen:
		return "", invalid("%s must be at most %d characters", field, MaxURLLen)
	case strings.Contains(s, ":") || strings.HasPrefix(s, "/") || strings.ContainsFunc(s, unicode.IsControl):
		return "", invalid("%s must be a path relative to media's HLS route", field)
	}
	for _, seg := range strings.Split(s, "/") {
		if s != "" && (seg == "" || seg == "." || seg == "..") {
			return "", invalid("%s must be a path relative to media's HLS route", field)
		}
	}
	return s, nil
}

// VideoStatusOrder says whether a video may go from status from to to: only
// forwards (UPLOADED, TRANSCODING, then READY or FAILED), the same status
// again (progress), and from FAILED back to UPLOADED or TRANSCODING (an
// admin's retry). A READY video stays READY.
func VideoStatusOrder(from, to string) error {
	rank := map[string]int{VideoUploaded: 0, VideoTranscoding: 1, VideoReady: 2, VideoFailed: 2}
	switch {
	case from == "" || from == to:
		return nil
	case from == VideoFailed && (to == VideoUploaded || to == VideoTranscoding):
		return nil
	case from == VideoReady || from == VideoFailed || rank[to] <= rank[from]:
		return fmt.Errorf("%w: %s, not %s", ErrStatusOrder, from, to)
	}
	return nil
}
