package e2e

import (
	"net/http"
	"strings"
	"testing"
)

type watchAnswer struct {
	Video struct {
		ID     string  `json:"id"`
		Status string  `json:"status"`
		URL    *string `json:"url"`
	} `json:"video"`
	PlaybackURL string  `json:"playbackUrl"`
	ResumeAt    float64 `json:"resumeAt"`
}

type continueWatching struct {
	Items []struct {
		MovieID, MovieTitle, VideoID, VideoTitle string
		PositionSeconds                          float64
		LengthSeconds                            int
	} `json:"items"`
	Total int `json:"total"`
}

// TestWatchingNeedsASubscriptionAndKeepsEachUsersPlace: through the gateway,
// a user who bought a plan (saga and Midtrans emulator) gets the playback URL
// of a READY video (one added by URL: no media service needed); a user
// without a subscription gets 403 not_subscribed; positions and
// continue-watching are per user.
func TestWatchingNeedsASubscriptionAndKeepsEachUsersPlace(t *testing.T) {
	u := randomHex(3)
	r := command(t, http.MethodPost, "/movies", map[string]any{
		"name": "Watchable " + u, "type": "movie", "synopsis": "For the watch test.", "mpaRating": "PG",
		"releaseDate": "2001-01-01", "rating": 7.1,
	})
	mustStatus(t, r, http.StatusCreated)
	var m movie
	r.json(t, &m)
	const address = "https://cdn.example/watchable/feature.mp4"
	r = command(t, http.MethodPost, "/videos", map[string]any{
		"movieId": m.ID, "title": "Feature " + u, "lengthSeconds": 200, "url": address,
	})
	mustStatus(t, r, http.StatusCreated)
	var v video
	r.json(t, &v)
	eventually(t, propagation, "video READY on the query side", func() bool {
		got, _ := queryMovie(t, m.ID)
		return len(got.Videos) == 1 && got.Videos[0].Status == "READY"
	})
	if r := query(t, http.MethodGet, "/movies/"+m.ID); strings.Contains(string(r.Body), address) {
		t.Fatalf("the movie detail shows the video's address: %s", r.Body)
	}

	subscriber, stranger := newViewer(t), newViewer(t)
	o := placeOrder(t, subscriber, createPlan(t, 50000, 0, 30).ID)
	pay(t, o.Order.ID, "settlement", "accept", "bank_transfer")
	waitStatus(t, subscriber, o.Order.ID, "COMPLETED")

	watchPath := "/api/v1/movie-query/videos/" + m.ID + "/" + v.ID
	r = subscriber.do(t, http.MethodGet, watchPath, nil)
	mustStatus(t, r, http.StatusOK)
	var a watchAnswer
	r.json(t, &a)
	if a.PlaybackURL != address || a.Video.ID != v.ID || a.Video.Status != "READY" || a.Video.URL != nil || a.ResumeAt != 0 {
		t.Fatalf("subscriber's answer: %s", r.Body)
	}
	r = stranger.do(t, http.MethodGet, watchPath, nil)
	if r.Status != http.StatusForbidden || r.errorCode() != "not_subscribed" || strings.Contains(string(r.Body), address) {
		t.Fatalf("stranger: %d %s, want 403 not_subscribed", r.Status, r.Body)
	}
	if r := subscriber.do(t, http.MethodGet, "/api/v1/movie-query/videos/"+m.ID+"/00000000-0000-0000-0000-000000000000", nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown video: %d %s, want 404", r.Status, r.Body)
	}

	progress := watchPath + "/progress"
	mustStatus(t, subscriber.do(t, http.MethodPut, progress, map[string]any{"positionSeconds": 42.5}), http.StatusOK)
	mustStatus(t, stranger.do(t, http.MethodPut, progress, map[string]any{"positionSeconds": 10}), http.StatusOK)
	// The user is the token's, never the body's.
	r = stranger.do(t, http.MethodPut, progress, map[string]any{"positionSeconds": 150, "userId": subscriber.ID})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("a userId in the body: %d %s, want 400", r.Status, r.Body)
	}
	for _, bad := range []any{map[string]any{"positionSeconds": -1}, map[string]any{"positionSeconds": 1e9}, map[string]any{"positionSeconds": "NaN"}} {
		if r := subscriber.do(t, http.MethodPut, progress, bad); r.Status != http.StatusBadRequest || r.errorCode() != "invalid" {
			t.Fatalf("progress %v: %d %s, want 400 invalid", bad, r.Status, r.Body)
		}
	}

	r = subscriber.do(t, http.MethodGet, watchPath, nil)
	mustStatus(t, r, http.StatusOK)
	r.json(t, &a)
	if a.ResumeAt != 42.5 {
		t.Fatalf("resumeAt = %v, want 42.5", a.ResumeAt)
	}
	for _, c := range []struct {
		who  viewer
		want float64
	}{{subscriber, 42.5}, {stranger, 10}} {
		var cw continueWatching
		r := c.who.do(t, http.MethodGet, "/api/v1/movie-query/continue-watching", nil)
		mustStatus(t, r, http.StatusOK)
		r.json(t, &cw)
		if cw.Total != 1 || len(cw.Items) != 1 || cw.Items[0].VideoID != v.ID || cw.Items[0].MovieTitle != m.Name ||
			cw.Items[0].PositionSeconds != c.want || cw.Items[0].LengthSeconds != 200 {
			t.Fatalf("continue-watching of %s: %s, want only %s at %v", c.who.Email, r.Body, v.ID, c.want)
		}
	}
	// Past 90 %: finished, out of the list.
	mustStatus(t, subscriber.do(t, http.MethodPut, progress, map[string]any{"positionSeconds": 195}), http.StatusOK)
	var cw continueWatching
	r = subscriber.do(t, http.MethodGet, "/api/v1/movie-query/continue-watching", nil)
	r.json(t, &cw)
	if cw.Total != 0 {
		t.Fatalf("continue-watching after finishing: %s", r.Body)
	}
}
