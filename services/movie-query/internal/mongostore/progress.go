package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/catalog"
)

type progressDoc struct {
	UserID          string    `bson:"userId"`
	VideoID         string    `bson:"videoId"`
	MovieID         string    `bson:"movieId"`
	PositionSeconds float64   `bson:"positionSeconds"`
	LengthSeconds   int32     `bson:"lengthSeconds"`
	Finished        bool      `bson:"finished"`
	UpdatedAt       time.Time `bson:"updatedAt"`
}

func (d progressDoc) toProgress() catalog.Progress {
	return catalog.Progress{
		UserID: d.UserID, VideoID: d.VideoID, MovieID: d.MovieID,
		PositionSeconds: d.PositionSeconds, LengthSeconds: d.LengthSeconds, UpdatedAt: d.UpdatedAt.UTC(),
	}
}

// WatchableVideo is a live video of a live movie; catalog.ErrNotFound when
// the video is unknown, deleted, of another movie, or its movie is gone.
func (s *Store) WatchableVideo(ctx context.Context, movieID, videoID string) (catalog.Video, catalog.Movie, error) {
	var v videoDoc
	err := s.videos.FindOne(ctx, bson.D{{Key: "_id", Value: videoID}, {Key: "movieId", Value: movieID}, {Key: "deleted", Value: false}}).Decode(&v)
	if isNotFound(err) {
		return catalog.Video{}, catalog.Movie{}, catalog.ErrNotFound
	}
	if err != nil {
		return catalog.Video{}, catalog.Movie{}, fmt.Errorf("read video %s: %w", videoID, err)
	}
	var m movieDoc
	err = s.movies.FindOne(ctx, bson.D{{Key: "_id", Value: movieID}, {Key: "deleted", Value: false}}).Decode(&m)
	if isNotFound(err) {
		return catalog.Video{}, catalog.Movie{}, catalog.ErrNotFound
	}
	if err != nil {
		return catalog.Video{}, catalog.Movie{}, fmt.Errorf("read movie %s: %w", movieID, err)
	}
	return v.toVideo(), m.toMovie(), nil
}

// SaveProgress stores p as the user's position in the video, replacing the
// one saved before (last write wins: positions go back as well as forward
// when a user seeks).
func (s *Store) SaveProgress(ctx context.Context, p catalog.Progress) error {
	filter := bson.D{{Key: "userId", Value: p.UserID}, {Key: "videoId", Value: p.VideoID}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "movieId", Value: p.MovieID},
		{Key: "positionSeconds", Value: p.PositionSeconds},
		{Key: "lengthSeconds", Value: p.LengthSeconds},
		{Key: "finished", Value: catalog.Finished(p.PositionSeconds, p.LengthSeconds)},
		{Key: "updatedAt", Value: p.UpdatedAt.UTC()},
	}}}
	// Two first saves racing both try to insert: the unique index lets
	// one in, and the other then finds it and updates it.
	var err error
	for range 2 {
		if _, err = s.progress.UpdateOne(ctx, filter, update, options.Update().SetUpsert(true)); !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("save progress of video %s: %w", p.VideoID, err)
	}
	return nil
}

// Progress is the user's saved position in a video; found is false when
// there is none.
func (s *Store) Progress(ctx context.Context, userID, videoID string) (_ catalog.Progress, found bool, err error) {
	var d progressDoc
	err = s.progress.FindOne(ctx, bson.D{{Key: "userId", Value: userID}, {Key: "videoId", Value: videoID}}).Decode(&d)
	if isNotFound(err) {
		return catalog.Progress{}, false, nil
	}
	if err != nil {
		return catalog.Progress{}, false, fmt.Errorf("read progress of video %s: %w", videoID, err)
	}
	return d.toProgress(), true, nil
}

// InProgress is one page of the user's unfinished videos, the most recently
// watched first. The progress of deleted videos and movies is removed by
// their events (forgetProgress); one that slipped in meanwhile (a save racing
// the deletion) is left out here too, so a page may then be one short.
func (s *Store) InProgress(ctx context.Context, userID string, q catalog.PageQuery) (catalog.InProgressPage, error) {
	filter := bson.D{{Key: "userId", Value: userID}, {Key: "finished", Value: false}}
	cur, err := s.progress.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "updatedAt", Value: -1}, {Key: "videoId", Value: 1}}).
		SetSkip(int64(q.Page-1)*int64(q.Size)).
		SetLimit(int64(q.Size)))
	if err != nil {
		return catalog.InProgressPage{}, fmt.Errorf("list progress: %w", err)
	}
	var docs []progressDoc
	if err := cur.All(ctx, &docs); err != nil {
		return catalog.InProgressPage{}, fmt.Errorf("read progress: %w", err)
	}
	total, err := s.progress.CountDocuments(ctx, filter)
	if err != nil {
		return catalog.InProgressPage{}, fmt.Errorf("count progress: %w", err)
	}
	videoIDs := make([]string, 0, len(docs))
	for _, d := range docs {
		videoIDs = append(videoIDs, d.VideoID)
	}
	videos, err := liveByID(ctx, s.videos, videoIDs, func(d videoDoc) string { return d.ID })
	if err != nil {
		return catalog.InProgressPage{}, err
	}
	movieIDs := make([]string, 0, len(videos))
	for _, v := range videos {
		movieIDs = append(movieIDs, v.MovieID)
	}
	movies, err := liveByID(ctx, s.movies, movieIDs, func(d movieDoc) string { return d.ID })
	if err != nil {
		return catalog.InProgressPage{}, err
	}
	page := catalog.InProgressPage{Items: make([]catalog.InProgress, 0, len(docs)), Total: total}
	for _, d := range docs {
		v, ok := videos[d.VideoID]
		if !ok {
			continue
		}
		m, ok := movies[v.MovieID]
		if !ok {
			continue
		}
		p := d.toProgress()
		p.MovieID = v.MovieID
		page.Items = append(page.Items, catalog.InProgress{Progress: p, MovieName: m.Name, VideoTitle: v.Title, PosterURL: v.PosterURL})
	}
	return page, nil
}

// liveByID reads the live documents of coll with the given ids, by the id
// that key gives.
func liveByID[D any](ctx context.Context, coll *mongo.Collection, ids []string, key func(D) string) (map[string]D, error) {
	out := make(map[string]D, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "deleted", Value: false}})
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", coll.Name(), err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), err)
	}
	for _, d := range docs {
		out[key(d)] = d
	}
	return out, nil
}

// forgetProgress removes every user's progress in a deleted video or movie
// (field "videoId" or "movieId"): it can never be watched again.
func (s *Store) forgetProgress(ctx context.Context, field, id string) error {
	if _, err := s.progress.DeleteMany(ctx, bson.D{{Key: field, Value: id}}); err != nil {
		return fmt.Errorf("forget progress of %s %s: %w", field, id, err)
	}
	return nil
}
