package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
)

// notifySQL inserts one inbox row unless the user has it, queues its email
// when the user wants email, and signals the live stream (NOTIFY is sent at
// commit, so listeners never see a row that is not there).
const notifySQL = `
	WITH ins AS (
		INSERT INTO notifications (user_id, event_key, type, title, body, movie_id, order_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT ON CONSTRAINT notifications_once_per_user DO NOTHING
		RETURNING id, user_id),
	mail AS (
		INSERT INTO jobs (kind, key, payload)
		SELECT 'email', 'email:' || ins.id, jsonb_build_object('notificationId', ins.id)
		FROM ins JOIN recipients r USING (user_id) WHERE r.email_enabled
		ON CONFLICT (key) DO NOTHING),
	sig AS (SELECT pg_notify('` + Channel + `', ins.user_id || ' ' || ins.id) FROM ins)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM sig)`

// Notify puts n in the user's inbox once.
func (db *DB) Notify(ctx context.Context, userID string, n inbox.Notice) (bool, error) {
	var inserted, signalled int
	err := db.pool.QueryRow(ctx, notifySQL, userID, n.EventKey, string(n.Type), n.Title, n.Body,
		nullString(n.MovieID), nullString(n.OrderID)).Scan(&inserted, &signalled)
	if err != nil {
		return false, fmt.Errorf("notify: %w", err)
	}
	return inserted > 0, nil
}

// notificationColumns are what scanNotification reads, of table alias a.
func notificationColumns(a string) string {
	return a + "id::text, " + a + "user_id, " + a + "type, " + a + "title, " + a + "body, coalesce(" + a +
		"movie_id, ''), coalesce(" + a + "order_id, ''), " + a + "created_at, " + a + "read_at"
}

func scanNotification(row pgx.Row) (inbox.Notification, error) {
	var n inbox.Notification
	var typ string
	err := row.Scan(&n.ID, &n.UserID, &typ, &n.Title, &n.Body, &n.MovieID, &n.OrderID, &n.CreatedAt, &n.ReadAt)
	n.Type = inbox.Type(typ)
	return n, err
}

// Inbox pages through the user's notifications, newest first
// (notifications_inbox).
func (db *DB) Inbox(ctx context.Context, userID string, p app.Page) (app.InboxPage, error) {
	var out app.InboxPage
	if err := db.pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE read_at IS NULL) FROM notifications WHERE user_id = $1`,
		userID).Scan(&out.Total, &out.Unread); err != nil {
		return out, fmt.Errorf("inbox count: %w", err)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+notificationColumns("")+` FROM notifications WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, p.Size, (p.Page-1)*p.Size)
	if err != nil {
		return out, fmt.Errorf("inbox: %w", err)
	}
	out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (inbox.Notification, error) {
		return scanNotification(r)
	})
	if err != nil {
		return out, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

// Notification is one of the user's notifications.
func (db *DB) Notification(ctx context.Context, userID, id string) (inbox.Notification, error) {
	if uuid.Validate(id) != nil {
		return inbox.Notification{}, inbox.ErrNotFound
	}
	n, err := scanNotification(db.pool.QueryRow(ctx, `SELECT `+notificationColumns("")+`
		FROM notifications WHERE id = $1 AND user_id = $2`, id, userID))
	return n, notFound(err, "notification")
}

// MarkRead sets read_at the first time; later calls change nothing.
func (db *DB) MarkRead(ctx context.Context, userID, id string) (inbox.Notification, error) {
	if uuid.Validate(id) != nil {
		return inbox.Notification{}, inbox.ErrNotFound
	}
	n, err := scanNotification(db.pool.QueryRow(ctx, `UPDATE notifications SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND user_id = $2 RETURNING `+notificationColumns(""), id, userID))
	return n, notFound(err, "mark read")
}

func notFound(err error, what string) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return inbox.ErrNotFound
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// noticeJSON is a fan-out job's payload.
func noticeJSON(n inbox.Notice) []byte {
	b, _ := json.Marshal(n) // plain strings: cannot fail
	return b
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Newest is the position of the user's newest notification, or the
// database's clock when they have none: where a stream starts.
func (db *DB) Newest(ctx context.Context, userID string) (time.Time, string, error) {
	var at time.Time
	var id string
	err := db.pool.QueryRow(ctx, `
		SELECT created_at, id::text FROM notifications WHERE user_id = $1
		UNION ALL SELECT clock_timestamp(), ''
		ORDER BY 1 DESC, 2 DESC LIMIT 1`, userID).Scan(&at, &id)
	if err != nil {
		return at, "", fmt.Errorf("newest: %w", err)
	}
	return at, id, nil
}

// After lists up to limit of the user's notifications after the position
// (at, id), oldest first: what a stream that reconnects has missed.
func (db *DB) After(ctx context.Context, userID string, at time.Time, id string, limit int) ([]inbox.Notification, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+notificationColumns("")+` FROM notifications
		WHERE user_id = $1 AND (created_at > $2 OR created_at = $2 AND id::text > $3)
		ORDER BY created_at, id LIMIT $4`, userID, at, id, limit)
	if err != nil {
		return nil, fmt.Errorf("after: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inbox.Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("after: %w", err)
	}
	return out, nil
}
