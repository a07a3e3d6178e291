package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Movie is a movie as admins see it (names of references are current).
type Movie struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Synopsis    string   `json:"synopsis"`
	MPARating   string   `json:"mpaRating"`
	ReleaseDate string   `json:"releaseDate"`
	Rating      float64  `json:"rating"`
	Image       string   `json:"image"`
	Actors      []Named  `json:"actors"`
	Creators    []Named  `json:"creators"`
	Categories  []Named  `json:"categories"`
	Tags        []Named  `json:"tags"`
	Videos      *[]Video `json:"videos,omitempty"` // detail only; lists leave it out
	Notify      bool     `json:"notify"`
}

var refKinds = []catalog.Kind{catalog.Actor, catalog.Creator, catalog.Category, catalog.Tag}

func movieRefs(doc *catalogv1.Movie, kind catalog.Kind) *[]*catalogv1.Ref {
	switch kind {
	case catalog.Actor:
		return &doc.Actors
	case catalog.Creator:
		return &doc.Creators
	case catalog.Category:
		return &doc.Categories
	default:
		return &doc.Tags
	}
}

// resolve turns the references of a validated movie into live entries, in the
// order given, without duplicates. A reference to nothing is a client error.
func (a *App) resolve(ctx context.Context, m catalog.Movie, doc *catalogv1.Movie) error {
	for _, kind := range refKinds {
		refs := m.Refs[kind]
		var ids, names []string
		for _, r := range refs {
			if r.ID != "" {
				ids = append(ids, r.ID)
			} else {
				names = append(names, r.Name)
			}
		}
		var found []Entry
		if len(refs) > 0 {
			var err error
			if found, err = a.reads.ResolveRefs(ctx, string(kind), ids, names); err != nil {
				return err
			}
		}
		byID, byName := map[string]Entry{}, map[string]Entry{}
		for _, n := range found {
			byID[n.ID] = n
			byName[strings.ToLower(n.Name)] = n
		}
		out, seen := []*catalogv1.Ref{}, map[string]bool{}
		for _, r := range refs {
			n, ok := byID[r.ID]
			if r.ID == "" {
				n, ok = byName[strings.ToLower(r.Name)]
			}
			if !ok {
				if r.ID != "" {
					return invalid("%s: no %s with id %q", catalog.Plural(kind), kind, r.ID)
				}
				return invalid("%s: no %s named %q (create it first)", catalog.Plural(kind), kind, r.Name)
			}
			if !seen[n.ID] {
				seen[n.ID] = true
				out = append(out, &catalogv1.Ref{Id: n.ID, Name: n.Name, Version: n.Version})
			}
		}
		*movieRefs(doc, kind) = out
	}
	return nil
}

func fillMovie(doc *catalogv1.Movie, m catalog.Movie) {
	doc.Name, doc.Type, doc.Synopsis = m.Name, m.Type, m.Synopsis
	doc.MpaRating, doc.ReleaseDate, doc.Rating = m.MPARating, m.ReleaseDate, m.Rating
	doc.Image, doc.Notify = m.Image, m.Notify
}

// CreateMovie adds a movie.
func (a *App) CreateMovie(ctx context.Context, in catalog.MovieInput) (Movie, error) {
	m, err := catalog.ValidateMovie(in)
	if err != nil {
		return Movie{}, err
	}
	doc := &catalogv1.Movie{Id: uuid.NewString()}
	fillMovie(doc, m)
	if err := a.create(ctx, catalogv1.AggregateMovie, doc, nil, func() error { return a.resolve(ctx, m, doc) }); err != nil {
		return Movie{}, err
	}
	return a.detail(ctx, doc)
}

// UpdateMovie replaces a movie's fields.
func (a *App) UpdateMovie(ctx context.Context, id string, in catalog.MovieInput) (Movie, error) {
	m, err := catalog.ValidateMovie(in)
	if err != nil {
		return Movie{}, err
	}
	_, err = update(ctx, a, catalogv1.AggregateMovie, id, catalogv1.ActionUpdated, nil, func(doc *catalogv1.Movie) error {
		fillMovie(doc, m)
		return a.resolve(ctx, m, doc)
	})
	if err != nil {
		return Movie{}, err
	}
	return a.GetMovie(ctx, id)
}

