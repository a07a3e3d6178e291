// Package app holds movie-command's use cases: validate, resolve references,
// and commit each change with its event in one Dapr state transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/services/movie-command/internal/catalog"
	"tenflix/services/movie-command/internal/postgres"
	"tenflix/services/movie-command/internal/statestore"

	catalogv1 "tenflix/proto/catalog/v1"
)

// App is the catalog's write side.
type App struct {
	state *statestore.Store
	db    *postgres.DB
	locks keyLocks
}

// nameKey is the lock of a name within a kind.
func nameKey(kind catalog.Kind, name string) string {
	return "name:" + string(kind) + ":" + strings.ToLower(name)
}

// New wires the state store (writes) and SQL (reads).
func New(state *statestore.Store, db *postgres.DB) *App {
	return &App{state: state, db: db}
}

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, catalog.ErrNotFound)
}

func invalid(format string, args ...any) error {
	return &catalog.ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// ---- actors, creators, categories, tags ----

// Named is an actor, creator, category or tag as admins see it.
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// document is a stored aggregate; deleted ones stay as tombstones.
type document interface {
	proto.Message
	GetDeleted() bool
}

// getLive reads the aggregate kind:id into doc and returns its ETag; a
// missing or deleted one is catalog.ErrNotFound.
func getLive(ctx context.Context, state *statestore.Store, kind, id string, doc document) (string, error) {
	etag, err := state.Get(ctx, statestore.Key(kind, id), doc)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && doc.GetDeleted()) {
		return "", notFound(kind, id)
	}
	return etag, err
}

func (a *App) getNamed(ctx context.Context, kind catalog.Kind, id string) (*catalogv1.Named, string, error) {
	var doc catalogv1.Named
	etag, err := getLive(ctx, a.state, string(kind), id, &doc)
	return &doc, etag, err
}

// nameTaken checks the name ahead of the transaction, for a clear answer in
// the common case; the unique index settles races.
func (a *App) nameTaken(ctx context.Context, kind catalog.Kind, name, exceptID string) error {
	found, err := a.db.ResolveRefs(ctx, string(kind), nil, []string{name})
	if err != nil {
		return err
	}
	for _, n := range found {
		if n.ID != exceptID {
			return catalog.ErrNameTaken
		}
	}
	return nil
}

// CreateNamed adds an entry with a new, unique name.
func (a *App) CreateNamed(ctx context.Context, kind catalog.Kind, name string) (Named, error) {
	name, err := catalog.Name("name", name)
	if err != nil {
		return Named{}, err
	}
	defer a.locks.lock(nameKey(kind, name))()
	if err := a.nameTaken(ctx, kind, name, ""); err != nil {
		return Named{}, err
	}
	doc := &catalogv1.Named{Kind: string(kind), Id: uuid.NewString(), Name: name, Version: 1}
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key(string(kind), doc.Id), Doc: doc, Create: true,
		EventType: catalogv1.EventType(string(kind), catalogv1.ActionCreated),
	})
	if err != nil {
		return Named{}, err
	}
	return Named{ID: doc.Id, Name: doc.Name}, nil
}

// RenameNamed changes an entry's name; renaming to the same name is a no-op.
func (a *App) RenameNamed(ctx context.Context, kind catalog.Kind, id, name string) (Named, error) {
	name, err := catalog.Name("name", name)
	if err != nil {
		return Named{}, err
	}
	defer a.locks.lock(statestore.Key(string(kind), id), nameKey(kind, name))()
	doc, etag, err := a.getNamed(ctx, kind, id)
	if err != nil {
		return Named{}, err
	}
	if doc.Name == name {
		return Named{ID: doc.Id, Name: doc.Name}, nil
	}
	if err := a.nameTaken(ctx, kind, name, id); err != nil {
		return Named{}, err
	}
	doc.Name = name
	doc.Version++
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key(string(kind), id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(string(kind), catalogv1.ActionRenamed),
	})
	if err != nil {
		return Named{}, err
	}
	return Named{ID: doc.Id, Name: doc.Name}, nil
}

// DeleteNamed removes an entry; movies that referenced it stop showing it.
func (a *App) DeleteNamed(ctx context.Context, kind catalog.Kind, id string) error {
	defer a.locks.lock(statestore.Key(string(kind), id))()
	doc, etag, err := a.getNamed(ctx, kind, id)
	if err != nil {
		return err
	}
	doc.Deleted = true
	doc.Version++
	return a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key(string(kind), id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(string(kind), catalogv1.ActionDeleted),
	})
}

// GetNamed reads one entry.
func (a *App) GetNamed(ctx context.Context, kind catalog.Kind, id string) (Named, error) {
	doc, _, err := a.getNamed(ctx, kind, id)
	if err != nil {
		return Named{}, err
	}
	return Named{ID: doc.Id, Name: doc.Name}, nil
}

// ListNamed pages through the entries of a kind by name.
func (a *App) ListNamed(ctx context.Context, kind catalog.Kind, q string, p postgres.Page) ([]Named, int, error) {
	rows, total, err := a.db.ListNamed(ctx, string(kind), q, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Named, len(rows))
	for i, r := range rows {
		out[i] = Named{ID: r.ID, Name: r.Name}
	}
	return out, total, nil
}

