package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// watchable are the demo movies that really play: each has one short video
// made by an ffmpeg test source, uploaded through the gateway and transcoded
// by media's pipeline (HLS ladder), as an admin's upload would be.
var watchable = []struct {
	Name, Synopsis, Source, Video string
}{
	{"Tenflix Test Card", "A moving test card with a counter and a 440 Hz tone: the first thing to play.", "testsrc2=size=1280x720:rate=24", "Test card"},
	{"Colour Bars", "SMPTE HD colour bars and tone.", "smptehdbars=size=1280x720:rate=24", "Bars and tone"},
	{"Test Pattern Classic", "The classic ffmpeg test pattern, with a moving gradient.", "testsrc=size=1280x720:rate=24", "Classic pattern"},
}

const watchableSeconds = "12"

type commandVideo struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	Status        string `json:"status"`
	Progress      int    `json:"progress"`
	FailureReason string `json:"failureReason"`
}

// seedWatchable adds the watchable movies that are missing and waits until
// every one has a READY video; a movie whose video already exists is left
// alone (waited on if still transcoding, retried once if FAILED).
func seedWatchable(ctx context.Context, c *client, getenv func(string) string, stdout io.Writer) error {
	timeout := 5 * time.Minute
	if s := getenv("SEED_READY_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("SEED_READY_TIMEOUT=%q: want a duration such as 5m", s)
		}
		timeout = d
	}
	movies, err := commandMovies(ctx, c)
	if err != nil {
		return err
	}
	var tmp string
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	type pending struct{ movie, video string }
	var waits []pending
	for _, w := range watchable {
		id, ok := movies[w.Name]
		if !ok {
			var out struct{ ID string }
			body := map[string]any{"name": w.Name, "type": "short", "synopsis": w.Synopsis, "mpaRating": "G",
				"releaseDate": "2024-01-01", "rating": 7, "categories": []string{"Demo"}, "notify": false}
			if err := ensureNamed(ctx, c, "categories", "Demo"); err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodPost, "/api/v1/movie-command/movies", body, http.StatusCreated, &out); err != nil {
				return err
			}
			id = out.ID
		}
		v, err := firstVideo(ctx, c, id)
		if err != nil {
			return err
		}
		switch strings.ToUpper(v.Status) {
		case "READY":
			continue
		case "":
			if tmp == "" {
				if tmp, err = os.MkdirTemp("", "tenflix-seed-"); err != nil {
					return err
				}
			}
			src := filepath.Join(tmp, fmt.Sprintf("%d.mp4", len(waits)))
			if err := testVideo(ctx, w.Source, src); err != nil {
				return err
			}
			if v.ID, err = upload(ctx, c, id, w.Video, w.Synopsis, src); err != nil {
				return fmt.Errorf("upload %q: %w", w.Name, err)
			}
			fmt.Fprintf(stdout, "uploaded %q (video %s): waiting for READY\n", w.Name, v.ID)
		case "FAILED":
			fmt.Fprintf(stdout, "%q failed before (%s): retrying\n", w.Name, v.FailureReason)
			path := "/api/v1/movie-command/movies/" + id + "/videos/" + v.ID + "/retry"
			if err := c.do(ctx, http.MethodPost, path, nil, http.StatusAccepted, nil); err != nil {
				return err
			}
		}
		waits = append(waits, pending{id, v.ID})
	}
	deadline := time.Now().Add(timeout)
	for _, p := range waits {
		if err := waitReady(ctx, c, p.video, deadline, stdout); err != nil {
			return err
		}
	}
	if len(waits) > 0 {
		fmt.Fprintf(stdout, "%d watchable demo movies READY\n", len(waits))
	}
	return nil
}

// commandMovies maps the names of movie-command's movies to their ids.
func commandMovies(ctx context.Context, c *client) (map[string]string, error) {
	out := map[string]string{}
	for page := 1; ; page++ {
		var p struct {
			Items []struct{ ID, Name string }
			Total int
		}
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/movie-command/movies?size=100&page=%d", page), nil, http.StatusOK, &p); err != nil {
			return nil, err
		}
		for _, m := range p.Items {
			out[m.Name] = m.ID
		}
		if len(p.Items) == 0 || page*100 >= p.Total {
			return out, nil
		}
	}
}

// ensureNamed creates a category (or actor...) unless one has that name.
func ensureNamed(ctx context.Context, c *client, plural, name string) error {
	var p struct{ Items []struct{ Name string } }
	if err := c.do(ctx, http.MethodGet, "/api/v1/movie-command/"+plural+"?q="+url.QueryEscape(name), nil, http.StatusOK, &p); err != nil {
		return err
	}
	for _, n := range p.Items {
		if strings.EqualFold(n.Name, name) {
			return nil
		}
	}
	return c.do(ctx, http.MethodPost, "/api/v1/movie-command/"+plural, map[string]string{"name": name}, http.StatusCreated, nil)
}

func firstVideo(ctx context.Context, c *client, movieID string) (commandVideo, error) {
	var p struct{ Items []commandVideo }
	err := c.do(ctx, http.MethodGet, "/api/v1/movie-command/videos?movieId="+url.QueryEscape(movieID), nil, http.StatusOK, &p)
	if err != nil || len(p.Items) == 0 {
		return commandVideo{}, err
	}
	return p.Items[0], nil
}

// testVideo renders seconds of an ffmpeg test source with a tone (H.264/AAC).
func testVideo(ctx context.Context, source, out string) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg is needed to make the demo videos (make deps installs it)")
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", source, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", watchableSeconds, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %s: %v: %s", source, err, b)
	}
	return nil
}

// upload streams the file to the gateway's upload route (never in memory).
func upload(ctx context.Context, c *client, movieID, title, synopsis, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("title", title)
		if err == nil {
			err = mw.WriteField("synopsis", synopsis)
		}
		var part io.Writer
		if err == nil {
			part, err = mw.CreateFormFile("file", filepath.Base(path))
		}
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	route := "/api/v1/movie-command/movies/" + movieID + "/videos/upload"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+route, pr)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	var out struct{ ID string }
	// No client timeout: the context bounds the upload, however slow.
	if err := send(http.DefaultClient, req, http.StatusAccepted, &out); err != nil {
		if strings.Contains(err.Error(), "status 404") || strings.Contains(err.Error(), "status 413") {
			return "", fmt.Errorf("POST %s: %w (does the gateway route uploads to the media service, with its own size limit?)", route, err)
		}
		return "", fmt.Errorf("POST %s: %w", route, err)
	}
	return out.ID, nil
}

// waitReady polls the video on the command side until READY; FAILED or the
// deadline ends the wait with the reason.
func waitReady(ctx context.Context, c *client, videoID string, deadline time.Time, stdout io.Writer) error {
	last := ""
	for {
		var v commandVideo
		if err := c.do(ctx, http.MethodGet, "/api/v1/movie-command/videos/"+videoID, nil, http.StatusOK, &v); err != nil {
			return err
		}
		status := strings.ToUpper(v.Status)
		if now := fmt.Sprintf("%s %d%%", status, v.Progress); now != last {
			fmt.Fprintf(stdout, "  video %s: %s\n", videoID, now)
			last = now
		}
		switch status {
		case "READY":
			return nil
		case "FAILED":
			return fmt.Errorf("video %s FAILED: %s", videoID, v.FailureReason)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("video %s is still %s: not READY in time (SEED_READY_TIMEOUT; see logs/media.log)", videoID, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
