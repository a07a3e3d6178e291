package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Visible on the query side within the outbox floor (1 s) plus a little;
// generous here because CI machines are busy.
const propagation = 20 * time.Second

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type video struct {
	ID            string `json:"id"`
	MovieID       string `json:"movieId"`
	Title         string `json:"title"`
	LengthSeconds int    `json:"lengthSeconds"`
	URL           string `json:"url"`
	Status        string `json:"status"`
}

type movie struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	ReleaseDate string  `json:"releaseDate"`
	Rating      float64 `json:"rating"`
	Actors      []named `json:"actors"`
	Creators    []named `json:"creators"`
	Categories  []named `json:"categories"`
	Tags        []named `json:"tags"`
	Videos      []video `json:"videos"`
}

type movieList struct {
	Items []movie `json:"items"`
	Page  int     `json:"page"`
	Size  int     `json:"size"`
	Total int     `json:"total"`
}

func createNamed(t testing.TB, plural, name string) named {
	t.Helper()
	r := command(t, http.MethodPost, "/"+plural, map[string]any{"name": name})
	mustStatus(t, r, http.StatusCreated)
	var n named
	r.json(t, &n)
	if n.ID == "" || n.Name != name {
		t.Fatalf("create %s: %s", plural, r.Body)
	}
	return n
}

func queryMovie(t testing.TB, id string) (movie, int) {
	t.Helper()
	r := query(t, http.MethodGet, "/movies/"+id)
	var m movie
	if r.Status == http.StatusOK {
		r.json(t, &m)
	}
	return m, r.Status
}

func names(ns []named) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

func TestCatalogWritesReachTheQuerySide(t *testing.T) {
	u := randomHex(3)
	actor := createNamed(t, "actors", "Keanu Reeves "+u)
	director := createNamed(t, "creators", "Lana Wachowski "+u)
	genre := createNamed(t, "categories", "Sci-Fi "+u)
	tag := createNamed(t, "tags", "cyberpunk-"+u)

	// Reference by name, by id, and as a bare string.
	r := command(t, http.MethodPost, "/movies", map[string]any{
		"name": "The Matrix " + u, "type": "movie", "synopsis": "A hacker learns the truth.",
		"mpaRating": "R", "releaseDate": "1999-03-31", "rating": 8.7,
		"image":      "https://img.example/matrix.jpg",
		"actors":     []any{map[string]string{"name": "keanu reeves " + u}},
		"creators":   []any{map[string]string{"id": director.ID}},
		"categories": []any{genre.Name},
		"tags":       []any{map[string]string{"id": tag.ID}},
		"notify":     true,
	})
	mustStatus(t, r, http.StatusCreated)
	var created movie
	r.json(t, &created)
	if created.ID == "" || !slices.Equal(names(created.Actors), []string{actor.Name}) || !strings.Contains(string(r.Body), `"videos":[]`) {
		t.Fatalf("created movie: %s", r.Body)
	}

	lag := eventually(t, propagation, "movie on the query side", func() bool {
		m, status := queryMovie(t, created.ID)
		return status == http.StatusOK && m.Name == created.Name && len(m.Actors) == 1 && m.Actors[0].Name == actor.Name
	})
	t.Logf("create -> query: %s", lag)

	// A video added by URL shows up in the movie detail.
	r = command(t, http.MethodPost, "/videos", map[string]any{
		"movieId": created.ID, "title": "Trailer", "lengthSeconds": 150, "url": "https://cdn.example/matrix/trailer.m3u8",
	})
	mustStatus(t, r, http.StatusCreated)
	var v video
	r.json(t, &v)
	eventually(t, propagation, "video in the movie detail", func() bool {
		m, _ := queryMovie(t, created.ID)
		return len(m.Videos) == 1 && m.Videos[0].ID == v.ID && m.Videos[0].Status == "READY"
	})

	// Filters and search find it.
	for _, q := range []string{
		"?q=matrix+" + u, "?actor=" + actor.ID, "?category=" + url.QueryEscape(genre.Name), "?tag=" + tag.Name,
		"?year=1999&minRating=8.5&q=" + u,
	} {
		r := query(t, http.MethodGet, "/movies"+q)
		mustStatus(t, r, http.StatusOK)
		var l movieList
		r.json(t, &l)
		if l.Total != 1 || len(l.Items) != 1 || l.Items[0].ID != created.ID {
			t.Errorf("list %s: %s", q, r.Body)
		}
	}

	// Renaming the actor updates the movie that embeds it.
	r = command(t, http.MethodPut, "/actors/"+actor.ID, map[string]any{"name": "K. Reeves " + u})
	mustStatus(t, r, http.StatusOK)
	eventually(t, propagation, "renamed actor in the movie", func() bool {
		m, _ := queryMovie(t, created.ID)
		return slices.Equal(names(m.Actors), []string{"K. Reeves " + u})
	})

	// Deleting the tag removes it from the movie.
	mustStatus(t, command(t, http.MethodDelete, "/tags/"+tag.ID, nil), http.StatusNoContent)
	eventually(t, propagation, "deleted tag gone from the movie", func() bool {
		m, _ := queryMovie(t, created.ID)
		return m.ID != "" && len(m.Tags) == 0
	})

	// Updating, then deleting the movie.
	r = command(t, http.MethodPut, "/movies/"+created.ID, map[string]any{
		"name": "The Matrix (1999) " + u, "type": "movie", "releaseDate": "1999-03-31", "rating": 8.7,
		"actors": []any{map[string]string{"id": actor.ID}},
	})
	mustStatus(t, r, http.StatusOK)
	eventually(t, propagation, "updated movie", func() bool {
		m, _ := queryMovie(t, created.ID)
		return m.Name == "The Matrix (1999) "+u
	})
	mustStatus(t, command(t, http.MethodDelete, "/movies/"+created.ID, nil), http.StatusNoContent)
	eventually(t, propagation, "deleted movie gone", func() bool {
		_, status := queryMovie(t, created.ID)
		return status == http.StatusNotFound
	})
	mustStatus(t, command(t, http.MethodGet, "/movies/"+created.ID, nil), http.StatusNotFound)
	mustStatus(t, command(t, http.MethodGet, "/videos/"+v.ID, nil), http.StatusNotFound)
}

