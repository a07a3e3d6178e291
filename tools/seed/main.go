// seed loads the demo data through the public API (gateway), as an admin and
// a customer would: plans; a browsing catalog (actors, creators, categories,
// tags, movies, videos by URL); a few watchable movies whose short ffmpeg-made
// videos are uploaded and transcoded by the media service; and a demo viewer
// whose subscription is bought through the saga and the Midtrans emulator.
// Every part skips what already exists, so `make run` calls it on every start
// (devstack up -then bin/seed).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

type movie struct {
	Name, Type, Synopsis, MPA, Date string
	Rating                          float64
	Actors, Creators, Categories    []string
	Tags                            []string
	Video                           string // title of its one video
	Length                          int
}

// Public test streams, so that the demo plays in any HLS player.
const demoStream = "https://test-streams.mux.dev/x36xhzz/x36xhzz.m3u8"

var catalog = []movie{
	{"The Matrix", "movie", "A hacker learns that the world is a simulation.", "R", "1999-03-31", 8.7,
		[]string{"Keanu Reeves", "Carrie-Anne Moss"}, []string{"Lana Wachowski", "Lilly Wachowski"}, []string{"Science Fiction", "Action"}, []string{"cyberpunk", "classic"}, "The Matrix", 8160},
	{"John Wick", "movie", "A retired hitman comes back for one last job.", "R", "2014-10-24", 7.4,
		[]string{"Keanu Reeves"}, []string{"Chad Stahelski"}, []string{"Action", "Thriller"}, []string{"revenge"}, "John Wick", 6060},
	{"Spirited Away", "movie", "A girl wanders into a world of spirits.", "PG", "2001-07-20", 8.6,
		[]string{"Rumi Hiiragi"}, []string{"Hayao Miyazaki"}, []string{"Animation", "Fantasy"}, []string{"classic", "family"}, "Spirited Away", 7500},
	{"Arrival", "movie", "A linguist learns the language of visitors from space.", "PG-13", "2016-11-11", 7.9,
		[]string{"Amy Adams"}, []string{"Denis Villeneuve"}, []string{"Science Fiction", "Drama"}, []string{"first contact"}, "Arrival", 6960},
	{"Planet Earth II", "series", "The natural world, filmed as never before.", "G", "2016-11-06", 9.5,
		[]string{"David Attenborough"}, []string{"Elizabeth White"}, []string{"Documentary"}, []string{"nature", "family"}, "Islands", 3000},
	{"Free Solo", "documentary", "A climber attempts El Capitan without a rope.", "PG-13", "2018-09-28", 8.1,
		[]string{"Alex Honnold"}, []string{"Elizabeth Chai Vasarhelyi", "Jimmy Chin"}, []string{"Documentary"}, []string{"climbing"}, "Free Solo", 6000},
}

type client struct {
	base  string
	token string
	http  *http.Client
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	base := getenv("TENFLIX_GATEWAY")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	password := getenv("ADMIN_PASSWORD")
	if password == "" {
		data := getenv("TENFLIX_DATA")
		if data == "" {
			data = ".data"
		}
		var err error
		if password, err = adminPassword(filepath.Join(data, "secrets.json")); err != nil {
			return err
		}
	}
	c := &client{base: base, http: &http.Client{Timeout: 15 * time.Second}}
	if err := c.signIn(ctx, "admin@tenflix.local", password); err != nil {
		// identity creates the admin once and never resets its password: a
		// .data deleted by hand (not by `make reset`) leaves the old account.
		return fmt.Errorf("%w (if .data was deleted by hand, run `make reset`)", err)
	}
	// Each part is idempotent and independent: all are tried, and every
	// failure is reported (the exit status says the demo is incomplete).
	watchErr := seedWatchable(ctx, c, getenv, stdout)
	errs := []error{seedPlans(ctx, c, stdout), seedCatalog(ctx, c, stdout), watchErr}
	midtrans := getenv("MIDTRANS_EMULATOR_URL")
	if midtrans == "" {
		midtrans = "http://127.0.0.1:8090"
	}
	viewerErr := seedDemoViewer(ctx, c, midtrans, stdout)
	errs = append(errs, viewerErr)
	switch {
	case viewerErr == nil && watchErr == nil:
		fmt.Fprintf(stdout, "\nwatch now: open %s/ and sign in as %s / %s\n", base, demoEmail, demoPassword)
	case viewerErr == nil:
		fmt.Fprintf(stdout, "\ndemo viewer: %s / %s at %s/ (the watchable movies are not ready: see the error below)\n", demoEmail, demoPassword, base)
	}
	return errors.Join(errs...)
}

