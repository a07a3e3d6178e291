// Package dbtest gives each test its own PostgreSQL database on the
// machine's server (PG_URL, default postgres://postgres@127.0.0.1:5432),
// migrated with the migrations production uses, dropped when the test ends,
// and a stand-in of the sidecar's state API over it (Daprd), so that
// accounts are written the way production writes them.
package dbtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/identity/internal/postgres"
	"tenflix/services/identity/internal/statestore"
	"tenflix/services/identity/migrations"
)

// Database is a migrated test database. Besides the SQL adapter, it has the
// state store adapter (Users, through Dapr's stand-in), and direct SQL for
// tests that set up or inspect rows the API cannot reach (e.g. moving
// timestamps into the past).
type Database struct {
	*postgres.DB
	Users *statestore.Users
	Dapr  *Daprd
	DSN   string
	pool  *pgxpool.Pool
}

// New creates a fresh database, starts the sidecar's stand-in on it (which
// creates the state table, as daprd does), then opens and migrates it.
func New(t testing.TB) *Database {
	t.Helper()
	ctx := context.Background()
	dsn := NewEmpty(t)
	dapr := StartDaprd(t, dsn)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &Database{DB: db, Users: dapr.Users(), Dapr: dapr, DSN: dsn, pool: pool}
}

// NewEmpty creates a fresh, empty database and returns its URL.
func NewEmpty(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t, "identity_test")
}

// Exec runs SQL and returns the number of rows affected.
func (d *Database) Exec(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	tag, err := d.pool.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// TryExec runs SQL and returns its error, for tests that expect the
// database to refuse it.
func (d *Database) TryExec(sql string, args ...any) error {
	_, err := d.pool.Exec(context.Background(), sql, args...)
	return err
}

// QueryInt runs a query returning one integer.
func (d *Database) QueryInt(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := d.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
