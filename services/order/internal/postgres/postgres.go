// Package postgres reads the order service's orders with SQL (a user's
// history, the open order of a user, the orders the saga left waiting) and
// applies its migrations. Writes never go through here: they are Dapr state
// transactions, so that each write and its event commit together.
package postgres

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/pgdb"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
)

// The predicates of the migrations' partial indexes, repeated word for word
// so that the planner can use them.
const (
	isOrder     = `split_part(key, ':', 1) = 'order'`
	isOpen      = `value->>'status' IN ('PENDING', 'PAID')`
	isUnsettled = `(value->>'status' IN ('PENDING', 'PAID')
           OR (value->>'status' = 'CANCELLED' AND value->>'refundRequested' = 'true'))`
)

// DB is the order service's SQL side (app.Reads).
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

// Migrate applies the embedded migrations not applied yet. daprd must have
// created the state table first (it does when the component loads).
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) error {
	return pgdb.Migrate(ctx, db.pool, migrations, "order_migrations", 7105)
}

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// collect decodes rows of one jsonb value each into orders.
func collect(rows pgx.Rows) ([]*orderv1.Order, error) {
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]*orderv1.Order, 0, len(raws))
	for _, raw := range raws {
		o := &orderv1.Order{}
		if err := decode.Unmarshal(raw, o); err != nil {
			return nil, fmt.Errorf("decode order: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// ListByUser pages through a user's orders, newest first (createdAt, then
// key, so that pages never overlap).
func (db *DB) ListByUser(ctx context.Context, userID string, p app.Page) ([]*orderv1.Order, int, error) {
	const where = isOrder + ` AND value->>'userId' = $1`
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM order_state WHERE `+where, userID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT value FROM order_state WHERE `+where+`
		ORDER BY value->>'createdAt' DESC, key DESC
		LIMIT $2 OFFSET $3`, userID, p.Size, (p.Page-1)*p.Size)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	return out, total, nil
}

// OpenOrder is the user's PENDING or PAID order, nil when there is none.
func (db *DB) OpenOrder(ctx context.Context, userID string) (*orderv1.Order, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT value FROM order_state
		WHERE `+isOrder+` AND `+isOpen+` AND value->>'userId' = $1
		LIMIT 1`, userID)
	if err != nil {
		return nil, fmt.Errorf("open order: %w", err)
	}
	out, err := collect(rows)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out[0], nil
}

// Unsettled lists orders the saga is not done with whose updatedAt is
// before q.MovedBefore, oldest first. With q.QuietFor, rows written (by
// daprd: its updatedate column, which a re-announcement moves too) less than
// that long ago are left out.
func (db *DB) Unsettled(ctx context.Context, q app.UnsettledQuery) ([]*orderv1.Order, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT value FROM order_state
		WHERE `+isOrder+` AND `+isUnsettled+`
		  AND value->>'updatedAt' < $1
		  AND ($2 = 0 OR coalesce(updatedate, insertdate) < now() - make_interval(secs => $2))
		ORDER BY value->>'updatedAt', key
		LIMIT $3`, orders.Stamp(q.MovedBefore), q.QuietFor.Seconds(), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("unsettled orders: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("unsettled orders: %w", err)
	}
	return out, nil
}
