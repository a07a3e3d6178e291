// Package app holds media's use cases: accepting an upload, retrying a
// failed video, and the worker that transcodes jobs and reports their
// statuses to movie-command. It declares what it needs of its adapters.
package app

import (
	"context"
	"io"
	"log/slog"
	"time"

	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Jobs is the durable job table (postgres.DB).
type Jobs interface {
	Create(ctx context.Context, j job.Job) error
	Accept(ctx context.Context, videoID string) error
	Delete(ctx context.Context, videoID string) error
	Get(ctx context.Context, videoID string) (job.Job, error)
	Claim(ctx context.Context, owner string, ttl time.Duration, maxAttempts int) (job.Job, bool, error)
	Renew(ctx context.Context, videoID, owner string, ttl time.Duration, progress int) error
	Release(ctx context.Context, videoID, owner string) error
	Finish(ctx context.Context, videoID, owner string, res job.Result) error
	Fail(ctx context.Context, videoID, owner, reason string) error
	Retry(ctx context.Context, movieID, videoID string) (job.Job, error)
	Unretry(ctx context.Context, videoID, reason string) error
	Unreported(ctx context.Context, limit int) ([]job.Job, error)
	MarkReported(ctx context.Context, videoID, status string) error
	DropHeld(ctx context.Context, age time.Duration) ([]string, error)
	Exists(ctx context.Context, videoID string) (bool, error)
	// Of a remote backend (Cloudinary): see postgres/remote.go.
	Await(ctx context.Context, videoID, owner string, version int64, wait time.Duration) error
	Postpone(ctx context.Context, videoID, owner string, after time.Duration, reason string) error
	Complete(ctx context.Context, videoID string, o job.Outcome) (job.Job, job.Applied, error)
	ExpireAwaiting(ctx context.Context, reason string) ([]job.Job, error)
}

// Catalog is movie-command (moviecommand.Client).
type Catalog interface {
	MovieExists(ctx context.Context, movieID string) error
	PutVideo(ctx context.Context, movieID, videoID string, v catalogv1.VideoStatus) error
}

// Files are the uploads and ladders on disk (hls.Store).
type Files interface {
	Save(videoID string, r io.Reader) (int64, error)
	Source(videoID string) string
	Remove(videoID string) error
	RemoveSource(videoID string) error
	Uploads(age time.Duration) ([]string, error)
}

// Prober tells a decodable video from anything else (ffmpeg.Tools).
type Prober interface {
	Probe(ctx context.Context, path string) (Source, error)
}

// Source is what a probe learned of an upload.
type Source struct {
	Duration float64
	Height   int
}

// Transcoder makes a video playable (hls.Transcoder locally), or hands it
// to a remote backend that notifies when it is (cloudinary.Transcoder: a
// Result that is Pending); an error wrapping job.ErrTransient is tried
// again.
type Transcoder interface {
	Transcode(ctx context.Context, videoID string, progress func(int)) (job.Result, error)
}

// Options tune the worker; zero values take the defaults.
type Options struct {
	Log *slog.Logger
	// WorkerID names this instance in leases (default: a random id).
	WorkerID string
	// Lease is how long a claimed job stays this worker's without renewal
	// (default 30 s): a killed worker's job is resumed after it.
	Lease time.Duration
	// Poll is how often the worker looks for jobs (default 1 s).
	Poll time.Duration
	// MaxAttempts: a job whose transcoder died this many times is FAILED
	// (default 3).
	MaxAttempts int
	// ProgressEvery and ProgressStep throttle progress reports: each is an
	// outbox event in movie-command (defaults 5 s and 10 points).
	ProgressEvery time.Duration
	ProgressStep  int
	// HeldFor is how long an upload may wait for movie-command before its
	// job and files are swept (default 1 h, the longest upload).
	HeldFor time.Duration
	// NotifyTimeout is how long a job handed to a remote backend waits for
	// its notification before it is FAILED (default 3 h: Cloudinary makes
	// the ladder of a long movie in well under that, and retries a
	// notification for 18 minutes).
	NotifyTimeout time.Duration
	// Backend names the remote backend in failure reasons (default "the
	// transcoding backend").
	Backend string
	// RetryDelay is how long a job waits after a transient failure before
	// it is claimed again (default 30 s).
	RetryDelay time.Duration
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.ProgressStep <= 0 {
		o.ProgressStep = 10
	}
	if o.HeldFor <= 0 {
		o.HeldFor = time.Hour
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = 3 * time.Hour
	}
	if o.Backend == "" {
		o.Backend = "the transcoding backend"
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 30 * time.Second
	}
	return o
}

// App is media's use cases.
type App struct {
	jobs    Jobs
	catalog Catalog
	files   Files
	probe   Prober
	trans   Transcoder
	opt     Options
}

// New wires the use cases.
func New(jobs Jobs, catalog Catalog, files Files, probe Prober, trans Transcoder, opt Options) *App {
	opt = opt.withDefaults()
	if opt.WorkerID == "" {
		opt.WorkerID = newWorkerID()
	}
	return &App{jobs: jobs, catalog: catalog, files: files, probe: probe, trans: trans, opt: opt}
}
