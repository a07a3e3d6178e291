// Package postgres applies payment's migrations to the database of its
// Dapr state store. Nothing is read or written here: payments are Dapr
// state, so that each write and its event commit together.
package postgres

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"
)

// lockID serialises the migrations of payment instances that start together.
const lockID = 7106

// Migrate connects to dsn, applies the embedded migrations not applied yet
// and disconnects.
func Migrate(ctx context.Context, dsn string, migrations fs.FS) error {
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool, migrations)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	return pgdb.Migrate(ctx, pool, migrations, "payment_migrations", lockID)
}