// ---- movies ----

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

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

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
		var found []postgres.Named
		if len(refs) > 0 {
			var err error
			if found, err = a.db.ResolveRefs(ctx, string(kind), ids, names); err != nil {
				return err
			}
		}
		byID, byName := map[string]postgres.Named{}, map[string]postgres.Named{}
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

func (a *App) getMovie(ctx context.Context, id string) (*catalogv1.Movie, string, error) {
	var doc catalogv1.Movie
	etag, err := getLive(ctx, a.state, catalogv1.AggregateMovie, id, &doc)
	return &doc, etag, err
}

// CreateMovie adds a movie.
func (a *App) CreateMovie(ctx context.Context, in catalog.MovieInput) (Movie, error) {
	m, err := catalog.ValidateMovie(in)
	if err != nil {
		return Movie{}, err
	}
	doc := &catalogv1.Movie{Id: uuid.NewString(), Version: 1}
	fillMovie(doc, m)
	if err := a.resolve(ctx, m, doc); err != nil {
		return Movie{}, err
	}
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key("movie", doc.Id), Doc: doc, Create: true,
		EventType: catalogv1.EventType(catalogv1.AggregateMovie, catalogv1.ActionCreated),
	})
	if err != nil {
		return Movie{}, err
	}
	views, err := a.views(ctx, []*catalogv1.Movie{doc}, true)
	if err != nil {
		return Movie{}, err
	}
	return views[0], nil
}

// UpdateMovie replaces a movie's fields.
func (a *App) UpdateMovie(ctx context.Context, id string, in catalog.MovieInput) (Movie, error) {
	m, err := catalog.ValidateMovie(in)
	if err != nil {
		return Movie{}, err
	}
	unlock := a.locks.lock(statestore.Key("movie", id))
	defer unlock()
	doc, etag, err := a.getMovie(ctx, id)
	if err != nil {
		return Movie{}, err
	}
	fillMovie(doc, m)
	if err := a.resolve(ctx, m, doc); err != nil {
		return Movie{}, err
	}
	doc.Version++
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key("movie", id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(catalogv1.AggregateMovie, catalogv1.ActionUpdated),
	})
	if err != nil {
		return Movie{}, err
	}
	unlock()
	return a.GetMovie(ctx, id)
}

// DeleteMovie removes a movie and its videos in one transaction.
func (a *App) DeleteMovie(ctx context.Context, id string) error {
	defer a.locks.lock(statestore.Key("movie", id))()
	doc, etag, err := a.getMovie(ctx, id)
	if err != nil {
		return err
	}
	doc.Deleted = true
	doc.Version++
	writes := []statestore.Write{{
		Key: statestore.Key("movie", id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(catalogv1.AggregateMovie, catalogv1.ActionDeleted),
	}}
	keys, err := a.db.VideoKeys(ctx, id)
	if err != nil {
		return err
	}
	defer a.locks.lock(keys...)()
	for _, key := range keys {
		var v catalogv1.Video
		vetag, err := a.state.Get(ctx, key, &v)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		v.Deleted = true
		v.Version++
		writes = append(writes, statestore.Write{
			Key: key, Doc: &v, ETag: vetag,
			EventType: catalogv1.EventType(catalogv1.AggregateVideo, catalogv1.ActionDeleted),
		})
	}
	return a.state.Commit(ctx, writes...)
}

// GetMovie reads a movie with its videos.
func (a *App) GetMovie(ctx context.Context, id string) (Movie, error) {
	doc, _, err := a.getMovie(ctx, id)
	if err != nil {
		return Movie{}, err
	}
	views, err := a.views(ctx, []*catalogv1.Movie{doc}, true)
	if err != nil {
		return Movie{}, err
	}
	return views[0], nil
}

// ListMovies pages through movies by name (without their videos).
func (a *App) ListMovies(ctx context.Context, p postgres.Page) ([]Movie, int, error) {
	raws, total, err := a.db.ListDocs(ctx, catalogv1.AggregateMovie, "", p)
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

// views renders movies with the current names of their references (a
// renamed actor shows its new name; a deleted one disappears).
func (a *App) views(ctx context.Context, docs []*catalogv1.Movie, withVideos bool) ([]Movie, error) {
	var keys []string
	for _, d := range docs {
		for _, kind := range refKinds {
			for _, r := range *movieRefs(d, kind) {
				keys = append(keys, statestore.Key(string(kind), r.Id))
			}
		}
	}
	names, err := a.db.CurrentNames(ctx, keys)
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
				if name, ok := names[statestore.Key(string(kind), r.Id)]; ok {
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
			videos, _, err := a.ListVideos(ctx, d.Id, postgres.Page{Page: 1, Size: 1000})
			if err != nil {
				return nil, err
			}
			m.Videos = &videos
		}
		out[i] = m
	}
	return out, nil
}

// ---- videos ----

// Video is a playable video of a movie.
type Video struct {
	ID            string `json:"id"`
	MovieID       string `json:"movieId"`
	Title         string `json:"title"`
	Synopsis      string `json:"synopsis"`
	LengthSeconds int32  `json:"lengthSeconds"`
	URL           string `json:"url"`
	Status        string `json:"status"`
}

// VideoReady is the status of a video that can be played.
const VideoReady = "ready"

func videoView(d *catalogv1.Video) Video {
	return Video{ID: d.Id, MovieID: d.MovieId, Title: d.Title, Synopsis: d.Synopsis,
		LengthSeconds: d.LengthSeconds, URL: d.Url, Status: d.Status}
}

func (a *App) getVideo(ctx context.Context, id string) (*catalogv1.Video, string, error) {
	var doc catalogv1.Video
	etag, err := getLive(ctx, a.state, catalogv1.AggregateVideo, id, &doc)
	return &doc, etag, err
}

// requireMovie checks ahead of the transaction, for a clear answer in the
// common case; the database settles races with a deletion (see videoErr).
func (a *App) requireMovie(ctx context.Context, id string) error {
	_, _, err := a.getMovie(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return noMovie(id)
	}
	return err
}

func noMovie(id string) error { return invalid("movieId: no movie with id %q", id) }

// videoErr gives a video write that lost a race with its movie's deletion
// the same answer as the check ahead of it.
func videoErr(err error, movieID string) error {
	if errors.Is(err, statestore.ErrMovieNotLive) {
		return noMovie(movieID)
	}
	return err
}

// CreateVideo adds a video (by URL) to a movie.
func (a *App) CreateVideo(ctx context.Context, in catalog.VideoInput) (Video, error) {
	in, err := catalog.ValidateVideo(in)
	if err != nil {
		return Video{}, err
	}
	// Taking turns with DeleteMovie settles the race here, ahead of the
	// transaction: a transaction that fails stalls the outbox (keyLocks).
	defer a.locks.lock(statestore.Key("movie", in.MovieID))()
	if err := a.requireMovie(ctx, in.MovieID); err != nil {
		return Video{}, err
	}
	doc := &catalogv1.Video{Id: uuid.NewString(), MovieId: in.MovieID, Title: in.Title, Synopsis: in.Synopsis,
		LengthSeconds: int32(in.LengthSeconds), Url: in.URL, Status: VideoReady, Version: 1}
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key("video", doc.Id), Doc: doc, Create: true,
		EventType: catalogv1.EventType(catalogv1.AggregateVideo, catalogv1.ActionCreated),
	})
	if err != nil {
		return Video{}, videoErr(err, in.MovieID)
	}
	return videoView(doc), nil
}

