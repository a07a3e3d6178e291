// Package postgres is the notification service's database (pgx, no Dapr
// state: this service publishes nothing). Invariants live in the schema
// (migrations/): one notification per user per event, one job per key, one
// announcement per movie. Driver errors are translated here.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
	"tenflix/services/notification/migrations"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Channel is the LISTEN/NOTIFY channel of new inbox rows; the payload is
// "<userId> <notificationId>" (see internal/live).
const Channel = "notification_created"

// DB is the service's store (app.Store).
type DB struct {
	pool *pgxpool.Pool
}

var _ app.Store = (*DB)(nil)

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

// SaveUser records (or refreshes) a recipient's address, keeping the
// preferences the user may have set before.
func (db *DB) SaveUser(ctx context.Context, u app.User) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO recipients (user_id, email, name, registered_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name,
			registered_at = excluded.registered_at, updated_at = now()`,
		u.ID, u.Email, u.Name, nullTime(u.RegisteredAt))
	if err != nil {
		return fmt.Errorf("save user: %w", err)
	}
	return nil
}

// Preferences are the stored ones, or the defaults.
func (db *DB) Preferences(ctx context.Context, userID string) (inbox.Preferences, error) {
	p := inbox.DefaultPreferences
	err := db.pool.QueryRow(ctx, `SELECT new_movies, email_enabled FROM recipients WHERE user_id = $1`, userID).
		Scan(&p.NewMovies, &p.Email)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("preferences: %w", err)
	}
	return p, nil
}

// SetPreferences creates the recipient's row when identity's event has not
// arrived yet: the event then fills in the address.
func (db *DB) SetPreferences(ctx context.Context, userID string, p inbox.Preferences) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO recipients (user_id, new_movies, email_enabled) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET new_movies = excluded.new_movies,
			email_enabled = excluded.email_enabled, updated_at = now()`, userID, p.NewMovies, p.Email)
	if err != nil {
		return fmt.Errorf("set preferences: %w", err)
	}
	return nil
}

// DisableEmail turns email off, keeping the other preference.
func (db *DB) DisableEmail(ctx context.Context, userID string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO recipients (user_id, email_enabled) VALUES ($1, false)
		ON CONFLICT (user_id) DO UPDATE SET email_enabled = false, updated_at = now()`, userID)
	if err != nil {
		return fmt.Errorf("disable email: %w", err)
	}
	return nil
}

// lockMovie serialises the transactions about one movie (its own events and
// its videos'), so that "flagged" and "has a READY video" are never decided
// on two snapshots that each miss the other's write.
func lockMovie(ctx context.Context, tx pgx.Tx, movieID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7109, hashtext($1))`, movieID)
	return err
}

// ApplyMovie stores a newer movie version and announces it if it is due.
func (db *DB) ApplyMovie(ctx context.Context, m app.Movie) (bool, error) {
	var announced bool
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockMovie(ctx, tx, m.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO movies (movie_id, version, name, synopsis, notify, deleted) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (movie_id) DO UPDATE SET version = excluded.version, name = excluded.name,
				synopsis = excluded.synopsis, notify = excluded.notify, deleted = excluded.deleted
			WHERE movies.version < excluded.version`,
			m.ID, m.Version, m.Name, m.Synopsis, m.Notify, m.Deleted); err != nil {
			return err
		}
		var err error
		announced, err = announceIfDue(ctx, tx, m.ID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("apply movie: %w", err)
	}
	return announced, nil
}

// ApplyVideo stores a newer video version and announces its movie if due.
func (db *DB) ApplyVideo(ctx context.Context, v app.Video) (bool, error) {
	var announced bool
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockMovie(ctx, tx, v.MovieID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO videos (video_id, movie_id, version, status, deleted) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (video_id) DO UPDATE SET version = excluded.version, status = excluded.status,
				deleted = excluded.deleted
			WHERE videos.version < excluded.version`,
			v.ID, v.MovieID, v.Version, strings.ToUpper(v.Status), v.Deleted); err != nil {
			return err
		}
		var err error
		announced, err = announceIfDue(ctx, tx, v.MovieID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("apply video: %w", err)
	}
	return announced, nil
}

// announceIfDue marks the movie announced, once, when it is flagged, not
// deleted and has a READY video, and records its fan-out job.
func announceIfDue(ctx context.Context, tx pgx.Tx, movieID string) (bool, error) {
	var name, synopsis string
	err := tx.QueryRow(ctx, `
		UPDATE movies m SET announced_at = now()
		WHERE m.movie_id = $1 AND m.announced_at IS NULL AND m.notify AND NOT m.deleted
			AND EXISTS (SELECT 1 FROM videos v WHERE v.movie_id = m.movie_id AND v.status = $2 AND NOT v.deleted)
		RETURNING name, synopsis`, movieID, catalogv1.VideoReady).Scan(&name, &synopsis)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	n := inbox.MovieAnnounced(movieID, name, synopsis)
	_, err = tx.Exec(ctx, `INSERT INTO jobs (kind, key, payload) VALUES ('fanout', $1, $2) ON CONFLICT (key) DO NOTHING`,
		"fanout:"+n.EventKey, noticeJSON(n))
	return err == nil, err
}
