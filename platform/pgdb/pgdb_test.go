package pgdb_test

import (
	"context"
	"testing"
	"testing/fstest"

	"tenflix/platform/pgdb"
	"tenflix/platform/pgdb/pgtest"
)

func TestMigrateAppliesEachFileOnce(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, pgtest.NewDatabase(t, "platform_test"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	files := fstest.MapFS{
		"001_a.sql": {Data: []byte(`CREATE TABLE a (n int)`)},
		"002_b.sql": {Data: []byte(`INSERT INTO a VALUES (1)`)},
	}
	for range 2 {
		if err := pgdb.Migrate(ctx, pool, files, "test_migrations", 42); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows %d, err %v: a migration ran twice or not at all", n, err)
	}
	files["003_bad.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE a (n int)`)}
	if err := pgdb.Migrate(ctx, pool, files, "test_migrations", 42); err == nil {
		t.Fatal("a failing migration reported no error")
	}
	if err := pgdb.Migrate(ctx, pool, files, "bad name; drop", 42); err == nil {
		t.Fatal("bad table name accepted")
	}
}
