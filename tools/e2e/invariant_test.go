package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// TestVideoNeverOutlivesItsMovie races deleting a movie against adding a
// video to it, round after round: each answer is clean (204/409 for the
// delete, 201/400 for the video), at least one of the two wins, and the end
// state is either the live movie with the video, or neither; the query side
// comes to agree. In one movie-command instance its in-process locks may
// order the two; across instances PostgreSQL does (migrations/002, and the
// SQL race test in services/movie-command/internal/postgres).
func TestVideoNeverOutlivesItsMovie(t *testing.T) {
	const rounds = 20
	u := randomHex(3)
	type result struct {
		movieID, videoID string
		movieLive        bool
	}
	var results []result
	tally := map[string]int{}
	for i := range rounds {
		r := command(t, http.MethodPost, "/movies", map[string]any{
			"name": fmt.Sprintf("Doomed %d %s", i, u), "type": "movie", "releaseDate": "2010-01-01"})
		mustStatus(t, r, http.StatusCreated)
		var m movie
		r.json(t, &m)

		var del, add response
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			del = command(t, http.MethodDelete, "/movies/"+m.ID, nil)
		})
		wg.Go(func() {
			<-start
			add = command(t, http.MethodPost, "/videos", map[string]any{
				"movieId": m.ID, "title": "Last words", "lengthSeconds": 60, "url": "https://cdn.example/doomed.m3u8"})
		})
		close(start)
		wg.Wait()

		deleted, added := del.Status == http.StatusNoContent, add.Status == http.StatusCreated
		if !deleted && del.Status != http.StatusConflict {
			t.Fatalf("round %d: delete answered %d %s", i, del.Status, del.Body)
		}
		if !added && (add.Status != http.StatusBadRequest || add.errorCode() != "invalid") {
			t.Fatalf("round %d: add video answered %d %s", i, add.Status, add.Body)
		}
		if !deleted && !added {
			t.Fatalf("round %d: both lost: %s; %s", i, del.Body, add.Body)
		}
		var v video
		if added {
			add.json(t, &v)
		}
		tally[fmt.Sprintf("delete %d, video %d", del.Status, add.Status)]++

		// The command side: a live movie lists the video; a deleted one
		// leaves no live video behind (a video created just before the
		// delete read the movie's videos is deleted with it).
		got := command(t, http.MethodGet, "/movies/"+m.ID, nil)
		switch {
		case deleted:
			mustStatus(t, got, http.StatusNotFound)
			if added {
				mustStatus(t, command(t, http.MethodGet, "/videos/"+v.ID, nil), http.StatusNotFound)
			}
		default:
			mustStatus(t, got, http.StatusOK)
			var live movie
			got.json(t, &live)
			if len(live.Videos) != 1 || live.Videos[0].ID != v.ID {
				t.Fatalf("round %d: live movie without its video: %s", i, got.Body)
			}
		}
		results = append(results, result{movieID: m.ID, videoID: v.ID, movieLive: !deleted})
	}
	t.Logf("%d rounds: %v", rounds, tally)

	for _, r := range results {
		eventually(t, propagation, "query side agrees on movie "+r.movieID, func() bool {
			m, status := queryMovie(t, r.movieID)
			if !r.movieLive {
				return status == http.StatusNotFound
			}
			return status == http.StatusOK && slices.ContainsFunc(m.Videos, func(v video) bool { return v.ID == r.videoID })
		})
	}
}
