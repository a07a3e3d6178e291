package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/subscriber"
	catalogv1 "tenflix/proto/catalog/v1"
	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
	"tenflix/services/movie-query/internal/projector"
	"tenflix/services/movie-query/internal/reconcile"
)

// pgSource serves movie-command's snapshot from a PostgreSQL table of the
// shape daprd's state.postgresql v1 creates (key, jsonb value), as
// movie-command's GET /internal/catalog/snapshot does, two items a page.
type pgSource struct {
	conn *pgx.Conn
}

func newPGSource(t *testing.T) *pgSource {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t, "movie_query_reconcile"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `CREATE TABLE catalog_state (key text PRIMARY KEY, value jsonb NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &pgSource{conn: conn}
}

func (s *pgSource) put(t *testing.T, kind, id, doc string) {
	t.Helper()
	_, err := s.conn.Exec(context.Background(),
		`INSERT INTO catalog_state (key, value) VALUES ($1, $2)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, kind+":"+id, doc)
	if err != nil {
		t.Fatal(err)
	}
}

func (s *pgSource) SnapshotPage(ctx context.Context, after string) (catalogv1.SnapshotPage, error) {
	const limit = 2
	rows, err := s.conn.Query(ctx, `
		SELECT key, split_part(key, ':', 1), value->>'id', (value->>'version')::bigint,
		       coalesce(value->>'deleted', 'false') = 'true', value
		FROM catalog_state WHERE key > $1 ORDER BY key LIMIT $2`, after, limit)
	if err != nil {
		return catalogv1.SnapshotPage{}, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogv1.SnapshotItem, error) {
		var it catalogv1.SnapshotItem
		return it, r.Scan(&it.Key, &it.Kind, &it.ID, &it.Version, &it.Deleted, &it.Document)
	})
	if err != nil {
		return catalogv1.SnapshotPage{}, err
	}
	page := catalogv1.SnapshotPage{Items: items}
	if len(items) == limit {
		page.Next = items[len(items)-1].Key
	}
	return page, nil
}

// deliver applies an event as the subscription would.
func deliver(t *testing.T, p *projector.Projector, kind, action, doc string) {
	t.Helper()
	err := p.Handle(context.Background(), subscriber.Event{ID: "e", Type: catalogv1.EventType(kind, action), Data: json.RawMessage(doc)})
	if err != nil {
		t.Fatalf("deliver %s %s: %v", kind, action, err)
	}
}

func changes(cs []reconcile.Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Kind+":"+c.ID+" "+c.Reason)
	}
	slices.Sort(out)
	return out
}

const (
	heatV1 = `{"id":"m1","name":"Heat","actors":[{"id":"a1","name":"Al Pacino","version":"1"}],"version":"1"}`
	alV1   = `{"kind":"actor","id":"a1","name":"Al Pacino","version":"1"}`
	alV2   = `{"kind":"actor","id":"a1","name":"Alfredo Pacino","version":"2"}`
)

func TestRunRepairsDrift(t *testing.T) {
	ctx := context.Background()
	store := mongotest.NewStore(t)
	p := projector.New(store)
	src := newPGSource(t)

	// movie-command's state.
	src.put(t, "actor", "a1", alV2)
	src.put(t, "movie", "m1", heatV1)
	src.put(t, "movie", "m2", `{"id":"m2","name":"Collateral (director's cut)","version":"3"}`)
	src.put(t, "movie", "m3", `{"id":"m3","name":"Thief","version":"2","deleted":true}`)
	src.put(t, "video", "v1", `{"id":"v1","movieId":"m1","title":"Trailer","status":"ready","version":"1"}`)
	src.put(t, "tag", "t1", `{"kind":"tag","id":"t1","name":"Old","version":"2","deleted":true}`)

	// The read model, with events lost on the way: the rename of a1, m2's
	// updates, m3's delete, v1's creation; m9 and a9 movie-command never had.
	deliver(t, p, "actor", "created", alV1)
	deliver(t, p, "movie", "created", heatV1)
	deliver(t, p, "movie", "created", `{"id":"m2","name":"Collateral","version":"1"}`)
	deliver(t, p, "movie", "created", `{"id":"m3","name":"Thief","version":"1"}`)
	deliver(t, p, "actor", "created", `{"kind":"actor","id":"a9","name":"Stray","version":"1"}`)
	deliver(t, p, "movie", "created", `{"id":"m9","name":"Stray","actors":[{"id":"a9","name":"Stray","version":"1"}],"version":"4"}`)
	deliver(t, p, "tag", "deleted", `{"kind":"tag","id":"t1","version":"2"}`)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := reconcile.New(src, store, p.Handle, log, 0)
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 6 {
		t.Errorf("checked %d, want 6", rep.Checked)
	}
	if got, want := changes(rep.Repaired), []string{"actor:a1 stale", "movie:m2 stale", "video:v1 missing"}; !slices.Equal(got, want) {
		t.Errorf("repaired %v, want %v", got, want)
	}
	if got, want := changes(rep.Removed), []string{"actor:a9 unknown", "movie:m3 deleted", "movie:m9 unknown"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	if len(rep.Failed) != 0 {
		t.Errorf("failed %+v", rep.Failed)
	}
	for _, c := range rep.Repaired {
		if c.Kind == "movie" && (c.From != 1 || c.To != 3) {
			t.Errorf("m2 change %+v, want from 1 to 3", c)
		}
	}

	heat, err := store.Movie(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(heat.Actors) != 1 || heat.Actors[0].Name != "Alfredo Pacino" || len(heat.Videos) != 1 || heat.Videos[0].ID != "v1" {
		t.Errorf("m1 = %+v, want the renamed actor and the video", heat)
	}
	if m2, err := store.Movie(ctx, "m2"); err != nil || m2.Version != 3 || m2.Name != "Collateral (director's cut)" {
		t.Errorf("m2 = %+v, %v; want version 3", m2.Movie, err)
	}
	for _, id := range []string{"m3", "m9"} {
		if _, err := store.Movie(ctx, id); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("movie %s: err = %v, want not found", id, err)
		}
	}
	if _, found, err := store.Stamp(ctx, "actor", "a9"); err != nil || found {
		t.Errorf("stray actor a9 still there (%v)", err)
	}

	// A second run finds nothing to do.
	rep, err = r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Repaired)+len(rep.Removed)+len(rep.Failed) != 0 {
		t.Errorf("second run changed %+v", rep)
	}
}

