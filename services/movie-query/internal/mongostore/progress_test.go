package mongostore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
)

// Videos stored before issue 9 (status "ready", no playback) read as READY
// videos played by URL once the store is opened; opening it again changes
// nothing.
func TestOpeningMigratesReadyVideos(t *testing.T) {
	ctx := context.Background()
	client := mongotest.Client(t)
	db := client.Database(mongotest.NewDatabaseName(t, client))
	_, err := db.Collection("videos").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: "old"}, {Key: "movieId", Value: "m1"}, {Key: "title", Value: "Old"},
			{Key: "url", Value: "https://cdn.example/old.mp4"}, {Key: "status", Value: "ready"}, {Key: "version", Value: int64(3)}, {Key: "deleted", Value: false}},
		bson.D{{Key: "_id", Value: "new"}, {Key: "movieId", Value: "m1"}, {Key: "title", Value: "New"},
			{Key: "url", Value: "new/master.m3u8"}, {Key: "playback", Value: "hls"}, {Key: "status", Value: "TRANSCODING"}, {Key: "version", Value: int64(2)}, {Key: "deleted", Value: false}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := mongostore.New(ctx, db)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		apply(t, s, movie("m1", 1))
		d := getMovie(t, s, "m1")
		got := map[string]catalog.Video{}
		for _, v := range d.Videos {
			got[v.ID] = v
		}
		if v := got["old"]; v.Status != catalog.StatusReady || v.Playback != catalog.PlaybackURL || v.Version != 3 {
			t.Fatalf("migrated video = %+v", v)
		}
		if v := got["new"]; v.Status != catalog.StatusTranscoding || v.Playback != catalog.PlaybackHLS {
			t.Fatalf("video of today = %+v", v)
		}
	}
}

func TestSaveProgressKeepsOnePerUserAndVideo(t *testing.T) {
	s := mongotest.NewStore(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	// First saves racing: the unique index keeps one document.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.SaveProgress(ctx, catalog.Progress{UserID: "u1", VideoID: "v1", MovieID: "m1",
				PositionSeconds: float64(i), LengthSeconds: 100, UpdatedAt: at})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("SaveProgress: %v", err)
		}
	}
	want := catalog.Progress{UserID: "u1", VideoID: "v1", MovieID: "m1", PositionSeconds: 42.5, LengthSeconds: 100, UpdatedAt: at.Add(time.Second)}
	if err := s.SaveProgress(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Progress(ctx, "u1", "v1")
	if err != nil || !found || got != want {
		t.Fatalf("Progress = %+v, %v, %v; want %+v", got, found, err, want)
	}
	if _, found, err := s.Progress(ctx, "u2", "v1"); err != nil || found {
		t.Fatalf("another user's progress: found %v, %v", found, err)
	}
	apply(t, s, movie("m1", 1), catalog.Video{ID: "v1", MovieID: "m1", Title: "T", LengthSeconds: 100, Status: catalog.StatusReady, Version: 1})
	page, err := s.InProgress(ctx, "u1", catalog.PageQuery{Page: 1, Size: 10})
	if err != nil || page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("InProgress = %+v, %v; want the one document", page, err)
	}
}

// A video that reconciliation removes (unknown to movie-command) takes its
// progress with it.
func TestRemovedVideoForgetsProgress(t *testing.T) {
	s := mongotest.NewStore(t)
	ctx := context.Background()
	apply(t, s, movie("m1", 1), catalog.Video{ID: "v1", MovieID: "m1", Title: "T", LengthSeconds: 100, Status: catalog.StatusReady, Version: 2})
	if err := s.SaveProgress(ctx, catalog.Progress{UserID: "u1", VideoID: "v1", MovieID: "m1", PositionSeconds: 5, LengthSeconds: 100, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.Remove(ctx, catalog.KindVideo, "v1", 2); err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if _, found, err := s.Progress(ctx, "u1", "v1"); err != nil || found {
		t.Fatalf("progress of a removed video: found %v, %v", found, err)
	}
}
