package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Video is a video of a movie: added by URL (READY at once) or uploaded to
// media (UPLOADED -> TRANSCODING -> READY, or FAILED with a reason).
type Video struct {
	ID            string `json:"id"`
	MovieID       string `json:"movieId"`
	Title         string `json:"title"`
	Synopsis      string `json:"synopsis"`
	LengthSeconds int32  `json:"lengthSeconds"`
	URL           string `json:"url"`
	Status        string `json:"status"`
	Progress      int32  `json:"progress"`
	FailureReason string `json:"failureReason,omitempty"`
	Playback      string `json:"playback"`
	PosterURL     string `json:"posterUrl,omitempty"`
}

func videoView(d *catalogv1.Video) Video {
	return Video{ID: d.Id, MovieID: d.MovieId, Title: d.Title, Synopsis: d.Synopsis,
		LengthSeconds: d.LengthSeconds, URL: d.Url, Status: d.Status, Progress: d.Progress,
		FailureReason: d.FailureReason, Playback: d.Playback, PosterURL: d.PosterUrl}
}

// movieLock is the lock a video write shares with its movie's deletion.
// Taking turns with DeleteMovie settles their race here, ahead of the
// transaction: a transaction that fails stalls the outbox (statetx.Store.Lock).
func movieLock(movieID string) []string {
	return []string{statetx.Key(catalogv1.AggregateMovie, movieID)}
}

// requireMovie checks ahead of the transaction, for a clear answer in the
// common case; the database settles races with a deletion (see videoErr).
func (a *App) requireMovie(ctx context.Context, id string) error {
	_, _, err := get[catalogv1.Movie](ctx, a.state, catalogv1.AggregateMovie, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return noMovie(id)
	}
	return err
}

func noMovie(id string) error { return invalid("movieId: no movie with id %q", id) }

// videoErr gives a video write that lost a race with its movie's deletion
// the same answer as the check ahead of it.
func videoErr(err error, movieID string) error {
	if errors.Is(err, catalog.ErrMovieNotLive) {
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
	doc := &catalogv1.Video{Id: uuid.NewString(), MovieId: in.MovieID, Title: in.Title, Synopsis: in.Synopsis,
		LengthSeconds: int32(in.LengthSeconds), Url: in.URL, Status: catalogv1.VideoReady, Playback: catalogv1.PlaybackURL}
	err = a.create(ctx, catalogv1.AggregateVideo, doc, movieLock(in.MovieID), func() error {
		return a.requireMovie(ctx, in.MovieID)
	})
	if err != nil {
		return Video{}, videoErr(err, in.MovieID)
	}
	return videoView(doc), nil
}

// UpdateVideo replaces a video's fields (of a video added by URL: an
// uploaded one's URL is media's, see PutVideoStatus).
func (a *App) UpdateVideo(ctx context.Context, id string, in catalog.VideoInput) (Video, error) {
	in, err := catalog.ValidateVideo(in)
	if err != nil {
		return Video{}, err
	}
	// The lock of the movie it ends up in, as in CreateVideo; one lock call
	// orders its keys, so the movie's comes first, as in DeleteMovie.
	doc, err := update(ctx, a, catalogv1.AggregateVideo, id, catalogv1.ActionUpdated, movieLock(in.MovieID),
		func(doc *catalogv1.Video) error {
			if doc.Playback != "" && doc.Playback != catalogv1.PlaybackURL {
				return invalid("an uploaded video's url and movie are media's: change its title or synopsis by uploading again")
			}
			if in.MovieID != doc.MovieId {
				if err := a.requireMovie(ctx, in.MovieID); err != nil {
					return err
				}
			}
			doc.MovieId, doc.Title, doc.Synopsis = in.MovieID, in.Title, in.Synopsis
			doc.LengthSeconds, doc.Url = int32(in.LengthSeconds), in.URL
			return nil
		})
	if err != nil {
		return Video{}, videoErr(err, in.MovieID)
	}
	return videoView(doc), nil
}

// DeleteVideo removes a video.
func (a *App) DeleteVideo(ctx context.Context, id string) error {
	_, err := update(ctx, a, catalogv1.AggregateVideo, id, catalogv1.ActionDeleted, nil, func(doc *catalogv1.Video) error {
		doc.Deleted = true
		return nil
	})
	return err
}

// GetVideo reads one video.
func (a *App) GetVideo(ctx context.Context, id string) (Video, error) {
	doc, _, err := get[catalogv1.Video](ctx, a.state, catalogv1.AggregateVideo, id)
	if err != nil {
		return Video{}, err
	}
	return videoView(doc), nil
}

// ListVideos pages through videos by title, optionally of one movie.
func (a *App) ListVideos(ctx context.Context, movieID string, p Page) ([]Video, int, error) {
	raws, total, err := a.reads.ListDocs(ctx, catalogv1.AggregateVideo, movieID, p)
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