// seedCatalog adds the browsing catalog (videos by URL) once: when the
// catalog has no movies besides the watchable ones.
func seedCatalog(ctx context.Context, c *client, stdout io.Writer) error {
	movies, err := commandMovies(ctx, c)
	if err != nil {
		return err
	}
	for _, w := range watchable {
		delete(movies, w.Name)
	}
	if len(movies) > 0 {
		fmt.Fprintf(stdout, "the catalog already has %d movies: no browsing demo added\n", len(movies))
		return nil
	}
	created := map[string]bool{}
	for _, m := range catalog {
		for plural, names := range map[string][]string{"actors": m.Actors, "creators": m.Creators, "categories": m.Categories, "tags": m.Tags} {
			for _, n := range names {
				if created[plural+"/"+n] {
					continue
				}
				if err := c.do(ctx, http.MethodPost, "/api/v1/movie-command/"+plural, map[string]string{"name": n}, http.StatusCreated, nil); err != nil {
					return err
				}
				created[plural+"/"+n] = true
			}
		}
		var out struct{ ID string }
		body := map[string]any{"name": m.Name, "type": m.Type, "synopsis": m.Synopsis, "mpaRating": m.MPA,
			"releaseDate": m.Date, "rating": m.Rating, "actors": m.Actors, "creators": m.Creators,
			"categories": m.Categories, "tags": m.Tags, "notify": false}
		if err := c.do(ctx, http.MethodPost, "/api/v1/movie-command/movies", body, http.StatusCreated, &out); err != nil {
			return err
		}
		video := map[string]any{"movieId": out.ID, "title": m.Video, "lengthSeconds": m.Length, "url": demoStream}
		if err := c.do(ctx, http.MethodPost, "/api/v1/movie-command/videos", video, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "added %d demo movies\n", len(catalog))
	return nil
}

func adminPassword(secretsFile string) (string, error) {
	raw, err := os.ReadFile(secretsFile)
	if err != nil {
		return "", fmt.Errorf("admin password: %w", err)
	}
	var secrets map[string]any
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return "", fmt.Errorf("%s: %w", secretsFile, err)
	}
	pw, _ := secrets["identity-admin-password"].(string)
	if pw == "" {
		return "", errors.New("no identity-admin-password in " + secretsFile)
	}
	return pw, nil
}

func (c *client) signIn(ctx context.Context, email, password string) error {
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/auth/token", bytes.NewBufferString(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.send(req, http.StatusOK, &tok); err != nil {
		return fmt.Errorf("sign in as %s: %w", email, err)
	}
	c.token = tok.AccessToken
	return nil
}

func (c *client) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if err := c.send(req, want, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

func (c *client) send(req *http.Request, want int, out any) error {
	return send(c.http, req, want, out)
}

func send(hc *http.Client, req *http.Request, want int, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// plans are the demo subscription plans (prices in IDR).
var plans = []map[string]any{
	{"name": "Mobile", "price": 54000, "discountPrice": 49000, "activePeriod": 30, "description": "One phone or tablet, 480p"},
	{"name": "Standard", "price": 120000, "activePeriod": 30, "description": "Two screens, 1080p"},
	{"name": "Premium Yearly", "price": 1860000, "discountPrice": 1490000, "activePeriod": 365, "description": "Four screens, 4K, a year"},
}

// seedPlans adds the demo plans once: when there are none at all.
func seedPlans(ctx context.Context, c *client, stdout io.Writer) error {
	var existing struct{ Items []struct{ ID string } }
	if err := c.do(ctx, http.MethodGet, "/api/v1/subscription/plans?all=true", nil, http.StatusOK, &existing); err != nil {
		return err
	}
	if len(existing.Items) > 0 {
		return nil
	}
	for _, p := range plans {
		if err := c.do(ctx, http.MethodPost, "/api/v1/subscription/plans", p, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "added %d demo plans\n", len(plans))
	return nil
}
