package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The watch page (services/gateway/web) in headless Chromium: Debian's
// chromium driven by playwright-core (tools/web/watch-test.mjs, one scenario
// per run). This file prepares each scenario's data through the API, runs
// it, and keeps its screenshots as artifacts: in $TENFLIX_ARTIFACTS, else
// tools/e2e/artifacts/ (gitignored).

const (
	chromiumPath = "/usr/bin/chromium"
	// Upload to READY for a 12 s source on a busy 2-core machine: transcoding
	// shares the CPU with the whole stack.
	webReadyTimeout = 5 * time.Minute
)

func TestWebPage(t *testing.T) {
	webPrerequisites(t)
	t.Run("BrowseSearchAndBuyAPlan", testWebBrowseAndBuy)
	t.Run("NotSubscribedSeesWhy", testWebNotSubscribed)
	t.Run("SubscriberPlaysAndResumes", testWebPlayback)
}

// Sign in, browse, search, open a movie, buy a plan on the Midtrans
// emulator's page and see the order complete back on the page.
func testWebBrowseAndBuy(t *testing.T) {
	u := randomHex(3)
	m := webMovie(t, "Web Browse "+u)
	r := command(t, http.MethodPost, "/videos", map[string]any{
		"movieId": m.ID, "title": "Trailer " + u, "lengthSeconds": 60, "url": "https://cdn.example/" + u + "/master.m3u8",
	})
	mustStatus(t, r, http.StatusCreated)
	eventually(t, propagation, "the video on the query side", func() bool {
		got, _ := queryMovie(t, m.ID)
		return len(got.Videos) == 1
	})
	p := createPlan(t, 75000, 0, 30)
	v := webUser(t)
	out := webBrowser(t, "browse-buy", map[string]any{
		"email": v.Email, "password": v.password, "movieId": m.ID, "movieName": m.Name,
		"search": "browse " + u, "planId": p.ID, "midtrans": midtrans,
	})
	var res struct {
		Found       int      `json:"found"`
		Summary     string   `json:"summary"`
		Videos      []string `json:"videos"`
		Before      string   `json:"before"`
		EmulatorURL string   `json:"emulatorURL"`
		After       string   `json:"after"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if res.Found != 1 || !strings.Contains(res.Summary, "1 result") || len(res.Videos) != 1 {
		t.Errorf("search or movie page: %+v", res)
	}
	if !strings.HasPrefix(res.EmulatorURL, midtrans+"/snap/v4/redirection/") {
		t.Errorf("sent to %q, want the emulator's Snap page", res.EmulatorURL)
	}
	if !strings.Contains(res.Before, "not subscribed") || !strings.Contains(res.After, "subscribed to "+p.Name) {
		t.Errorf("subscription status before %q, after %q", res.Before, res.After)
	}
	if sub, status := mySubscription(t, v.viewer); status != http.StatusOK || sub.Status != "ACTIVE" {
		t.Errorf("after paying on the page: %d %+v", status, sub)
	}
}

// An unsubscribed user opens a READY video and sees the reason.
func testWebNotSubscribed(t *testing.T) {
	m, videoID := webReadyVideo(t)
	v := webUser(t)
	out := webBrowser(t, "not-subscribed", map[string]any{
		"email": v.Email, "password": v.password, "movieId": m.ID, "videoId": videoID,
	})
	var res struct {
		Code      string `json:"code"`
		Reason    string `json:"reason"`
		PlansLink bool   `json:"plansLink"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if res.Code != "not_subscribed" || !strings.Contains(res.Reason, "not subscribed") || !res.PlansLink {
		t.Errorf("refusal: %+v", res)
	}
}

// A subscriber plays: currentTime advances past 1 s, hls.js's levels are
// offered, a pause saves the position, a reload resumes near it.
func testWebPlayback(t *testing.T) {
	m, videoID := webReadyVideo(t)
	v := webUser(t)
	o := placeOrder(t, v.viewer, createPlan(t, 50000, 0, 30).ID)
	pay(t, o.Order.ID, "settlement", "accept", "gopay")
	waitStatus(t, v.viewer, o.Order.ID, "COMPLETED")
	out := webBrowser(t, "playback", map[string]any{
		"email": v.Email, "password": v.password, "movieId": m.ID, "videoId": videoID,
	})
	var res struct {
		PlayedTo  float64  `json:"playedTo"`
		Levels    []string `json:"levels"`
		Saved     float64  `json:"saved"`
		ResumedAt float64  `json:"resumedAt"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	// Auto, 360p and 720p: the source is 720p.
	if res.PlayedTo <= 1 || len(res.Levels) < 3 || res.Saved < 1 || res.ResumedAt < res.Saved-2 {
		t.Errorf("playback: %+v", res)
	}
	// The saved position is the one the API now answers.
	r := v.do(t, http.MethodGet, "/api/v1/movie-query/videos/"+m.ID+"/"+videoID, nil)
	mustStatus(t, r, http.StatusOK)
	var w struct {
		ResumeAt float64 `json:"resumeAt"`
	}
	r.json(t, &w)
	if w.ResumeAt < res.Saved-1 {
		t.Errorf("resumeAt %v after the page saved %v", w.ResumeAt, res.Saved)
	}
}

// ---- data ----

type webAccount struct {
	viewer
	password string
}

func webUser(t testing.TB) webAccount {
	t.Helper()
	email := "web-" + randomHex(5) + "@tenflix.test"
	const password = "web-password-0123"
	r := call(t, http.MethodPost, gateway+"/api/v1/auth/register",
		map[string]string{"email": email, "password": password, "name": "Web Viewer"})
	mustStatus(t, r, http.StatusCreated)
	tok, err := passwordGrant(email, password)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		ID string `json:"id"`
	}
	call(t, http.MethodGet, gateway+"/api/v1/auth/me", nil, "Authorization", "Bearer "+tok).json(t, &me)
	return webAccount{viewer: viewer{ID: me.ID, Email: email, Token: tok}, password: password}
}

// webMovie creates a movie and waits for it on the query side.
func webMovie(t testing.TB, name string) movie {
	t.Helper()
	r := command(t, http.MethodPost, "/movies", map[string]any{
		"name": name, "type": "short", "synopsis": "Made for the browser test.", "releaseDate": "2024-05-01", "rating": 7.5,
	})
	mustStatus(t, r, http.StatusCreated)
	var m movie
	r.json(t, &m)
	eventually(t, propagation, "movie on the query side", func() bool {
		_, status := queryMovie(t, m.ID)
		return status == http.StatusOK
	})
	return m
}

var webVideo struct {
	once    sync.Once
	movie   movie
	videoID string
	err     error
}

// webReadyVideo is one movie with a video uploaded through the gateway and
// transcoded by media, shared by the scenarios that play.
func webReadyVideo(t *testing.T) (movie, string) {
	t.Helper()
	webVideo.once.Do(func() {
		// Stays the answer if webMovie fails this test.
		webVideo.err = errors.New("the shared video could not be prepared (see the first scenario that plays)")
		m := webMovie(t, "Web Playback "+randomHex(3))
		id, err := webUpload(t, m.ID)
		webVideo.movie, webVideo.videoID, webVideo.err = m, id, err
	})
	if webVideo.err != nil {
		t.Fatal(webVideo.err)
	}
	return webVideo.movie, webVideo.videoID
}

// webUpload makes a 12 s 720p test video with ffmpeg, uploads it as an admin
// (POST .../videos/upload, multipart, streamed) and waits for READY.
func webUpload(t *testing.T, movieID string) (string, error) {
	src := filepath.Join(t.TempDir(), "source.mp4")
	ff := exec.Command("ffmpeg", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src)
	if out, err := ff.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg: %v\n%s", err, out)
	}
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("title", "Test pattern")
		if err == nil {
			err = mw.WriteField("synopsis", "testsrc2 and a 440 Hz tone")
		}
		if err == nil {
			var part io.Writer
			if part, err = mw.CreateFormFile("file", "source.mp4"); err == nil {
				_, err = io.Copy(part, f)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gateway+"/api/v1/movie-command/movies/"+movieID+"/videos/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+stack.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload answered %d, want 202 (is media's upload route in the gateway?): %s", resp.StatusCode, body)
	}
	var up struct{ ID, Status string }
	if err := json.Unmarshal(body, &up); err != nil || up.ID == "" {
		return "", fmt.Errorf("upload answer %s: %v", body, err)
	}
	start := time.Now()
	last := ""
	for time.Since(start) < webReadyTimeout {
		r := query(t, http.MethodGet, "/movies/"+movieID)
		var m struct {
			Videos []struct {
				ID, Status, FailureReason string
				Progress                  int
			}
		}
		if r.Status == http.StatusOK {
			r.json(t, &m)
		}
		for _, v := range m.Videos {
			if v.ID != up.ID {
				continue
			}
			last = fmt.Sprintf("%s %d%%", v.Status, v.Progress)
			switch v.Status {
			case "READY":
				t.Logf("upload -> READY in %s", time.Since(start).Round(time.Second))
				return up.ID, nil
			case "FAILED":
				return "", fmt.Errorf("video %s FAILED: %s", up.ID, v.FailureReason)
			}
		}
		time.Sleep(time.Second)
	}
	return "", fmt.Errorf("video %s not READY after %s (last seen: %q)", up.ID, webReadyTimeout, last)
}

// ---- the browser ----

// webBrowser runs one scenario of tools/web/watch-test.mjs and returns its
// JSON result; its screenshots are copied to the artifacts directory
// whether it passed or not.
func webBrowser(t *testing.T, scenario string, in map[string]any) []byte {
	t.Helper()
	shots := filepath.Join(t.TempDir(), "shots")
	in["scenario"], in["base"], in["artifacts"], in["chromium"] = scenario, gateway, shots, chromiumPath
	cfg, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "watch-test.mjs")
	cmd.Dir = filepath.Join(os.Getenv("TENFLIX_ROOT"), "tools", "web")
	cmd.Env = append(os.Environ(), "WEB_TEST="+string(cfg))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	webKeepArtifacts(t, shots)
	if err != nil {
		t.Fatalf("browser scenario %s: %v\n%s", scenario, err, stderr.Bytes())
	}
	t.Logf("browser %s: %s", scenario, stdout.Bytes())
	return bytes.TrimSpace(stdout.Bytes())
}

func webKeepArtifacts(t *testing.T, dir string) {
	dest := os.Getenv("TENFLIX_ARTIFACTS")
	if dest == "" {
		dest = filepath.Join(os.Getenv("TENFLIX_ROOT"), "tools", "e2e", "artifacts")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(files) == 0 {
		return
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(dest, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			t.Logf("artifact %s: %v", f, err)
			continue
		}
		t.Logf("screenshot: %s", filepath.Join(dest, filepath.Base(f)))
	}
}

func webPrerequisites(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: `make deps` installs Debian's chromium", chromiumPath)
	}
	mod := filepath.Join(os.Getenv("TENFLIX_ROOT"), "tools", "web", "node_modules", "playwright-core")
	if _, err := os.Stat(mod); err != nil {
		t.Fatalf("playwright-core is not installed (make deps runs npm ci in tools/web): %v", err)
	}
	r := call(t, http.MethodGet, gateway+"/web/lib/hls.min.js", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("the gateway has no hls.js (%d): build it with `make build`", r.Status)
	}
}
