// Package moviecommand is media's client of movie-command's internal API,
// through Dapr service invocation (app.Catalog).
package moviecommand

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"tenflix/platform/sidecar"
	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// AppID is movie-command's Dapr app id.
const AppID = "movie-command"

// Invoker is the sidecar's service invocation (sidecar.Client).
type Invoker interface {
	InvokeJSON(ctx context.Context, httpMethod, appID, method string, in, out any) error
}

// Client calls movie-command.
type Client struct{ dapr Invoker }

// New returns a client over the sidecar.
func New(dapr Invoker) *Client { return &Client{dapr: dapr} }

// MovieExists is nil for a live movie, job.ErrMovieNotFound otherwise.
func (c *Client) MovieExists(ctx context.Context, movieID string) error {
	return translate(c.dapr.InvokeJSON(ctx, http.MethodGet, AppID, catalogv1.MoviePath(movieID), nil, nil), movieID)
}

// PutVideo sends a video's status: job.ErrMovieNotFound when its movie is
// gone, job.ErrRefused when movie-command refuses the status.
func (c *Client) PutVideo(ctx context.Context, movieID, videoID string, v catalogv1.VideoStatus) error {
	return translate(c.dapr.InvokeJSON(ctx, http.MethodPut, AppID, catalogv1.VideoStatusPath(movieID, videoID), v, nil), movieID)
}

func translate(err error, movieID string) error {
	var api *sidecar.APIError
	if errors.As(err, &api) {
		switch api.Status {
		case http.StatusNotFound:
			return fmt.Errorf("movie %s: %w", movieID, job.ErrMovieNotFound)
		case http.StatusConflict:
			return fmt.Errorf("%w: %s", job.ErrRefused, api.Code())
		}
	}
	return err
}
