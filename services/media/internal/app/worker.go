package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"tenflix/services/media/internal/job"
)

// Run is the worker: until ctx ends it reports final statuses movie-command
// has not acknowledged, sweeps abandoned uploads, and transcodes one claimed
// job at a time (the machine's cores are the limit, not the queue).
func (a *App) Run(ctx context.Context) {
	log := a.opt.Log.With("worker_id", a.opt.WorkerID)
	log.Info("worker started", "lease", a.opt.Lease.String())
	a.sweepUploads(ctx)
	for {
		a.ReportPending(ctx)
		a.expireAwaiting(ctx)
		if err := a.dropHeld(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep held jobs", "err", err)
		}
		for ctx.Err() == nil {
			worked, err := a.Step(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("worker step", "err", err)
			}
			if !worked || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			log.Info("worker stopped")
			return
		case <-time.After(a.opt.Poll):
		}
	}
}

// Step claims one job and transcodes it; worked is false when there was
// none.
func (a *App) Step(ctx context.Context) (worked bool, err error) {
	j, ok, err := a.jobs.Claim(ctx, a.opt.WorkerID, a.opt.Lease, a.opt.MaxAttempts)
	if err != nil || !ok {
		return false, err
	}
	return true, a.process(ctx, j)
}

// process transcodes a claimed job under its lease. A lost lease stops the
// transcode (another worker has the job); a stop of the service leaves the
// job TRANSCODING with its lease released, to be resumed at the next start.
func (a *App) process(ctx context.Context, j job.Job) error {
	log := a.opt.Log.With("video_id", j.VideoID, "movie_id", j.MovieID, "attempt", j.Attempts)
	log.Info("transcoding")
	a.report(ctx, j) // TRANSCODING, 0 %: best effort, like every progress report

	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p := &progressReporter{app: a, job: j, last: time.Now()}
	var wg sync.WaitGroup
	wg.Go(func() { a.keepLease(work, cancel, j, p) })
	res, err := a.trans.Transcode(work, j.VideoID, p.update)
	cancel(nil)
	wg.Wait()

	bg := context.WithoutCancel(ctx)
	switch {
	case errors.Is(context.Cause(work), job.ErrLeaseLost):
		log.Warn("lease lost: another worker has the job")
		return nil
	case err != nil && ctx.Err() != nil:
		log.Info("stopped mid-transcode: the job resumes at the next start")
		return a.jobs.Release(bg, j.VideoID, a.opt.WorkerID)
	case errors.Is(err, job.ErrTransient) && j.Attempts < a.opt.MaxAttempts:
		log.Warn("transcoding failed; will try again", "err", err, "after", a.opt.RetryDelay.String())
		return a.jobs.Postpone(bg, j.VideoID, a.opt.WorkerID, a.opt.RetryDelay, err.Error())
	case err != nil:
		reason := err.Error()
		if errors.Is(err, job.ErrTransient) {
			reason = fmt.Sprintf("%s (%d attempts)", reason, j.Attempts)
		}
		log.Warn("transcoding failed", "reason", reason)
		if err := a.jobs.Fail(bg, j.VideoID, a.opt.WorkerID, reason); err != nil {
			return err
		}
		j.Status, j.Reason = job.Failed, reason
	case res.Pending:
		// Not READY: the backend says when, by notification (Notified).
		// The source stays until then; a stop from here on loses nothing.
		if err := a.jobs.Await(bg, j.VideoID, a.opt.WorkerID, res.RemoteVersion, a.opt.NotifyTimeout); err != nil {
			return err
		}
		log.Info("handed to the backend; waiting for its notification", "remote_version", res.RemoteVersion,
			"timeout", a.opt.NotifyTimeout.String())
		return nil
	default:
		if err := a.jobs.Finish(bg, j.VideoID, a.opt.WorkerID, res); err != nil {
			return err
		}
		j.Status, j.Progress, j.Reason = job.Ready, 100, ""
		j.LengthSeconds = max(j.LengthSeconds, res.Length)
		if err := a.files.RemoveSource(j.VideoID); err != nil {
			log.Warn("remove upload", "err", err)
		}
		log.Info("ready")
	}
	a.reportFinal(bg, j, &res)
	return nil
}

// keepLease renews the lease every third of its length until work ends,
// with the latest progress; a renewal refused means the lease is lost.
func (a *App) keepLease(work context.Context, cancel context.CancelCauseFunc, j job.Job, p *progressReporter) {
	t := time.NewTicker(a.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-work.Done():
			return
		case <-t.C:
		}
		err := a.jobs.Renew(work, j.VideoID, a.opt.WorkerID, a.opt.Lease, p.percent())
		if errors.Is(err, job.ErrLeaseLost) {
			cancel(job.ErrLeaseLost)
			return
		}
		if err != nil && work.Err() == nil {
			a.opt.Log.Warn("renew lease", "video_id", j.VideoID, "err", err)
		}
	}
}

