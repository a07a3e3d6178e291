// Package postgres reads movie-command's catalog with SQL (listing, reference
// lookups) and applies its migrations. Writes never go through here: they are
// Dapr state transactions, so that each write and its event commit together.
package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"
	"tenflix/services/movie-command/internal/app"

	catalogv1 "tenflix/proto/catalog/v1"
)

// notDeleted filters out tombstones.
const notDeleted = `coalesce(value->>'deleted', 'false') <> 'true'`

// DB is the catalog's SQL side (app.Reads, and the snapshot of every
// aggregate for reconciliation).
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
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) error {
	return pgdb.Migrate(ctx, db.pool, migrations, "movie_command_migrations", 7101)
}

func offset(p app.Page) int { return (p.Page - 1) * p.Size }

// ListNamed lists live entries of a kind by name; q filters by a
// case-insensitive substring.
func (db *DB) ListNamed(ctx context.Context, kind, q string, p app.Page) ([]app.Entry, int, error) {
	const where = `split_part(key, ':', 1) = $1 AND ` + notDeleted + `
		AND ($2 = '' OR strpos(lower(value->>'name'), lower($2)) > 0)`
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM catalog_state WHERE `+where, kind, q).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", kind, err)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT value->>'id', value->>'name', (value->>'version')::bigint
		FROM catalog_state WHERE `+where+`
		ORDER BY lower(value->>'name'), key
		LIMIT $3 OFFSET $4`, kind, q, p.Size, offset(p))
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Entry, error) {
		var n app.Entry
		return n, r.Scan(&n.ID, &n.Name, &n.Version)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, total, nil
}

// ResolveRefs finds live entries of a kind by id or by name (ignoring case).
// Entries that match nothing are simply absent from the result.
func (db *DB) ResolveRefs(ctx context.Context, kind string, ids, names []string) ([]app.Entry, error) {
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	if ids == nil {
		ids = []string{}
	}
	rows, err := db.pool.Query(ctx, `
		SELECT value->>'id', value->>'name', (value->>'version')::bigint
		FROM catalog_state
		WHERE split_part(key, ':', 1) = $1 AND `+notDeleted+`
		  AND (value->>'id' = ANY($2) OR lower(value->>'name') = ANY($3))`, kind, ids, lower)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", kind, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Entry, error) {
		var n app.Entry
		return n, r.Scan(&n.ID, &n.Name, &n.Version)
	})
}

// CurrentNames returns the live name of each key ("actor:<id>", ...) found.
func (db *DB) CurrentNames(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT key, value->>'name' FROM catalog_state
		WHERE key = ANY($1) AND `+notDeleted, keys)
	if err != nil {
		return nil, fmt.Errorf("current names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, n string
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// ListDocs lists live documents of a kind ordered by name, as raw JSON.
// movieID, when set, keeps only videos of that movie.
func (db *DB) ListDocs(ctx context.Context, kind, movieID string, p app.Page) ([]json.RawMessage, int, error) {
	const where = `split_part(key, ':', 1) = $1 AND ` + notDeleted + `
		AND ($2 = '' OR value->>'movieId' = $2)`
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM catalog_state WHERE `+where, kind, movieID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", kind, err)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT value FROM catalog_state WHERE `+where+`
		ORDER BY lower(coalesce(value->>'name', value->>'title')), key
		LIMIT $3 OFFSET $4`, kind, movieID, p.Size, offset(p))
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, total, nil
}

// VideoKeys lists the keys of a movie's live videos.
func (db *DB) VideoKeys(ctx context.Context, movieID string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT key FROM catalog_state
		WHERE split_part(key, ':', 1) = 'video' AND value->>'movieId' = $1 AND `+notDeleted+`
		ORDER BY key`, movieID)
	if err != nil {
		return nil, fmt.Errorf("video keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Snapshot lists up to limit aggregates of the given kinds with a key after
// after, in key order (keyset paging on the primary key, so a page costs the
// same wherever it starts). Rows of other shapes, such as Dapr's outbox
// markers, are left out by the kind filter.
func (db *DB) Snapshot(ctx context.Context, kinds []string, after string, limit int) ([]catalogv1.SnapshotItem, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT key, split_part(key, ':', 1), coalesce(value->>'id', ''),
		       coalesce((value->>'version')::bigint, 0), coalesce(value->>'deleted', 'false') = 'true', value
		FROM catalog_state
		WHERE split_part(key, ':', 1) = ANY($1) AND key > $2
		ORDER BY key
		LIMIT $3`, kinds, after, limit)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogv1.SnapshotItem, error) {
		var it catalogv1.SnapshotItem
		return it, r.Scan(&it.Key, &it.Kind, &it.ID, &it.Version, &it.Deleted, &it.Document)
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return out, nil
}
