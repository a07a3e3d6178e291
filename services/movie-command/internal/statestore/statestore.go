// Package statestore writes the catalog through the Dapr state store
// "catalog-state" (PostgreSQL, outbox enabled): each upsert of a transaction
// is also published to the catalog topic once the transaction commits, with
// the stored document as the event data and the write's CloudEvent type.
package statestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/sidecar"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/catalog"
)

// Constraints of the migrations, named in the error text daprd returns.
const (
	uniqueNameIndex = "catalog_named_unique_name"    // 001: unique names
	videoMovieLive  = "catalog_video_movie_live"     // 002: a live video's movie is live
	movieNoVideos   = "catalog_movie_no_live_videos" // 002: a deleted movie has no live video
	// deadlockDetected is PostgreSQL's SQLSTATE for a transaction it aborted
	// to break a deadlock with another one: retrying may succeed.
	deadlockDetected = "SQLSTATE 40P01"
)

// ErrMovieNotLive: a video was written for a movie that is missing or was
// deleted meanwhile (the database checks it at commit).
var ErrMovieNotLive = errors.New("the video's movie is missing or deleted")

var (
	marshal   = protojson.MarshalOptions{EmitUnpopulated: true}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Store is the catalog's write side (app.State).
type Store struct {
	dapr *sidecar.Client
	name string
}

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *Store {
	return &Store{dapr: dapr, name: name}
}

// Get reads an aggregate into msg and returns its ETag. A missing key is
// catalog.ErrNotFound; tombstones are returned as stored (callers check).
func (s *Store) Get(ctx context.Context, key string, msg proto.Message) (string, error) {
	raw, etag, err := s.dapr.GetState(ctx, s.name, key)
	if errors.Is(err, sidecar.ErrNotFound) {
		return "", catalog.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if err := unmarshal.Unmarshal(raw, msg); err != nil {
		return "", fmt.Errorf("decode %s: %w", key, err)
	}
	return etag, nil
}

// Commit runs the writes in one transaction (and so publishes their events).
func (s *Store) Commit(ctx context.Context, writes ...app.Write) error {
	ops := make([]sidecar.Op, 0, len(writes))
	for _, w := range writes {
		b, err := marshal.Marshal(w.Doc)
		if err != nil {
			return fmt.Errorf("encode %s: %w", w.Key, err)
		}
		ops = append(ops, sidecar.Op{
			Operation: "upsert",
			Request: sidecar.OpRequest{
				Key:         w.Key,
				Value:       json.RawMessage(b),
				ETag:        w.ETag,
				ContentType: "application/json",
				// Operation metadata becomes CloudEvent attributes: the type.
				Metadata: map[string]string{"type": w.EventType},
				Options:  &sidecar.OpOptions{Concurrency: "first-write", Consistency: "strong"},
			},
		})
	}
	return commitErr(s.dapr.Transact(ctx, s.name, ops))
}

// commitErr translates a failed transaction into the catalog's errors by
// the constraint that daprd's error text names.
func commitErr(err error) error {
	var apiErr *sidecar.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sidecar.ErrETagMismatch):
		return catalog.ErrConflict
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Message, uniqueNameIndex):
		return catalog.ErrNameTaken
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Message, videoMovieLive):
		return catalog.ErrMovieNotLive
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Message, movieNoVideos):
		return fmt.Errorf("%w: a video was added to the movie meanwhile", catalog.ErrConflict)
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Message, deadlockDetected):
		return fmt.Errorf("%w: %s", catalog.ErrConflict, apiErr.Message)
	default:
		return err
	}
}
