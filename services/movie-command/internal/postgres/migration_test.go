package postgres

import (
	"context"
	"testing"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/movie-command/internal/postgres/postgrestest"
	"tenflix/services/movie-command/migrations"
)

// Videos stored with today's "ready" become READY, played by URL.
func TestMigrationUpperCasesReadyVideos(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t, "movie_command_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.pool.Exec(ctx, postgrestest.DaprStateTable); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{
		{"movie:m", `{"id":"m","name":"M","version":"1"}`},
		{"video:old", `{"id":"old","movieId":"m","title":"Old","status":"ready","url":"https://x/y.mp4","version":"1"}`},
		{"video:new", `{"id":"new","movieId":"m","title":"New","status":"TRANSCODING","playback":"","version":"2"}`},
	} {
		if _, err := db.pool.Exec(ctx, `INSERT INTO catalog_state (key, value, isbinary) VALUES ($1, $2, false)`, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	var old, other string
	if err := db.pool.QueryRow(ctx, `SELECT (value->>'status') || ' ' || (value->>'playback') FROM catalog_state WHERE key = 'video:old'`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT value->>'status' FROM catalog_state WHERE key = 'video:new'`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	if old != "READY url" || other != "TRANSCODING" {
		t.Fatalf("after the migration: old video %q (want READY url), uploaded one %q (want TRANSCODING)", old, other)
	}
}
