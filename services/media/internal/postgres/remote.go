package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/services/media/internal/job"
)

// Await records that owner's job was uploaded to a remote backend as
// version: the job stays TRANSCODING, its lease released (no worker holds
// it), until the notification for that version, or the deadline wait from
// now.
func (db *DB) Await(ctx context.Context, videoID, owner string, version int64, wait time.Duration) error {
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs
		SET awaiting_notification = true, remote_version = $3, notify_deadline = now() + $4 * interval '1 millisecond',
		    lease_owner = NULL, lease_until = NULL, updated_at = now()
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`, version, millis(wait))
}

// Postpone gives owner's job back after a transient failure, to be claimed
// again in after (an attempt is counted at each claim); reason is the
// failure, kept for the record.
func (db *DB) Postpone(ctx context.Context, videoID, owner string, after time.Duration, reason string) error {
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs
		SET lease_until = now() + $3 * interval '1 millisecond', reason = $4, updated_at = now()
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`, millis(after), reason)
}

// Complete applies a remote backend's notification to the job waiting for
// its version: READY playing from o.Result, or FAILED with o.Reason. A job
// that already ended with that version is a Duplicate, one that waits for
// a newer version (or none, or is gone) Ignored; a job whose upload is still
// being answered (TRANSCODING, not waiting yet) is job.ErrNotAwaiting.
func (db *DB) Complete(ctx context.Context, videoID string, o job.Outcome) (job.Job, job.Applied, error) {
	reason := o.Reason
	if !o.Ready && reason == "" {
		reason = "the backend reported a failure without a reason"
	}
	r := o.Result
	j, err := scanJob(db.pool.QueryRow(ctx, `UPDATE media_jobs SET
		    status = CASE WHEN $3 THEN 'READY' ELSE 'FAILED' END,
		    progress = CASE WHEN $3 THEN 100 ELSE progress END,
		    reason = CASE WHEN $3 THEN '' ELSE $4 END,
		    playback = CASE WHEN $3 THEN $5 ELSE '' END,
		    url = CASE WHEN $3 THEN $6 ELSE '' END,
		    poster_url = CASE WHEN $3 THEN $7 ELSE '' END,
		    awaiting_notification = false, notify_deadline = NULL, updated_at = now()
		WHERE video_id = $1 AND awaiting_notification AND remote_version = $2
		RETURNING `+columns, videoID, o.Version, o.Ready, reason, r.Playback, r.URL, r.PosterURL))
	if err == nil {
		return j, job.Changed, nil
	}
	if !errors.Is(err, job.ErrNotFound) {
		return job.Job{}, 0, fmt.Errorf("complete job %s: %w", videoID, err)
	}
	cur, err := db.Get(ctx, videoID)
	switch {
	case errors.Is(err, job.ErrNotFound):
		return job.Job{}, job.Ignored, nil
	case err != nil:
		return job.Job{}, 0, err
	case o.Version < cur.RemoteVersion:
		return cur, job.Ignored, nil
	case o.Version == cur.RemoteVersion && (cur.Status == job.Ready || cur.Status == job.Failed):
		return cur, job.Duplicate, nil
	case cur.Status == job.Transcoding && !cur.Awaiting:
		return cur, 0, fmt.Errorf("job %s: %w", videoID, job.ErrNotAwaiting)
	}
	return cur, job.Ignored, nil
}

// ExpireAwaiting FAILS the jobs whose notification deadline passed, with
// reason, and returns them.
func (db *DB) ExpireAwaiting(ctx context.Context, reason string) ([]job.Job, error) {
	rows, err := db.pool.Query(ctx, `UPDATE media_jobs
		SET status = 'FAILED', reason = $1, awaiting_notification = false, notify_deadline = NULL, updated_at = now()
		WHERE awaiting_notification AND notify_deadline < now()
		RETURNING `+columns, reason)
	if err != nil {
		return nil, fmt.Errorf("expire awaiting jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Job, error) { return scanJob(r) })
}