// UpdateVideo replaces a video's fields.
func (a *App) UpdateVideo(ctx context.Context, id string, in catalog.VideoInput) (Video, error) {
	in, err := catalog.ValidateVideo(in)
	if err != nil {
		return Video{}, err
	}
	// The movie's lock too, as in CreateVideo; lock orders the keys, so the
	// movie's comes first, as in DeleteMovie.
	defer a.locks.lock(statestore.Key("video", id), statestore.Key("movie", in.MovieID))()
	doc, etag, err := a.getVideo(ctx, id)
	if err != nil {
		return Video{}, err
	}
	if in.MovieID != doc.MovieId {
		if err := a.requireMovie(ctx, in.MovieID); err != nil {
			return Video{}, err
		}
	}
	doc.MovieId, doc.Title, doc.Synopsis = in.MovieID, in.Title, in.Synopsis
	doc.LengthSeconds, doc.Url = int32(in.LengthSeconds), in.URL
	doc.Version++
	err = a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key("video", id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(catalogv1.AggregateVideo, catalogv1.ActionUpdated),
	})
	if err != nil {
		return Video{}, videoErr(err, in.MovieID)
	}
	return videoView(doc), nil
}

// DeleteVideo removes a video.
func (a *App) DeleteVideo(ctx context.Context, id string) error {
	defer a.locks.lock(statestore.Key("video", id))()
	doc, etag, err := a.getVideo(ctx, id)
	if err != nil {
		return err
	}
	doc.Deleted = true
	doc.Version++
	return a.state.Commit(ctx, statestore.Write{
		Key: statestore.Key("video", id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(catalogv1.AggregateVideo, catalogv1.ActionDeleted),
	})
}

// GetVideo reads one video.
func (a *App) GetVideo(ctx context.Context, id string) (Video, error) {
	doc, _, err := a.getVideo(ctx, id)
	if err != nil {
		return Video{}, err
	}
	return videoView(doc), nil
}

// ListVideos pages through videos by title, optionally of one movie.
func (a *App) ListVideos(ctx context.Context, movieID string, p postgres.Page) ([]Video, int, error) {
	raws, total, err := a.db.ListDocs(ctx, catalogv1.AggregateVideo, movieID, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Video, len(raws))
	for i, raw := range raws {
		var d catalogv1.Video
		if err := decode.Unmarshal(raw, &d); err != nil {
			return nil, 0, fmt.Errorf("decode video: %w", err)
		}
		out[i] = videoView(&d)
	}
	return out, total, nil
}