func TestRunReportsDocumentsTheProjectorRefuses(t *testing.T) {
	store := mongotest.NewStore(t)
	src := newPGSource(t)
	src.put(t, "movie", "m1", `{"id":"m1","name":"Heat","version":"1"}`)
	src.put(t, "video", "v1", `{"id":"v1","title":"No movie","version":"1"}`)

	r := reconcile.New(src, store, projector.New(store).Handle, slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := changes(rep.Repaired); !slices.Equal(got, []string{"movie:m1 missing"}) {
		t.Errorf("repaired %v", got)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].ID != "v1" || rep.Failed[0].Error == "" {
		t.Errorf("failed %+v, want v1 with its error", rep.Failed)
	}
}

func TestRunStopsWhenTheReadModelIsDown(t *testing.T) {
	client := mongotest.Client(t)
	store, err := mongostore.New(context.Background(), client.Database(mongotest.NewDatabaseName(t, client)))
	if err != nil {
		t.Fatal(err)
	}
	src := newPGSource(t)
	src.put(t, "movie", "m1", `{"id":"m1","name":"Heat","version":"1"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := reconcile.New(src, store, projector.New(store).Handle, slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	if _, err := r.Run(ctx); err == nil {
		t.Fatal("Run = nil, want an error")
	}
}

func TestRunDoesNotReportAnEventThatLandsWhileItSettles(t *testing.T) {
	store := mongotest.NewStore(t)
	p := projector.New(store)
	src := newPGSource(t)
	src.put(t, "movie", "m1", `{"id":"m1","name":"Heat (remastered)","version":"2"}`)
	src.put(t, "movie", "m2", `{"id":"m2","name":"Thief","version":"1"}`)
	deliver(t, p, "movie", "created", `{"id":"m1","name":"Heat","version":"1"}`)

	const settle = time.Second
	r := reconcile.New(src, store, p.Handle, slog.New(slog.NewTextHandler(io.Discard, nil)), settle)
	done := make(chan reconcile.Report, 1)
	go func() {
		rep, err := r.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	time.Sleep(settle / 3) // m1's update event arrives late, but arrives
	deliver(t, p, "movie", "updated", `{"id":"m1","name":"Heat (remastered)","version":"2"}`)

	rep := <-done
	if got := changes(rep.Repaired); !slices.Equal(got, []string{"movie:m2 missing"}) {
		t.Errorf("repaired %v, want only m2 (m1's event landed)", got)
	}
}

// A repair carries every field of a video as movie-command holds it, in
// today's words (a video stored before issue 9 says "ready").
func TestRepairCarriesVideoFields(t *testing.T) {
	ctx := context.Background()
	store := mongotest.NewStore(t)
	p := projector.New(store)
	src := newPGSource(t)
	src.put(t, "movie", "m1", heatV1)
	src.put(t, "video", "v1", `{"id":"v1","movieId":"m1","title":"Old","url":"https://cdn.example/v1.mp4","status":"ready","version":"1"}`)
	src.put(t, "video", "v2", `{"id":"v2","movieId":"m1","title":"Feature","lengthSeconds":600,"status":"FAILED",
		"failureReason":"not a decodable video","playback":"hls","url":"v2/master.m3u8","posterUrl":"v2/poster.jpg","version":"4"}`)
	deliver(t, p, "movie", "created", heatV1)

	r := reconcile.New(src, store, p.Handle, slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	heat, err := store.Movie(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Video{
		{ID: "v2", MovieID: "m1", Title: "Feature", LengthSeconds: 600, URL: "v2/master.m3u8", Status: catalog.StatusFailed,
			FailureReason: "not a decodable video", Playback: catalog.PlaybackHLS, PosterURL: "v2/poster.jpg", Version: 4},
		{ID: "v1", MovieID: "m1", Title: "Old", URL: "https://cdn.example/v1.mp4", Status: catalog.StatusReady,
			Playback: catalog.PlaybackURL, Version: 1},
	}
	if !slices.Equal(heat.Videos, want) {
		t.Fatalf("videos = %+v\nwant %+v", heat.Videos, want)
	}
}