// A redelivered (older) event must not regress the read model.
func TestRedeliveredOldEventDoesNotRegress(t *testing.T) {
	u := randomHex(3)
	r := command(t, http.MethodPost, "/movies", map[string]any{"name": "Old " + u, "type": "movie", "releaseDate": "2001-01-01"})
	mustStatus(t, r, http.StatusCreated)
	var m movie
	r.json(t, &m)
	r = command(t, http.MethodPut, "/movies/"+m.ID, map[string]any{"name": "New " + u, "type": "movie", "releaseDate": "2001-01-01"})
	mustStatus(t, r, http.StatusOK)
	eventually(t, propagation, "version 2 visible", func() bool {
		got, _ := queryMovie(t, m.ID)
		return got.Name == "New "+u
	})

	// Publish version 1 again, as Kafka would on a redelivery.
	old := map[string]any{
		"specversion": "1.0", "id": "redelivery-" + u, "source": "movie-command",
		"type": "tenflix.catalog.movie.created.v1", "datacontenttype": "application/json",
		"data": map[string]any{"id": m.ID, "name": "Old " + u, "type": "movie", "releaseDate": "2001-01-01", "version": "1"},
	}
	publishRaw(t, "catalog", old)
	// Give the consumer time to see it, then check nothing regressed.
	time.Sleep(4 * time.Second)
	got, status := queryMovie(t, m.ID)
	if status != http.StatusOK || got.Name != "New "+u {
		t.Fatalf("after redelivery: %d %+v", status, got)
	}
}

func TestBadInputGetsAClear4xx(t *testing.T) {
	u := randomHex(3)
	createNamed(t, "categories", "Drama "+u)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"duplicate name ignoring case", "POST", "/categories", map[string]any{"name": "DRAMA " + u}, 409, "conflict"},
		{"empty name", "POST", "/actors", map[string]any{"name": "  "}, 400, "invalid"},
		{"unknown field", "POST", "/actors", map[string]any{"nam": "x"}, 400, "invalid"},
		{"malformed JSON", "POST", "/actors", `{"name":`, 400, "invalid"},
		{"unknown actor", "POST", "/movies", map[string]any{"name": "X", "type": "movie", "releaseDate": "2000-01-01", "actors": []string{"Nobody " + u}}, 400, "invalid"},
		{"bad date", "POST", "/movies", map[string]any{"name": "X", "type": "movie", "releaseDate": "2000-13-01"}, 400, "invalid"},
		{"rating out of range", "POST", "/movies", map[string]any{"name": "X", "type": "movie", "releaseDate": "2000-01-01", "rating": 11}, 400, "invalid"},
		{"video of unknown movie", "POST", "/videos", map[string]any{"movieId": "00000000-0000-0000-0000-000000000000", "title": "t", "url": "https://x.example/v.m3u8"}, 400, "invalid"},
		{"unknown movie", "GET", "/movies/00000000-0000-0000-0000-000000000000", nil, 404, "not_found"},
		{"not an id", "DELETE", "/actors/not-an-id", nil, 404, "not_found"},
		{"bad page", "GET", "/movies?page=0", nil, 400, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := command(t, c.method, c.path, c.body)
			if r.Status != c.status || r.errorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
		})
	}
	for _, q := range []string{"?size=1000", "?minRating=abc", "?year=19x9", "?sort=random"} {
		r := query(t, http.MethodGet, "/movies"+q)
		if r.Status != http.StatusBadRequest || r.errorCode() != "invalid" {
			t.Errorf("query %s: %d %s", q, r.Status, r.Body)
		}
	}
}

// Two admins renaming the same actor at once: both answers are clean
// (200 or 409), never a 5xx, and the final name is one of the two.
func TestConcurrentRenamesAreSerialised(t *testing.T) {
	u := randomHex(3)
	a := createNamed(t, "actors", "Racer "+u)
	results := make(chan int, 2)
	for i := range 2 {
		go func() {
			r := command(t, http.MethodPut, "/actors/"+a.ID, map[string]any{"name": fmt.Sprintf("Racer %d %s", i, u)})
			results <- r.Status
		}()
	}
	for range 2 {
		if s := <-results; s != http.StatusOK && s != http.StatusConflict {
			t.Fatalf("concurrent rename answered %d", s)
		}
	}
}

// make run loads demo data (devstack up -then bin/seed); it shows up on the
// query side.
func TestDemoDataIsLoaded(t *testing.T) {
	eventually(t, propagation, "demo movies on the query side", func() bool {
		r := query(t, http.MethodGet, "/movies?q=spirited+away")
		var l movieList
		if r.Status == http.StatusOK {
			r.json(t, &l)
		}
		return l.Total == 1 && len(l.Items) == 1 && len(l.Items[0].Actors) == 1
	})
}
