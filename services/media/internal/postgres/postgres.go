// Package postgres is media's durable job table (app.Jobs): a job per
// uploaded video, claimed by workers with FOR UPDATE SKIP LOCKED under a
// lease they renew. Driver errors are translated here into job's errors.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"
	"tenflix/services/media/internal/job"
	"tenflix/services/media/migrations"
)

// DB is the job table.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects and checks the connection.
func Open(ctx context.Context, dsn string) (*DB, error) {
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// Close releases the pool.
func (db *DB) Close() { db.pool.Close() }

// Migrate applies the embedded migrations not applied yet.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) error {
	return pgdb.Migrate(ctx, db.pool, fsys, migrations.Table, migrations.LockID)
}

const columns = `video_id::text, movie_id::text, title, synopsis, status, attempts,
	coalesce(lease_owner, ''), coalesce(lease_until, 'epoch'), reason, progress, length_seconds, reported_status,
	awaiting_notification, remote_version, coalesce(notify_deadline, 'epoch'), playback, url, poster_url`

func scanJob(row pgx.Row) (job.Job, error) {
	var j job.Job
	err := row.Scan(&j.VideoID, &j.MovieID, &j.Title, &j.Synopsis, &j.Status, &j.Attempts,
		&j.LeaseOwner, &j.LeaseUntil, &j.Reason, &j.Progress, &j.LengthSeconds, &j.Reported,
		&j.Awaiting, &j.RemoteVersion, &j.NotifyDeadline, &j.Playback, &j.URL, &j.PosterURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return job.Job{}, job.ErrNotFound
	}
	return j, err
}

func millis(d time.Duration) int64 { return d.Milliseconds() }

// Create records a new job, UPLOADED and held (the worker leaves it alone
// until Accept: movie-command has not acknowledged it yet).
func (db *DB) Create(ctx context.Context, j job.Job) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO media_jobs (video_id, movie_id, title, synopsis, status, length_seconds)
		VALUES ($1, $2, $3, $4, 'UPLOADED', $5)`, j.VideoID, j.MovieID, j.Title, j.Synopsis, j.LengthSeconds)
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.VideoID, err)
	}
	return nil
}

// Accept releases a held job to the workers once movie-command has its
// status.
func (db *DB) Accept(ctx context.Context, videoID string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE media_jobs SET held = false, reported_status = status, updated_at = now()
		WHERE video_id = $1`, videoID)
	if err != nil {
		return fmt.Errorf("accept job %s: %w", videoID, err)
	}
	if tag.RowsAffected() == 0 {
		return job.ErrNotFound
	}
	return nil
}

// Delete forgets a job (an upload movie-command refused).
func (db *DB) Delete(ctx context.Context, videoID string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM media_jobs WHERE video_id = $1`, videoID)
	return err
}

// Get reads one job.
func (db *DB) Get(ctx context.Context, videoID string) (job.Job, error) {
	return scanJob(db.pool.QueryRow(ctx, `SELECT `+columns+` FROM media_jobs WHERE video_id = $1`, videoID))
}

// Claim gives owner the oldest claimable job (UPLOADED, or TRANSCODING with
// an expired lease: its worker died) under a lease of ttl, counting an
// attempt; ok is false when there is none. Jobs whose lease expired
// maxAttempts times are FAILED first: a source that kills its transcoder
// every time must not be retried forever.
func (db *DB) Claim(ctx context.Context, owner string, ttl time.Duration, maxAttempts int) (j job.Job, ok bool, err error) {
	_, err = db.pool.Exec(ctx, `UPDATE media_jobs
		SET status = 'FAILED', lease_owner = NULL, lease_until = NULL, updated_at = now(),
		    reason = 'transcoding stopped ' || attempts || ' times without finishing (the service was killed or crashed each time)'
		WHERE status = 'TRANSCODING' AND NOT held AND lease_until < now() AND attempts >= $1`, maxAttempts)
	if err != nil {
		return job.Job{}, false, fmt.Errorf("give up jobs: %w", err)
	}
	j, err = scanJob(db.pool.QueryRow(ctx, `WITH next AS (
			SELECT video_id FROM media_jobs
			WHERE status IN ('UPLOADED', 'TRANSCODING') AND NOT held AND NOT awaiting_notification
			  AND (status = 'UPLOADED' OR lease_until < now())
			ORDER BY created_at
			LIMIT 1
			FOR UPDATE SKIP LOCKED)
		UPDATE media_jobs j SET status = 'TRANSCODING', attempts = j.attempts + 1, progress = 0,
		    lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond', updated_at = now()
		FROM next WHERE j.video_id = next.video_id
		RETURNING `+returningJ, owner, millis(ttl)))
	if errors.Is(err, job.ErrNotFound) {
		return job.Job{}, false, nil
	}
	if err != nil {
		return job.Job{}, false, fmt.Errorf("claim job: %w", err)
	}
	return j, true, nil
}

// returningJ is columns qualified with the alias j (RETURNING of an UPDATE
// ... FROM would find video_id ambiguous).
const returningJ = `j.video_id::text, j.movie_id::text, j.title, j.synopsis, j.status, j.attempts,
	coalesce(j.lease_owner, ''), coalesce(j.lease_until, 'epoch'), j.reason, j.progress, j.length_seconds, j.reported_status,
	j.awaiting_notification, j.remote_version, coalesce(j.notify_deadline, 'epoch'), j.playback, j.url, j.poster_url`

// Renew extends owner's lease and records the progress; ErrLeaseLost when
// the job is no longer owner's.
func (db *DB) Renew(ctx context.Context, videoID, owner string, ttl time.Duration, progress int) error {
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs
		SET lease_until = now() + $3 * interval '1 millisecond', progress = greatest(progress, $4), updated_at = now()
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`, millis(ttl), min(max(progress, 0), 99))
}

