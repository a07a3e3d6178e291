// Package postgres reads the subscription service's state table with SQL
// (plan lists, a user's ACTIVE subscription, the subscriptions due for
// expiry) and applies its migrations. Writes never go through here: they are
// Dapr state transactions, so that each write and its event commit together.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/pgdb"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/subscription"
	"tenflix/services/subscription/migrations"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// Predicates, written as the migrations' partial indexes are, so that the
// planner uses them.
const (
	isPlan         = `split_part(key, ':', 1) = 'plan'`
	isSubscription = `split_part(key, ':', 1) = 'subscription'`
	isActive       = isSubscription + ` AND value->>'status' = 'ACTIVE'`
)

// DB is the service's SQL side (app.Reads).
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

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// rowsOf decodes rows of one jsonb document each.
func rowsOf[T any, D interface {
	*T
	proto.Message
}](rows pgx.Rows) ([]D, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (D, error) {
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return nil, err
		}
		doc := D(new(T))
		if err := decode.Unmarshal(raw, doc); err != nil {
			return nil, fmt.Errorf("decode stored document: %w", err)
		}
		return doc, nil
	})
}

// ListPlans pages through the plans (the active ones unless all), cheapest
// first, then by name.
func (db *DB) ListPlans(ctx context.Context, all bool, p app.Page) ([]*subscriptionv1.Plan, int, error) {
	const where = isPlan + ` AND ($1 OR value->>'active' = 'true')`
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM subscription_state WHERE `+where, all).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count plans: %w", err)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT value FROM subscription_state WHERE `+where+`
		ORDER BY (value->>'price')::bigint, lower(value->>'name'), key
		LIMIT $2 OFFSET $3`, all, p.Size, (p.Page-1)*p.Size)
	if err != nil {
		return nil, 0, fmt.Errorf("list plans: %w", err)
	}
	plans, err := rowsOf[subscriptionv1.Plan](rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list plans: %w", err)
	}
	return plans, total, nil
}

// PlanNameTaken reports whether a plan other than exceptID has name,
// ignoring case (the predicate of subscription_plan_unique_name).
func (db *DB) PlanNameTaken(ctx context.Context, name, exceptID string) (bool, error) {
	var taken bool
	err := db.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM subscription_state
		WHERE `+isPlan+` AND lower(value->>'name') = lower($1) AND key <> 'plan:' || $2)`,
		name, exceptID).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("plan name taken: %w", err)
	}
	return taken, nil
}

// activeSubscriptionQuery uses subscription_one_active_per_user.
const activeSubscriptionQuery = `
	SELECT value FROM subscription_state WHERE ` + isActive + ` AND value->>'userId' = $1`

// ActiveSubscription is the user's ACTIVE subscription (the unique index
// allows one), nil when there is none.
func (db *DB) ActiveSubscription(ctx context.Context, userID string) (*subscriptionv1.Subscription, error) {
	return db.oneSubscription(ctx, "active subscription", activeSubscriptionQuery, userID)
}

// latestSubscriptionQuery uses subscription_by_user.
const latestSubscriptionQuery = `
	SELECT value FROM subscription_state WHERE ` + isSubscription + ` AND value->>'userId' = $1
	ORDER BY (value->>'startAt') COLLATE "C" DESC, key DESC LIMIT 1`

// LatestSubscription is the user's most recently started subscription,
// whatever its status; nil when the user never had one.
func (db *DB) LatestSubscription(ctx context.Context, userID string) (*subscriptionv1.Subscription, error) {
	return db.oneSubscription(ctx, "latest subscription", latestSubscriptionQuery, userID)
}

func (db *DB) oneSubscription(ctx context.Context, what, query, userID string) (*subscriptionv1.Subscription, error) {
	var raw []byte
	err := db.pool.QueryRow(ctx, query, userID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sub := &subscriptionv1.Subscription{}
	if err := decode.Unmarshal(raw, sub); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", what, err)
	}
	return sub, nil
}

// dueForExpiryQuery uses subscription_active_by_end.
const dueForExpiryQuery = `
	SELECT substr(key, length('subscription:') + 1) FROM subscription_state
	WHERE ` + isActive + ` AND (value->>'endAt') COLLATE "C" <= $1
	ORDER BY (value->>'endAt') COLLATE "C", key
	LIMIT $2`

// DueForExpiry lists the order ids of up to limit ACTIVE subscriptions that
// end at or before now, the longest ended first (subscription_active_by_end;
// endAt compares as text, see the migration).
func (db *DB) DueForExpiry(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.pool.Query(ctx, dueForExpiryQuery, subscription.FormatTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due for expiry: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("due for expiry: %w", err)
	}
	return ids, nil
}
