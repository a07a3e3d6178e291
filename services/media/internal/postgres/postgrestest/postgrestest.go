// Package postgrestest gives a test its own migrated media database.
package postgrestest

import (
	"context"
	"testing"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/media/internal/postgres"
	"tenflix/services/media/migrations"
)

// New returns a DB on a fresh database, migrated, closed on cleanup.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t, "media_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	return db
}