// Finish marks owner's job READY, playing from res.
func (db *DB) Finish(ctx context.Context, videoID, owner string, res job.Result) error {
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs
		SET status = 'READY', progress = 100, lease_owner = NULL, lease_until = NULL, reason = '',
		    length_seconds = greatest(length_seconds, $3), playback = $4, url = $5, poster_url = $6, updated_at = now()
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`, res.Length, res.Playback, res.URL, res.PosterURL)
}

// Fail marks owner's job FAILED with reason.
func (db *DB) Fail(ctx context.Context, videoID, owner, reason string) error {
	if reason == "" {
		reason = "transcoding failed"
	}
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs
		SET status = 'FAILED', lease_owner = NULL, lease_until = NULL, reason = $3, updated_at = now()
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`, reason)
}

func (db *DB) owned(ctx context.Context, videoID, owner, sql string, args ...any) error {
	tag, err := db.pool.Exec(ctx, sql, append([]any{videoID, owner}, args...)...)
	if err != nil {
		return fmt.Errorf("job %s: %w", videoID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("job %s: %w", videoID, job.ErrLeaseLost)
	}
	return nil
}

// Retry puts a FAILED job of movieID back to UPLOADED, held until Accept,
// with its attempts reset: ErrNotFound when there is no such job,
// ErrNotFailed when it is not FAILED.
func (db *DB) Retry(ctx context.Context, movieID, videoID string) (job.Job, error) {
	j, err := scanJob(db.pool.QueryRow(ctx, `UPDATE media_jobs
		SET status = 'UPLOADED', held = true, attempts = 0, reason = '', progress = 0, updated_at = now()
		WHERE video_id = $1 AND movie_id = $2 AND status = 'FAILED'
		RETURNING `+columns, videoID, movieID))
	if !errors.Is(err, job.ErrNotFound) {
		return j, err
	}
	cur, err := db.Get(ctx, videoID)
	if err != nil || cur.MovieID != movieID {
		return job.Job{}, job.ErrNotFound
	}
	return job.Job{}, fmt.Errorf("video %s is %s: %w", videoID, cur.Status, job.ErrNotFailed)
}

// Unretry puts a held retry back to FAILED with reason (movie-command did
// not accept it).
func (db *DB) Unretry(ctx context.Context, videoID, reason string) error {
	_, err := db.pool.Exec(ctx, `UPDATE media_jobs SET status = 'FAILED', held = false, reason = $2, updated_at = now()
		WHERE video_id = $1 AND held AND status = 'UPLOADED'`, videoID, reason)
	return err
}

// Unreported lists final jobs whose status movie-command has not
// acknowledged.
func (db *DB) Unreported(ctx context.Context, limit int) ([]job.Job, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+columns+` FROM media_jobs
		WHERE status IN ('READY', 'FAILED') AND reported_status <> status
		ORDER BY updated_at LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Job, error) { return scanJob(r) })
}

// MarkReported records that movie-command acknowledged status.
func (db *DB) MarkReported(ctx context.Context, videoID, status string) error {
	_, err := db.pool.Exec(ctx, `UPDATE media_jobs SET reported_status = $2 WHERE video_id = $1 AND status = $2`, videoID, status)
	return err
}

// DropHeld deletes jobs held for longer than age (an upload or retry whose
// instance died before movie-command answered) and returns their ids.
func (db *DB) DropHeld(ctx context.Context, age time.Duration) ([]string, error) {
	rows, err := db.pool.Query(ctx, `DELETE FROM media_jobs
		WHERE held AND updated_at < now() - $1 * interval '1 millisecond' RETURNING video_id::text`, millis(age))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Release ends owner's lease at once, the job still TRANSCODING: a
// graceful stop lets the next start resume it without waiting for the lease.
func (db *DB) Release(ctx context.Context, videoID, owner string) error {
	return db.owned(ctx, videoID, owner, `UPDATE media_jobs SET lease_until = now() - interval '1 millisecond'
		WHERE video_id = $1 AND lease_owner = $2 AND status = 'TRANSCODING'`)
}

// Exists says whether a job of videoID exists (the upload directory sweep).
func (db *DB) Exists(ctx context.Context, videoID string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM media_jobs WHERE video_id = $1)`, videoID).Scan(&ok)
	return ok, err
}
