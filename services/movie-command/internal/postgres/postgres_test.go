package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/postgres/postgrestest"
	"tenflix/services/movie-command/migrations"

	catalogv1 "tenflix/proto/catalog/v1"
)

// newTestDB creates a fresh database on the machine's PostgreSQL, migrated
// like production, and dropped when the test ends.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t, "movie_command_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.pool.Exec(ctx, postgrestest.DaprStateTable); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	return db
}

func put(t *testing.T, db *DB, key, value string) error {
	t.Helper()
	_, err := db.pool.Exec(context.Background(),
		`INSERT INTO catalog_state (key, value, isbinary) VALUES ($1, $2, false)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := newTestDB(t)
	if err := db.Migrate(context.Background(), migrations.FS); err != nil {
		t.Fatal(err)
	}
}

func TestNamesAreUniquePerKindIgnoringCase(t *testing.T) {
	db := newTestDB(t)
	if err := put(t, db, "actor:1", `{"id":"1","name":"Tom Hanks","version":"1","deleted":false}`); err != nil {
		t.Fatal(err)
	}
	err := put(t, db, "actor:2", `{"id":"2","name":"TOM HANKS","version":"1","deleted":false}`)
	if !isUniqueViolation(err) {
		t.Fatalf("duplicate actor name accepted: %v", err)
	}
	// Same name, other kind: fine.
	if err := put(t, db, "tag:1", `{"id":"1","name":"Tom Hanks","version":"1","deleted":false}`); err != nil {
		t.Fatal(err)
	}
	// A tombstone frees the name.
	if err := put(t, db, "actor:1", `{"id":"1","name":"Tom Hanks","version":"2","deleted":true}`); err != nil {
		t.Fatal(err)
	}
	if err := put(t, db, "actor:2", `{"id":"2","name":"tom hanks","version":"1","deleted":false}`); err != nil {
		t.Fatalf("name of a deleted actor not reusable: %v", err)
	}
	// Movies may share names.
	for _, k := range []string{"movie:1", "movie:2"} {
		if err := put(t, db, k, `{"id":"`+k+`","name":"Heat","version":"1"}`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListAndResolve(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for key, v := range map[string]string{
		"actor:a": `{"id":"a","name":"Zoe","version":"3"}`,
		"actor:b": `{"id":"b","name":"adam","version":"1"}`,
		"actor:c": `{"id":"c","name":"Gone","version":"2","deleted":true}`,
		"tag:t":   `{"id":"t","name":"Adam","version":"1"}`,
	} {
		if err := put(t, db, key, v); err != nil {
			t.Fatal(err)
		}
	}
	got, total, err := db.ListNamed(ctx, "actor", "", app.Page{Page: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(got) != 2 || got[0].Name != "adam" || got[1].Name != "Zoe" || got[1].Version != 3 {
		t.Fatalf("list: %d %+v", total, got)
	}
	got, total, _ = db.ListNamed(ctx, "actor", "ZO", app.Page{Page: 1, Size: 10})
	if total != 1 || got[0].ID != "a" {
		t.Fatalf("search: %d %+v", total, got)
	}
	got, total, _ = db.ListNamed(ctx, "actor", "", app.Page{Page: 2, Size: 1})
	if total != 2 || len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("page 2: %d %+v", total, got)
	}
	found, err := db.ResolveRefs(ctx, "actor", []string{"a", "c"}, []string{"ADAM", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("resolve: %+v (the deleted actor c must not resolve)", found)
	}
	names, err := db.CurrentNames(ctx, []string{"actor:a", "actor:c", "actor:x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names["actor:a"] != "Zoe" {
		t.Fatalf("current names: %v", names)
	}
}

func TestVideosOfAMovie(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	// Live videos need live movies (migrations/002).
	for _, id := range []string{"m", "other"} {
		if err := put(t, db, "movie:"+id, movieDoc(id, 1, false)); err != nil {
			t.Fatal(err)
		}
	}
	for key, v := range map[string]string{
		"video:1": `{"id":"1","movieId":"m","title":"b","version":"1"}`,
		"video:2": `{"id":"2","movieId":"m","title":"A","version":"1"}`,
		"video:3": `{"id":"3","movieId":"m","title":"c","version":"2","deleted":true}`,
		"video:4": `{"id":"4","movieId":"other","title":"d","version":"1"}`,
	} {
		if err := put(t, db, key, v); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := db.VideoKeys(ctx, "m")
	if err != nil || len(keys) != 2 {
		t.Fatalf("video keys: %v %v", keys, err)
	}
	docs, total, err := db.ListDocs(ctx, "video", "m", app.Page{Page: 1, Size: 10})
	if err != nil || total != 2 || len(docs) != 2 {
		t.Fatalf("list docs: %d %v", total, err)
	}
	if !strings.Contains(string(docs[0]), `"title": "A"`) {
		t.Fatalf("order by title: %s", docs[0])
	}
}

func TestSnapshotPagesThroughEveryAggregate(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for _, row := range [][2]string{ // a movie before its video
		{"actor:a", `{"kind":"actor","id":"a","name":"Zoe","version":"3"}`},
		{"movie:m", `{"id":"m","name":"Heat","version":"1"}`},
		{"movie:n", `{"id":"n","name":"Thief","version":"2","deleted":true}`},
		{"video:v", `{"id":"v","movieId":"m","title":"Trailer","version":"1"}`},
		// Dapr's outbox marker rows share the table; they are not aggregates.
		{"outbox-0b1c", `"0"`},
	} {
		if err := put(t, db, row[0], row[1]); err != nil {
			t.Fatal(err)
		}
	}
	kinds := []string{"actor", "movie", "video"}
	var got []catalogv1.SnapshotItem
	for after := ""; ; {
		page, err := db.Snapshot(ctx, kinds, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].Key
	}
	if len(got) != 4 {
		t.Fatalf("snapshot: %+v, want the 4 aggregates", got)
	}
	a, m, n, v := got[0], got[1], got[2], got[3]
	if a.Key != "actor:a" || a.Kind != "actor" || a.ID != "a" || a.Version != 3 || a.Deleted {
		t.Errorf("actor: %+v", a)
	}
	if m.Key != "movie:m" || m.Version != 1 || m.Deleted {
		t.Errorf("movie: %+v", m)
	}
	if n.Key != "movie:n" || n.Version != 2 || !n.Deleted {
		t.Errorf("deleted movie: %+v", n)
	}
	if v.Kind != "video" || v.Version != 1 || !strings.Contains(string(v.Document), `"movieId": "m"`) {
		t.Errorf("video: %+v %s", v, v.Document)
	}
}
