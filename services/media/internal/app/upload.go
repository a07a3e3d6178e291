package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"

	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// ProbeFunc adapts a function to Prober.
type ProbeFunc func(ctx context.Context, path string) (Source, error)

// Probe calls f.
func (f ProbeFunc) Probe(ctx context.Context, path string) (Source, error) { return f(ctx, path) }

func newWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Upload is one upload being received: the file goes to disk as it
// arrives; Accept or Discard ends it.
type Upload struct {
	app     *App
	MovieID string
	VideoID string
	saved   bool
}

// BeginUpload checks that the movie exists (before a byte of the file is
// read) and names the new video.
func (a *App) BeginUpload(ctx context.Context, movieID string) (*Upload, error) {
	if uuid.Validate(movieID) != nil {
		return nil, fmt.Errorf("movie %q: %w", movieID, job.ErrMovieNotFound)
	}
	if err := a.catalog.MovieExists(ctx, movieID); err != nil {
		return nil, err
	}
	return &Upload{app: a, MovieID: movieID, VideoID: uuid.NewString()}, nil
}

// SaveFile streams the file part to disk (job.ErrTooLarge past the limit).
func (u *Upload) SaveFile(r io.Reader) (int64, error) {
	if u.saved {
		return 0, &job.ValidationError{Msg: "only one file part is accepted"}
	}
	u.saved = true
	return u.app.files.Save(u.VideoID, r)
}

// Discard deletes whatever the upload wrote.
func (u *Upload) Discard() {
	if err := u.app.files.Remove(u.VideoID); err != nil {
		u.app.opt.Log.Warn("discard upload", "video_id", u.VideoID, "err", err)
	}
}

// Accept probes the saved file, records its job durably and has
// movie-command record the video as UPLOADED; only then may the worker take
// it. Anything that fails deletes everything the upload wrote.
func (u *Upload) Accept(ctx context.Context, meta job.Meta) (j job.Job, err error) {
	a := u.app
	defer func() {
		if err != nil {
			u.Discard()
		}
	}()
	meta, err = job.ValidateMeta(meta)
	if err != nil {
		return job.Job{}, err
	}
	if !u.saved {
		return job.Job{}, &job.ValidationError{Msg: "the file part is required"}
	}
	src, err := a.probe.Probe(ctx, a.files.Source(u.VideoID))
	if err != nil {
		return job.Job{}, err
	}
	j = job.Job{VideoID: u.VideoID, MovieID: u.MovieID, Title: meta.Title, Synopsis: meta.Synopsis,
		Status: job.Uploaded, LengthSeconds: int(src.Duration + 0.5)}
	if err := a.jobs.Create(ctx, j); err != nil {
		return job.Job{}, err
	}
	if err := a.hand(ctx, j); err != nil {
		_ = a.jobs.Delete(context.WithoutCancel(ctx), j.VideoID)
		return job.Job{}, err
	}
	return j, nil
}

// hand gives movie-command a held job's UPLOADED status and then releases
// the job to the workers.
func (a *App) hand(ctx context.Context, j job.Job) error {
	if err := a.catalog.PutVideo(ctx, j.MovieID, j.VideoID, statusOf(j)); err != nil {
		return err
	}
	return a.jobs.Accept(ctx, j.VideoID)
}

// Retry transcodes a FAILED video again from its upload.
func (a *App) Retry(ctx context.Context, movieID, videoID string) (job.Job, error) {
	if uuid.Validate(movieID) != nil || uuid.Validate(videoID) != nil {
		return job.Job{}, job.ErrNotFound
	}
	cur, err := a.jobs.Get(ctx, videoID)
	if err != nil || cur.MovieID != movieID {
		return job.Job{}, job.ErrNotFound
	}
	if cur.Status != job.Failed {
		return job.Job{}, fmt.Errorf("video %s is %s: %w", videoID, cur.Status, job.ErrNotFailed)
	}
	if _, err := os.Stat(a.files.Source(videoID)); err != nil {
		return job.Job{}, &job.ValidationError{Msg: "the uploaded file is gone: upload the video again"}
	}
	j, err := a.jobs.Retry(ctx, movieID, videoID)
	if err != nil {
		return job.Job{}, err
	}
	if err := a.hand(ctx, j); err != nil {
		// movie-command still has FAILED: so does the job.
		return job.Job{}, errors.Join(err, a.jobs.Unretry(context.WithoutCancel(ctx), videoID, cur.Reason))
	}
	return j, nil
}

// statusOf is what movie-command is told of a job.
func statusOf(j job.Job) catalogv1.VideoStatus {
	return catalogv1.VideoStatus{Title: j.Title, Synopsis: j.Synopsis, Status: j.Status,
		Progress: int32(j.Progress), FailureReason: j.Reason, LengthSeconds: int32(j.LengthSeconds)}
}
