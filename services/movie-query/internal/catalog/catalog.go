// Package catalog is movie-query's read model: the movies, videos and named
// entries (actors, creators, categories, tags) as the catalog events describe
// them, and the rules that keep the model from regressing when events arrive
// twice or out of order.
package catalog

import (
	"errors"
	"time"
)

// ErrNotFound: no such movie (or it was deleted).
var ErrNotFound = errors.New("not found")

// Kinds of named entries, equal to their event aggregate names.
const (
	KindActor    = "actor"
	KindCreator  = "creator"
	KindCategory = "category"
	KindTag      = "tag"
)

// Named is an actor, creator, category or tag as of Version.
type Named struct {
	Kind    string
	ID      string
	Name    string
	Version int64
	Deleted bool
}

// Ref is a named entry embedded in a movie. Version is the version of the named
// entry its Name came from.
type Ref struct {
	ID      string
	Name    string
	Version int64
}

// Movie is one movie as of Version.
type Movie struct {
	ID          string
	Name        string
	Type        string
	Synopsis    string
	MPARating   string
	ReleaseDate string // YYYY-MM-DD
	Rating      float64
	Image       string
	Actors      []Ref
	Creators    []Ref
	Categories  []Ref
	Tags        []Ref
	Notify      bool
	Version     int64
	Deleted     bool
}

// Refs returns the movie's reference list for a named kind.
func (m *Movie) Refs(kind string) *[]Ref {
	switch kind {
	case KindActor:
		return &m.Actors
	case KindCreator:
		return &m.Creators
	case KindCategory:
		return &m.Categories
	case KindTag:
		return &m.Tags
	}
	return nil
}

// ReleaseYear is the year of a YYYY-MM-DD date, 0 when the date is not one.
func ReleaseYear(date string) int {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0
	}
	return t.Year()
}

// Video is one playable video of a movie, as of Version. URL is where it
// plays from (by Playback); only the watch endpoint ever hands it out.
type Video struct {
	ID            string
	MovieID       string
	Title         string
	Synopsis      string
	LengthSeconds int32
	URL           string
	Status        string // catalogv1.Video* (upper case)
	Progress      int32  // percent transcoded, while TRANSCODING
	FailureReason string // why FAILED
	Playback      string // catalogv1.Playback*
	PosterURL     string
	Version       int64
	Deleted       bool
}

// MovieDetail is a movie with its videos.
type MovieDetail struct {
	Movie
	Videos []Video
}
