package mongostore

import (
	"strings"

	"tenflix/services/movie-query/internal/catalog"
)

type namedDoc struct {
	ID      string `bson:"_id"`
	Kind    string `bson:"kind"`
	Name    string `bson:"name"`
	Version int64  `bson:"version"`
	Deleted bool   `bson:"deleted"`
}

func (d namedDoc) toNamed() catalog.Named {
	return catalog.Named{Kind: d.Kind, ID: d.ID, Name: d.Name, Version: d.Version, Deleted: d.Deleted}
}

// refDoc is an embedded ref; V is the version of the named entry Name came from.
type refDoc struct {
	ID   string `bson:"id"`
	Name string `bson:"name"`
	V    int64  `bson:"v"`
}

// movieDoc omits an empty _id and a zero rev so that movieFields can be $set
// as is.
type movieDoc struct {
	ID          string   `bson:"_id,omitempty"`
	Name        string   `bson:"name"`
	NameLower   string   `bson:"nameLower"`
	Type        string   `bson:"type"`
	Synopsis    string   `bson:"synopsis"`
	MPARating   string   `bson:"mpaRating"`
	ReleaseDate string   `bson:"releaseDate"`
	ReleaseYear int      `bson:"releaseYear"`
	Rating      float64  `bson:"rating"`
	Image       string   `bson:"image"`
	Actors      []refDoc `bson:"actors"`
	Creators    []refDoc `bson:"creators"`
	Categories  []refDoc `bson:"categories"`
	Tags        []refDoc `bson:"tags"`
	Notify      bool     `bson:"notify"`
	Version     int64    `bson:"version"`
	Deleted     bool     `bson:"deleted"`
	Rev         int64    `bson:"rev,omitempty"`
}

func (d movieDoc) toMovie() catalog.Movie {
	return catalog.Movie{
		ID:          d.ID,
		Name:        d.Name,
		Type:        d.Type,
		Synopsis:    d.Synopsis,
		MPARating:   d.MPARating,
		ReleaseDate: d.ReleaseDate,
		Rating:      d.Rating,
		Image:       d.Image,
		Actors:      toRefs(d.Actors),
		Creators:    toRefs(d.Creators),
		Categories:  toRefs(d.Categories),
		Tags:        toRefs(d.Tags),
		Notify:      d.Notify,
		Version:     d.Version,
		Deleted:     d.Deleted,
	}
}

// movieFields are the fields a movie event sets (all but _id and rev).
func movieFields(m catalog.Movie) movieDoc {
	return movieDoc{
		Name:        m.Name,
		NameLower:   strings.ToLower(m.Name),
		Type:        m.Type,
		Synopsis:    m.Synopsis,
		MPARating:   m.MPARating,
		ReleaseDate: m.ReleaseDate,
		ReleaseYear: catalog.ReleaseYear(m.ReleaseDate),
		Rating:      m.Rating,
		Image:       m.Image,
		Actors:      fromRefs(m.Actors),
		Creators:    fromRefs(m.Creators),
		Categories:  fromRefs(m.Categories),
		Tags:        fromRefs(m.Tags),
		Notify:      m.Notify,
		Version:     m.Version,
		Deleted:     false,
	}
}

func toRefs(ds []refDoc) []catalog.Ref {
	out := make([]catalog.Ref, 0, len(ds))
	for _, d := range ds {
		out = append(out, catalog.Ref{ID: d.ID, Name: d.Name, Version: d.V})
	}
	return out
}

// fromRefs never returns nil: a nil slice would be stored as null, not [].
func fromRefs(rs []catalog.Ref) []refDoc {
	out := make([]refDoc, 0, len(rs))
	for _, r := range rs {
		out = append(out, refDoc{ID: r.ID, Name: r.Name, V: r.Version})
	}
	return out
}

type videoDoc struct {
	ID            string `bson:"_id"`
	MovieID       string `bson:"movieId"`
	Title         string `bson:"title"`
	Synopsis      string `bson:"synopsis"`
	LengthSeconds int32  `bson:"lengthSeconds"`
	URL           string `bson:"url"`
	Status        string `bson:"status"`
	Progress      int32  `bson:"progress"`
	FailureReason string `bson:"failureReason"`
	Playback      string `bson:"playback"`
	PosterURL     string `bson:"posterUrl"`
	Version       int64  `bson:"version"`
	Deleted       bool   `bson:"deleted"`
}

func (d videoDoc) toVideo() catalog.Video {
	return catalog.Video{
		ID: d.ID, MovieID: d.MovieID, Title: d.Title, Synopsis: d.Synopsis,
		LengthSeconds: d.LengthSeconds, URL: d.URL, Status: d.Status,
		Progress: d.Progress, FailureReason: d.FailureReason, Playback: d.Playback, PosterURL: d.PosterURL,
		Version: d.Version, Deleted: d.Deleted,
	}
}

// refsField is the movie field holding refs of a named kind.
func refsField(kind string) (string, bool) {
	switch kind {
	case catalog.KindActor:
		return "actors", true
	case catalog.KindCreator:
		return "creators", true
	case catalog.KindCategory:
		return "categories", true
	case catalog.KindTag:
		return "tags", true
	}
	return "", false
}
