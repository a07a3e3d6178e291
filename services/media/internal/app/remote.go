package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"tenflix/services/media/internal/job"
)

// Notified applies a remote backend's notification (Cloudinary's eager
// notification, verified by the caller) about videoID: the job waiting for
// o.Version becomes READY or FAILED, durably, before Notified returns, and
// movie-command is told (or told later by ReportPending). A duplicate or a
// notification of an older upload changes nothing; job.ErrNotAwaiting asks
// the sender to try again (the upload's answer is not recorded yet).
func (a *App) Notified(ctx context.Context, videoID string, o job.Outcome) (job.Applied, error) {
	log := a.opt.Log.With("video_id", videoID, "remote_version", o.Version)
	if uuid.Validate(videoID) != nil {
		// In Tenflix's folder but not one of media's videos (ids are UUIDs):
		// an asset put there by hand, say.
		log.Info("notification for an asset that is not a media video: ignored")
		return job.Ignored, nil
	}
	j, applied, err := a.jobs.Complete(ctx, videoID, o)
	switch {
	case err != nil:
		return 0, err
	case applied == job.Duplicate:
		log.Info("notification again for a video already " + j.Status + ": nothing to do")
		return applied, nil
	case applied == job.Ignored:
		log.Info("notification for no waiting job (an older upload, or an unknown video): ignored")
		return applied, nil
	}
	if j.Status == job.Ready {
		log.Info("ready", "playback", j.Playback)
		// No local ladder for a remote video: the source was kept until now.
		if err := a.files.RemoveSource(videoID); err != nil {
			log.Warn("remove upload", "err", err)
		}
	} else {
		log.Warn("transcoding failed", "reason", j.Reason)
	}
	res := a.resultOf(j)
	a.reportFinal(context.WithoutCancel(ctx), j, &res)
	return applied, nil
}

// expireAwaiting FAILS the jobs whose backend never notified in time; an
// admin's retry uploads them again.
func (a *App) expireAwaiting(ctx context.Context) {
	reason := fmt.Sprintf("%s never notified that the video was transcoded (waited %s); retry to upload it again",
		a.opt.Backend, a.opt.NotifyTimeout)
	jobs, err := a.jobs.ExpireAwaiting(ctx, reason)
	if err != nil {
		if ctx.Err() == nil {
			a.opt.Log.Warn("expire jobs waiting for a notification", "err", err)
		}
		return
	}
	for _, j := range jobs {
		a.opt.Log.Warn("transcoding failed", "video_id", j.VideoID, "reason", j.Reason)
		a.reportFinal(ctx, j, nil)
	}
}