// DeleteMovie removes a movie and its videos in one transaction. The movie's
// tombstone comes first: its row lock orders the race with a new video
// (migrations/002).
func (a *App) DeleteMovie(ctx context.Context, id string) error {
	t := a.begin(ctx, statetx.Key(catalogv1.AggregateMovie, id))
	defer t.end()
	_, err := stage(t, catalogv1.AggregateMovie, id, catalogv1.ActionDeleted, func(doc *catalogv1.Movie) error {
		doc.Deleted = true
		return nil
	})
	if err != nil {
		return err
	}
	keys, err := a.reads.VideoKeys(ctx, id)
	if err != nil {
		return err
	}
	t.lock(keys...)
	for _, key := range keys {
		videoID := strings.TrimPrefix(key, catalogv1.AggregateVideo+":")
		_, err := stage(t, catalogv1.AggregateVideo, videoID, catalogv1.ActionDeleted, func(doc *catalogv1.Video) error {
			doc.Deleted = true
			return nil
		})
		if err != nil && !errors.Is(err, catalog.ErrNotFound) { // a video deleted meanwhile is gone already
			return err
		}
	}
	return t.commit()
}

// GetMovie reads a movie with its videos.
func (a *App) GetMovie(ctx context.Context, id string) (Movie, error) {
	doc, _, err := get[catalogv1.Movie](ctx, a.state, catalogv1.AggregateMovie, id)
	if err != nil {
		return Movie{}, err
	}
	return a.detail(ctx, doc)
}

// ListMovies pages through movies by name (without their videos).
func (a *App) ListMovies(ctx context.Context, p Page) ([]Movie, int, error) {
	raws, total, err := a.reads.ListDocs(ctx, catalogv1.AggregateMovie, "", p)
	if err != nil {
		return nil, 0, err
	}
	docs := make([]*catalogv1.Movie, len(raws))
	for i, raw := range raws {
		docs[i] = &catalogv1.Movie{}
		if err := decode.Unmarshal(raw, docs[i]); err != nil {
			return nil, 0, fmt.Errorf("decode movie: %w", err)
		}
	}
	views, err := a.views(ctx, docs, false)
	if err != nil {
		return nil, 0, err
	}
	return views, total, nil
}

// detail is the view of one movie, with its videos.
func (a *App) detail(ctx context.Context, doc *catalogv1.Movie) (Movie, error) {
	views, err := a.views(ctx, []*catalogv1.Movie{doc}, true)
	if err != nil {
		return Movie{}, err
	}
	return views[0], nil
}

// views renders movies with the current names of their references (a
// renamed actor shows its new name; a deleted one disappears).
func (a *App) views(ctx context.Context, docs []*catalogv1.Movie, withVideos bool) ([]Movie, error) {
	var keys []string
	for _, d := range docs {
		for _, kind := range refKinds {
			for _, r := range *movieRefs(d, kind) {
				keys = append(keys, statetx.Key(string(kind), r.Id))
			}
		}
	}
	names, err := a.reads.CurrentNames(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]Movie, len(docs))
	for i, d := range docs {
		m := Movie{ID: d.Id, Name: d.Name, Type: d.Type, Synopsis: d.Synopsis, MPARating: d.MpaRating,
			ReleaseDate: d.ReleaseDate, Rating: d.Rating, Image: d.Image, Notify: d.Notify}
		for _, kind := range refKinds {
			list := []Named{}
			for _, r := range *movieRefs(d, kind) {
				if name, ok := names[statetx.Key(string(kind), r.Id)]; ok {
					list = append(list, Named{ID: r.Id, Name: name})
				}
			}
			switch kind {
			case catalog.Actor:
				m.Actors = list
			case catalog.Creator:
				m.Creators = list
			case catalog.Category:
				m.Categories = list
			case catalog.Tag:
				m.Tags = list
			}
		}
		if withVideos {
			videos, _, err := a.ListVideos(ctx, d.Id, Page{Page: 1, Size: 1000})
			if err != nil {
				return nil, err
			}
			m.Videos = &videos
		}
		out[i] = m
	}
	return out, nil
}
