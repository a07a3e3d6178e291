package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
)

// fanOutBatchSQL addresses the notice to the next batch of users (by id,
// after the job's cursor) who want new-movie notices, skipping those who
// have it (a batch re-run after a crash), queues the emails of those who
// want email and signals the live stream. It answers the batch's last user
// id, its size and how many rows were new.
const fanOutBatchSQL = `
	WITH batch AS (
		SELECT user_id, email_enabled FROM recipients
		WHERE user_id > $1 AND new_movies ORDER BY user_id LIMIT $2),
	ins AS (
		INSERT INTO notifications (user_id, event_key, type, title, body, movie_id, order_id)
		SELECT user_id, $3, $4, $5, $6, $7, $8 FROM batch
		ON CONFLICT ON CONSTRAINT notifications_once_per_user DO NOTHING
		RETURNING id, user_id),
	mail AS (
		INSERT INTO jobs (kind, key, payload)
		SELECT 'email', 'email:' || ins.id, jsonb_build_object('notificationId', ins.id)
		FROM ins JOIN batch USING (user_id) WHERE batch.email_enabled
		ON CONFLICT (key) DO NOTHING),
	sig AS (SELECT pg_notify('` + Channel + `', ins.user_id || ' ' || ins.id) FROM ins)
	SELECT (SELECT max(user_id) FROM batch), (SELECT count(*) FROM batch), (SELECT count(*) FROM ins),
		(SELECT count(*) FROM sig)`

// FanOutBatch runs one batch of the oldest due fan-out job. The job row is
// locked for the batch's transaction only (SKIP LOCKED: another instance
// takes another job, or this one's next batch); the batch's rows and the
// cursor commit together, so a crash re-runs at most the batch, and the
// unique (user, event) makes the re-run insert nothing twice.
func (db *DB) FanOutBatch(ctx context.Context, size int) (app.FanOut, bool, error) {
	var f app.FanOut
	found := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var payload []byte
		var cursor string
		err := tx.QueryRow(ctx, `SELECT id, payload, cursor FROM jobs
			WHERE kind = 'fanout' AND done_at IS NULL AND run_at <= now()
			ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&f.JobID, &payload, &cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var n inbox.Notice
		if err := json.Unmarshal(payload, &n); err != nil {
			// Written by this service: cannot happen unless edited by hand.
			_, err = tx.Exec(ctx, `UPDATE jobs SET done_at = now(), outcome = 'gave-up', last_error = $2 WHERE id = $1`,
				f.JobID, "undecodable payload: "+err.Error())
			return err
		}
		f.EventKey = n.EventKey
		var last *string
		var signalled int
		if err := tx.QueryRow(ctx, fanOutBatchSQL, cursor, size, n.EventKey, string(n.Type), n.Title, n.Body,
			nullString(n.MovieID), nullString(n.OrderID)).Scan(&last, &f.Users, &f.Inserted, &signalled); err != nil {
			return err
		}
		f.Done = f.Users < size
		if last != nil {
			cursor = *last
		}
		_, err = tx.Exec(ctx, `UPDATE jobs SET cursor = $2, attempts = attempts + 1,
			done_at = CASE WHEN $3 THEN now() END, outcome = CASE WHEN $3 THEN 'done' END WHERE id = $1`,
			f.JobID, cursor, f.Done)
		return err
	})
	if err != nil {
		return f, false, fmt.Errorf("fan-out batch: %w", err)
	}
	return f, found, nil
}

// ClaimEmails leases up to n due email jobs: they are not due again until
// the lease ends (a worker that dies mid-send leaves them to be retried).
func (db *DB) ClaimEmails(ctx context.Context, n int, lease time.Duration) ([]app.Email, error) {
	rows, err := db.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM jobs WHERE kind = 'email' AND done_at IS NULL AND run_at <= now()
			ORDER BY run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE jobs j SET run_at = now() + $2 * interval '1 millisecond', attempts = j.attempts + 1
			FROM due WHERE j.id = due.id
			RETURNING j.id, j.attempts, (j.payload->>'notificationId')::uuid AS notification_id)
		SELECT c.id, c.attempts, `+notificationColumns("n.")+`,
			coalesce(r.email, ''), coalesce(r.name, ''), coalesce(r.email_enabled, false)
		FROM claimed c JOIN notifications n ON n.id = c.notification_id
		LEFT JOIN recipients r ON r.user_id = n.user_id
		ORDER BY c.id`, n, lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("claim emails: %w", err)
	}
	emails, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Email, error) {
		var e app.Email
		var typ string
		n := &e.Notification
		err := r.Scan(&e.JobID, &e.Attempts, &n.ID, &n.UserID, &typ, &n.Title, &n.Body, &n.MovieID, &n.OrderID,
			&n.CreatedAt, &n.ReadAt, &e.To, &e.Name, &e.Enabled)
		n.Type = inbox.Type(typ)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim emails: %w", err)
	}
	return emails, nil
}

// EmailDone ends an email job with its outcome.
func (db *DB) EmailDone(ctx context.Context, jobID int64, outcome string) error {
	_, err := db.pool.Exec(ctx, `UPDATE jobs SET done_at = now(), outcome = $2 WHERE id = $1`, jobID, outcome)
	if err != nil {
		return fmt.Errorf("email done: %w", err)
	}
	return nil
}

// EmailRetry makes an email job due again at `at`.
func (db *DB) EmailRetry(ctx context.Context, jobID int64, at time.Time, reason string) error {
	_, err := db.pool.Exec(ctx, `UPDATE jobs SET run_at = $2, last_error = $3 WHERE id = $1 AND done_at IS NULL`,
		jobID, at, inboxClip(reason))
	if err != nil {
		return fmt.Errorf("email retry: %w", err)
	}
	return nil
}

func inboxClip(s string) string {
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.ToValidUTF8(s, "")
}
