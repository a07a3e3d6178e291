package app

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// ErrNotUploaded: a status report for a video added by URL.
var ErrNotUploaded = errors.New("the video was added by URL, not uploaded")

// MovieLive is nil for a live movie, catalog.ErrNotFound otherwise (media
// asks before it accepts an upload).
func (a *App) MovieLive(ctx context.Context, movieID string) error {
	_, _, err := get[catalogv1.Movie](ctx, a.state, catalogv1.AggregateMovie, movieID)
	return err
}

// PutVideoStatus records media's report of an uploaded video: it creates
// the video (video.created) or updates it (video.updated), idempotently (the
// same report again commits nothing), in status order
// (catalog.VideoStatusOrder: ErrStatusOrder otherwise). A missing or deleted
// movie, or a deleted video, is catalog.ErrNotFound: a video is never
// revived by a late report.
func (a *App) PutVideoStatus(ctx context.Context, in catalog.VideoStatusInput) (Video, error) {
	in, err := catalog.ValidateVideoStatus(in)
	if err != nil {
		return Video{}, err
	}
	var existing catalogv1.Video
	_, err = a.state.Get(ctx, statetx.Key(catalogv1.AggregateVideo, in.VideoID), &existing)
	switch {
	case errors.Is(err, statetx.ErrNotFound):
		v, err := a.createUploaded(ctx, in)
		if !errors.Is(err, catalog.ErrConflict) {
			return v, err
		}
		// Created meanwhile by a report that overtook this one: update it.
	case err != nil:
		return Video{}, err
	}
	doc, err := update(ctx, a, catalogv1.AggregateVideo, in.VideoID, catalogv1.ActionUpdated, movieLock(in.MovieID),
		func(doc *catalogv1.Video) error {
			if doc.MovieId != in.MovieID {
				return notFound("video", in.VideoID) // of another movie
			}
			if doc.Playback == catalogv1.PlaybackURL || (doc.Playback == "" && doc.Status == catalogv1.VideoReady) {
				return ErrNotUploaded
			}
			if err := catalog.VideoStatusOrder(doc.Status, in.Status); err != nil {
				return err
			}
			before := proto.Clone(doc)
			applyStatus(doc, in)
			if proto.Equal(before, doc) {
				return errUnchanged
			}
			return nil
		})
	if err != nil {
		return Video{}, err
	}
	return videoView(doc), nil
}

func (a *App) createUploaded(ctx context.Context, in catalog.VideoStatusInput) (Video, error) {
	doc := &catalogv1.Video{Id: in.VideoID, MovieId: in.MovieID}
	applyStatus(doc, in)
	keys := append(movieLock(in.MovieID), statetx.Key(catalogv1.AggregateVideo, in.VideoID))
	err := a.create(ctx, catalogv1.AggregateVideo, doc, keys, func() error { return a.MovieLive(ctx, in.MovieID) })
	if errors.Is(err, catalog.ErrMovieNotLive) {
		err = fmt.Errorf("movie %s: %w", in.MovieID, catalog.ErrNotFound)
	}
	if err != nil {
		return Video{}, err
	}
	return videoView(doc), nil
}

// applyStatus copies a report onto the document. Where it plays from is
// kept from an earlier report when this one does not say (a retry's
// UPLOADED does not unset a poster it will make again).
func applyStatus(doc *catalogv1.Video, in catalog.VideoStatusInput) {
	doc.Title, doc.Synopsis, doc.Status = in.Title, in.Synopsis, in.Status
	doc.Progress, doc.FailureReason = int32(in.Progress), in.FailureReason
	if in.LengthSeconds > 0 {
		doc.LengthSeconds = int32(in.LengthSeconds)
	}
	if in.Playback != "" {
		doc.Playback = in.Playback
	}
	if in.URL != "" {
		doc.Url = in.URL
	}
	if in.PosterURL != "" {
		doc.PosterUrl = in.PosterURL
	}
}
