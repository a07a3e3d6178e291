package cloudinary

import (
	"context"
	"errors"
	"fmt"
	"os"

	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Sources names where an upload's file is (hls.Store).
type Sources interface {
	Source(videoID string) string
}

// Transcoder is media's Cloudinary backend as an app.Transcoder: it uploads
// the source (chunked) and returns a Pending result. The video is READY
// only when the eager notification says so (the app's Notified).
type Transcoder struct {
	Client *Client
	Files  Sources
}

// uploadedProgress is the progress reported once Cloudinary has the file:
// it says nothing of the eager job's progress.
const uploadedProgress = 50

// Transcode uploads videoID's source. Cloudinary refusing it (an APIError),
// or a source that is gone, is final; anything else (the network, an answer
// that is not Cloudinary's) wraps job.ErrTransient and is tried again.
func (t Transcoder) Transcode(ctx context.Context, videoID string, progress func(int)) (job.Result, error) {
	src := t.Files.Source(videoID)
	if _, err := os.Stat(src); err != nil {
		return job.Result{}, fmt.Errorf("the uploaded file is gone: %w", err)
	}
	up, err := t.Client.Upload(ctx, videoID, src)
	var api *APIError
	switch {
	case errors.As(err, &api), errors.Is(err, ErrInvalidVideoID):
		return job.Result{}, err
	case err != nil:
		return job.Result{}, fmt.Errorf("%w: %w", job.ErrTransient, err)
	}
	progress(uploadedProgress)
	return job.Result{Playback: catalogv1.PlaybackCloudinary, Pending: true, RemoteVersion: int64(up.Version)}, nil
}