// progressReporter throttles progress reports to movie-command: every
// report is an outbox event there, so one at most every ProgressStep points
// or ProgressEvery, whichever comes first.
type progressReporter struct {
	app  *App
	job  job.Job
	mu   sync.Mutex
	pct  int
	sent int
	last time.Time
}

func (p *progressReporter) percent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pct
}

func (p *progressReporter) update(pct int) {
	p.mu.Lock()
	p.pct = pct
	due := pct > p.sent && (pct-p.sent >= p.app.opt.ProgressStep || time.Since(p.last) >= p.app.opt.ProgressEvery)
	if due {
		p.sent, p.last = pct, time.Now()
	}
	j := p.job
	p.mu.Unlock()
	if due {
		j.Progress = pct
		// Synchronous on ffmpeg's progress reader: ffmpeg waits at most
		// for one invocation, and reports never overtake each other.
		p.app.report(context.Background(), j)
	}
}

// report tells movie-command a job's status, best effort (progress): a
// lost progress report is made good by the next one.
func (a *App) report(ctx context.Context, j job.Job) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	j.Status = job.Transcoding
	if err := a.catalog.PutVideo(ctx, j.MovieID, j.VideoID, statusOf(j)); err != nil {
		a.opt.Log.Warn("report progress", "video_id", j.VideoID, "progress", j.Progress, "err", err)
	}
}

// reportFinal tells movie-command a final status; until it acknowledges,
// ReportPending sends it again.
func (a *App) reportFinal(ctx context.Context, j job.Job, res *job.Result) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v := statusOf(j)
	if j.Status == job.Ready && res != nil {
		v.Playback, v.URL, v.PosterURL = res.Playback, res.URL, res.PosterURL
	}
	err := a.catalog.PutVideo(ctx, j.MovieID, j.VideoID, v)
	switch {
	case errors.Is(err, job.ErrMovieNotFound) || errors.Is(err, job.ErrRefused):
		// Nothing to tell: the movie is gone, or movie-command has a newer
		// status. Sending it again would not change that.
		a.opt.Log.Warn("final status not taken", "video_id", j.VideoID, "status", j.Status, "err", err)
	case err != nil:
		a.opt.Log.Warn("report final status; will retry", "video_id", j.VideoID, "status", j.Status, "err", err)
		return
	}
	if err := a.jobs.MarkReported(ctx, j.VideoID, j.Status); err != nil {
		a.opt.Log.Warn("mark reported", "video_id", j.VideoID, "err", err)
	}
}

// ReportPending sends again every final status movie-command has not
// acknowledged (it was down when the job ended, or media was killed).
func (a *App) ReportPending(ctx context.Context) {
	jobs, err := a.jobs.Unreported(ctx, 100)
	if err != nil {
		if ctx.Err() == nil {
			a.opt.Log.Warn("list unreported jobs", "err", err)
		}
		return
	}
	for _, j := range jobs {
		res := a.resultOf(j)
		a.reportFinal(ctx, j, &res)
	}
}

// resultOf is where a READY job's video plays from: as stored, or the
// local ladder's layout for jobs made READY before results were stored.
func (a *App) resultOf(j job.Job) job.Result {
	if j.Playback != "" {
		return job.Result{Playback: j.Playback, URL: j.URL, PosterURL: j.PosterURL, Length: j.LengthSeconds}
	}
	return job.Result{Playback: "hls", URL: j.VideoID + "/master.m3u8", PosterURL: j.VideoID + "/poster.jpg", Length: j.LengthSeconds}
}

// dropHeld deletes uploads whose instance died before movie-command
// answered.
func (a *App) dropHeld(ctx context.Context) error {
	ids, err := a.jobs.DropHeld(ctx, a.opt.HeldFor)
	for _, id := range ids {
		a.opt.Log.Warn("dropped an upload movie-command never acknowledged", "video_id", id)
		if err := a.files.Remove(id); err != nil {
			a.opt.Log.Warn("remove upload", "video_id", id, "err", err)
		}
	}
	return err
}

// sweepUploads deletes upload directories without a job, older than the
// longest upload: what an instance killed mid-stream left.
func (a *App) sweepUploads(ctx context.Context) {
	ids, err := a.files.Uploads(a.opt.HeldFor)
	if err != nil {
		a.opt.Log.Warn("list uploads", "err", err)
		return
	}
	for _, id := range ids {
		if ok, err := a.jobs.Exists(ctx, id); err == nil && !ok {
			a.opt.Log.Warn("removing an upload without a job", "video_id", id)
			_ = a.files.Remove(id)
		}
	}
}
