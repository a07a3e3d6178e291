// Package statestore is the catalog's Dapr state store "catalog-state"
// (PostgreSQL, outbox enabled: each upsert is published to the catalog
// topic) with the constraints of the migrations translated into the
// catalog's errors.
package statestore

import (
	"fmt"

	"tenflix/platform/sidecar"
	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"
)

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *statetx.Store {
	return statetx.New(dapr, name, statetx.Options{Constraints: constraints})
}

// constraints of the migrations, by the name daprd's error text gives them.
var constraints = map[string]error{
	// 001: names are unique per kind.
	"catalog_named_unique_name": catalog.ErrNameTaken,
	// 002: a live video's movie is live...
	"catalog_video_movie_live": catalog.ErrMovieNotLive,
	// ...and a deleted movie has no live video.
	"catalog_movie_no_live_videos": fmt.Errorf("%w: a video was added to the movie meanwhile", catalog.ErrConflict),
}
